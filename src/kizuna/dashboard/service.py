"""Portfolio figures for the dashboard.

Revenue and retention (ARR, MRR, NRR, GRR, logo churn, MRR movements) are read from the KPI snapshot stored by
``kizuna refresh`` (``kizuna.kpis.service``), so the dashboard and ``kizuna kpi`` never disagree; the definitions
are in docs/metrics.md. The rest (lifecycle stages, renewals due, onboarding, NPS, health, risk) is read from the
data hub and the owning domains.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kizuna.accounts.models import Account, TeamMember
from kizuna.billing.models import Subscription
from kizuna.billing.service import paid_lines_on
from kizuna.health import service as health
from kizuna.kpis.review import Onboarding
from kizuna.platform.cache import TtlCache
from kizuna.renewals.service import RENEWAL_MIN_TERM_MONTHS
from kizuna.risk import service as risk
from kizuna.voc.models import SurveyResponse

_cache: TtlCache[Portfolio] = TtlCache(ttl=600.0, size=64)


@dataclasses.dataclass(frozen=True)
class PortfolioFilter:
    segment: str | None = None  # industry
    tier: str | None = None  # touch tier
    owner_id: int | None = None  # CSM


@dataclasses.dataclass
class Portfolio:
    as_of: dt.date
    currency: str
    mrr_minor: int | None  # revenue and retention: from the KPI snapshot (None: not stored, see revenue_note)
    arr_minor: int | None
    paying_accounts: int | None
    nrr: float | None  # trailing 12 months (nrr_12m)
    grr: float | None  # trailing 12 months (grr_12m)
    logo_churn: float | None  # the snapshot month's logo_churn_rate
    movements: list[dict[str, Any]]  # month, new, expansion, contraction, churn, reactivation, mrr_start, mrr_end
    stage_distribution: dict[str, int]
    at_risk: list[dict[str, Any]]
    renewals_due_count: int
    renewals_due_mrr_minor: int
    onboarding: Onboarding  # the app's one onboarding figure (kizuna.kpis.review.onboarding_figures)
    nps: float | None
    nps_responses: int
    nps_by_month: list[dict[str, Any]]
    options: dict[str, list[Any]]
    health_bands: dict[str, dict[str, int]] = dataclasses.field(default_factory=dict)
    risk_top: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    snapshot_as_of: dt.date | None = None
    revenue_note: str | None = None  # i18n key: no snapshot yet, or the filter's figures are not stored
    review_month: dt.date | None = None  # the last complete month before the snapshot (the monthly review's)
    logo_churn_month: float | None = None  # logo churn of review_month (logo_churn is the month to date)
    economics: dict[str, Any] | None = None  # unit economics of review_month (kizuna.kpis.review.unit_economics)


def _add_months(d: dt.date, n: int) -> dt.date:
    y, m = divmod(d.month - 1 + n, 12)
    return dt.date(d.year + y, m + 1, 1)


def _account_filter(f: PortfolioFilter) -> list[Any]:
    clauses: list[Any] = []
    if f.segment:
        clauses.append(Account.industry == f.segment)
    if f.tier:
        clauses.append(Account.touch_tier == f.tier)
    if f.owner_id:
        clauses.append(Account.owner_id == f.owner_id)
    return clauses


# Dashboard filter -> the breakdown the KPI snapshot stores it under (kizuna.analytics.kpi.snapshot.SERIES_BREAKDOWNS).
FILTER_DIMENSIONS = {"segment": "industry", "tier": "touch_tier", "owner_id": "owner_id"}


@dataclasses.dataclass
class Revenue:
    """Revenue and retention figures read from the stored KPI snapshot (never recomputed here)."""

    snapshot_as_of: dt.date | None = None
    currency: str = "JPY"
    mrr_minor: int | None = None
    arr_minor: int | None = None
    customers: int | None = None
    nrr: float | None = None  # nrr_12m
    grr: float | None = None  # grr_12m
    logo_churn: float | None = None  # logo_churn_rate of the snapshot's month
    logo_churn_month: float | None = None  # logo_churn_rate of the last complete month
    movements: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    note: str | None = None  # i18n key: why the figures are missing


def _breakdown(f: PortfolioFilter) -> tuple[str | None, str | None] | None:
    """The stored breakdown of a filter: (dimension, value), (None, None) for the totals, None when not stored."""
    chosen = [(FILTER_DIMENSIONS[k], str(v)) for k, v in dataclasses.asdict(f).items() if v]
    if not chosen:
        return None, None
    if len(chosen) > 1:  # the snapshot stores one attribute at a time, never combinations
        return None
    return chosen[0]


def _value(v: Any) -> float | None:
    return None if v is None or pd.isna(v) else float(v)


def revenue(session: Session, *, filters: PortfolioFilter, months: int = 12) -> Revenue:
    """ARR, MRR, NRR/GRR (trailing 12 months), logo churn and the MRR movements of the last ``months`` months, from
    the latest KPI snapshot (``kizuna refresh``), in the currency with the most MRR: what ``kizuna kpi`` shows."""
    from kizuna.kpis import review
    from kizuna.kpis import service as metrics

    if metrics.latest_snapshot(session) is None:
        return Revenue(note="dashboard.no_snapshot")
    breakdown = _breakdown(filters)
    if breakdown is None:
        return Revenue(note="dashboard.filter_not_stored")
    dimension, value = breakdown
    series = metrics.load_kpi(session, names=metrics.REVENUE_SERIES, by=dimension)
    if dimension is not None:
        # dimension values are stored as text; an integer id may have been written as "3" or "3.0"
        wanted = {value, f"{value}.0"}
        series = series[series.dimension_value.isin(wanted)]
    as_of = series.as_of.iloc[0] if len(series) else metrics.latest_snapshot(session)[0]  # type: ignore[index]
    out = Revenue(snapshot_as_of=as_of)
    found = metrics.revenue_by_month(series, as_of=as_of, months=months)
    if found is None:
        out.note = "dashboard.no_revenue_in_snapshot"
        return out
    out.currency = found.currency
    month = as_of.replace(day=1)
    if month in found.months.index:
        row = found.months.loc[month]
        out.mrr_minor = int(row.get("mrr_minor", 0) or 0)
        out.arr_minor = int(row.get("arr_minor", 12 * out.mrr_minor) or 0)
        out.customers = int(row.get("customers", 0) or 0)
        out.nrr = _value(row.get("nrr_12m"))
        out.grr = _value(row.get("grr_12m"))
        out.logo_churn = _value(row.get("logo_churn_rate"))
    previous = review.last_complete_month(as_of)
    if previous in found.months.index:
        out.logo_churn_month = _value(found.months.loc[previous].get("logo_churn_rate"))
    out.movements = found.movements
    return out


def portfolio(
    session: Session, *, today: dt.date, filters: PortfolioFilter | None = None, use_cache: bool = True
) -> Portfolio:
    """The dashboard's figures; cached ten minutes per database and filter (they move with imports and refreshes)."""
    f = filters or PortfolioFilter()
    from kizuna.kpis.service import latest_snapshot

    # keyed on the snapshot too: after a refresh the dashboard shows what `kizuna kpi` shows, at once
    if not use_cache:
        return _compute(session, today=today, f=f)
    return _cache.get(session, (f, today, latest_snapshot(session)), lambda: _compute(session, today=today, f=f))


def clear_cache() -> None:
    _cache.clear()


def _compute(session: Session, *, today: dt.date, f: PortfolioFilter) -> Portfolio:
    from kizuna.kpis.service import load_account_metrics

    year_ago = dt.date(today.year - 1, today.month, min(today.day, 28))
    rev = revenue(session, filters=f)

    clauses = _account_filter(f)
    stage_rows = session.execute(
        select(Account.lifecycle_stage, func.count(Account.id)).where(*clauses).group_by(Account.lifecycle_stage)
    ).all()
    at_risk_ids = session.scalars(select(Account.id).where(Account.lifecycle_stage == "at_risk", *clauses)).all()
    per_account = load_account_metrics(session)
    mrr_now = (
        per_account.set_index("account_id")["mrr_minor"].fillna(0).astype("int64")
        if len(per_account)
        else pd.Series(dtype="int64")
    )
    at_risk_mrr = mrr_now.reindex(at_risk_ids, fill_value=0).sort_values(ascending=False).head(10)
    names = (
        {
            int(i): n
            for i, n in session.execute(
                select(Account.id, Account.name).where(Account.id.in_([int(x) for x in at_risk_mrr.index]))
            )
        }
        if len(at_risk_mrr)
        else {}
    )
    at_risk = [
        {"account_id": int(i), "name": names.get(int(i), str(i)), "mrr_minor": int(v)} for i, v in at_risk_mrr.items()
    ]

    until = today + dt.timedelta(days=90)
    ren_stmt = select(
        func.count(func.distinct(Subscription.account_id)), func.coalesce(func.sum(Subscription.mrr_minor), 0)
    ).where(
        paid_lines_on(today),
        Subscription.renewal_date >= today,
        Subscription.renewal_date <= until,
        Subscription.term_months >= RENEWAL_MIN_TERM_MONTHS,  # as the renewal center counts them
    )
    if clauses:
        ren_stmt = ren_stmt.join(Account, Account.id == Subscription.account_id).where(*clauses)
    ren_count, ren_mrr = session.execute(ren_stmt).one()

    from kizuna.kpis import review

    onboarding = review.onboarding_figures(session, account_ids=select(Account.id).where(*clauses) if clauses else None)
    # unit economics are stored for the whole portfolio only (acquisition spend has no segment)
    economics = review.unit_economics(session, months=1).month if not clauses else None

    since = dt.datetime.combine(year_ago, dt.time(), tzinfo=dt.UTC)
    nps_stmt = select(SurveyResponse.score, SurveyResponse.responded_at).where(
        SurveyResponse.kind == "nps", SurveyResponse.responded_at >= since
    )
    if clauses:
        nps_stmt = nps_stmt.join(Account, Account.id == SurveyResponse.account_id).where(*clauses)
    nps_rows = session.execute(nps_stmt).all()
    scores = np.array([s for s, _ in nps_rows], dtype=float)
    nps = float(100 * ((scores >= 9).mean() - (scores <= 6).mean())) if len(scores) else None
    by_month: dict[dt.date, list[int]] = {}
    for score, at in nps_rows:
        by_month.setdefault(at.date().replace(day=1), []).append(score)
    nps_by_month = [
        {"month": m, "nps": 100 * (sum(v >= 9 for v in s) - sum(v <= 6 for v in s)) / len(s), "responses": len(s)}
        for m, s in sorted(by_month.items())
    ]

    health_bands: dict[str, dict[str, int]] = health.band_counts(session)
    risk_top: list[dict[str, Any]] = []
    if risk.active_model(session) is not None:
        allowed = None if not clauses else set(session.scalars(select(Account.id).where(*clauses)).all())
        risk_top = [
            {**r, "mrr_minor": int(mrr_now.get(r["account_id"], 0))}
            for r in risk.risk_report(session, top=50)["top"]
            if allowed is None or r["account_id"] in allowed
        ][:10]

    owners = session.execute(
        select(TeamMember.id, TeamMember.name).where(TeamMember.active.is_(True)).order_by(TeamMember.name)
    ).all()
    segments = session.scalars(select(Account.industry).where(Account.industry.is_not(None)).distinct()).all()
    return Portfolio(
        as_of=today,
        currency=rev.currency,
        mrr_minor=rev.mrr_minor,
        arr_minor=rev.arr_minor,
        paying_accounts=rev.customers,
        nrr=rev.nrr,
        grr=rev.grr,
        logo_churn=rev.logo_churn,
        movements=rev.movements,
        snapshot_as_of=rev.snapshot_as_of,
        revenue_note=rev.note,
        stage_distribution={str(s): int(n) for s, n in stage_rows},
        at_risk=at_risk,
        renewals_due_count=int(ren_count or 0),
        renewals_due_mrr_minor=int(ren_mrr or 0),
        onboarding=onboarding,
        nps=nps,
        nps_responses=len(scores),
        nps_by_month=nps_by_month,
        options={
            "owners": [(int(i), n) for i, n in owners],
            "segments": sorted(segments),
            "tiers": ["high", "low", "tech"],
        },
        health_bands=health_bands,
        risk_top=risk_top,
        review_month=None if rev.snapshot_as_of is None else review.last_complete_month(rev.snapshot_as_of),
        logo_churn_month=rev.logo_churn_month,
        economics=economics,
    )
