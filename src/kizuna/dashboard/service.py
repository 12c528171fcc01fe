"""Portfolio figures for the dashboard, computed from the data hub (subscription versions, milestones, surveys).

MRR on a day is the sum of the paid subscription versions running that day (``start_date <= day < end_date``).
Movements between two month starts are classified per account: new (0 -> x), expansion (x -> y > x), contraction
(x -> 0 < y < x), churn (x -> 0), reactivation (0 -> x for an account that paid before the window).
NRR = MRR now of the accounts paying 12 months ago / their MRR then; GRR caps each account at its MRR then.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from kizuna.accounts.models import Account, TeamMember
from kizuna.accounts.service import _optional_service
from kizuna.billing.models import Subscription
from kizuna.onboarding.models import OnboardingMilestone
from kizuna.surveys.models import SurveyResponse

CACHE_TTL_S = 600.0
_cache: dict[tuple[Any, ...], tuple[float, Portfolio]] = {}
_cache_lock = threading.Lock()


@dataclasses.dataclass(frozen=True)
class PortfolioFilter:
    segment: str | None = None  # industry
    tier: str | None = None  # touch tier
    owner_id: int | None = None  # CSM


@dataclasses.dataclass
class Portfolio:
    as_of: dt.date
    currency: str
    mrr_minor: int
    arr_minor: int
    paying_accounts: int
    nrr: float | None
    grr: float | None
    logo_churn: float | None
    movements: list[dict[str, Any]]  # month, new, expansion, contraction, churn, reactivation, mrr
    stage_distribution: dict[str, int]
    at_risk: list[dict[str, Any]]
    renewals_due_count: int
    renewals_due_mrr_minor: int
    onboarding_completed: int
    onboarding_total: int
    nps: float | None
    nps_responses: int
    nps_by_month: list[dict[str, Any]]
    options: dict[str, list[Any]]
    health_bands: dict[str, dict[str, int]] = dataclasses.field(default_factory=dict)
    risk_top: list[dict[str, Any]] = dataclasses.field(default_factory=list)


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


def _mrr_matrix(subs: pd.DataFrame, days: list[dt.date]) -> pd.DataFrame:
    """Accounts x days matrix of MRR (minor units)."""
    if subs.empty:
        return pd.DataFrame(index=pd.Index([], name="account_id"), columns=range(len(days)), dtype="int64")
    start = subs["start_date"].to_numpy(dtype="datetime64[D]")
    end = subs["end_date"].fillna(dt.date(9999, 12, 31)).to_numpy(dtype="datetime64[D]")
    mrr = subs["mrr_minor"].to_numpy(dtype="int64")
    cols = {}
    for i, day in enumerate(days):
        d = np.datetime64(day, "D")
        cols[i] = np.where((start <= d) & (end > d), mrr, 0)
    frame = pd.DataFrame(cols)
    frame["account_id"] = subs["account_id"].to_numpy()
    return frame.groupby("account_id").sum()


def movements_by_month(
    subs: pd.DataFrame, *, today: dt.date, months: int = 12
) -> tuple[list[dict[str, Any]], pd.DataFrame]:
    """MRR movements for each of the last ``months`` months (between month starts; the current month up to today)."""
    first = _add_months(today.replace(day=1), -months)
    days = [_add_months(first, i) for i in range(months + 1)]
    days[-1] = max(days[-1], today)
    days.append(today)
    matrix = _mrr_matrix(subs, days)
    paid_before = (
        subs.loc[subs["start_date"] < first].groupby("account_id").size().index if not subs.empty else pd.Index([])
    )
    rows = []
    for i in range(months):
        prev = matrix[i] if not matrix.empty else pd.Series(dtype="int64")
        curr = matrix[i + 1] if not matrix.empty else pd.Series(dtype="int64")
        delta = curr - prev
        new_mask = (prev == 0) & (curr > 0)
        reactivated = new_mask & prev.index.isin(paid_before) if not matrix.empty else new_mask
        rows.append(
            {
                "month": days[i],
                "new": int(delta[new_mask & ~reactivated].sum()),
                "reactivation": int(delta[reactivated].sum()),
                "expansion": int(delta[(prev > 0) & (curr > prev)].sum()),
                "contraction": int(delta[(curr > 0) & (curr < prev)].sum()),
                "churn": int(delta[(prev > 0) & (curr == 0)].sum()),
                "mrr_start": int(prev.sum()),
                "mrr_end": int(curr.sum()),
            }
        )
    return rows, matrix


def _load_subscriptions(session: Session, f: PortfolioFilter, since: dt.date) -> pd.DataFrame:
    stmt = select(
        Subscription.account_id,
        Subscription.mrr_minor,
        Subscription.start_date,
        Subscription.end_date,
        Subscription.currency,
    ).where(
        Subscription.status.in_(("active", "cancelled", "churned")),
        or_(Subscription.end_date.is_(None), Subscription.end_date > since - dt.timedelta(days=400)),
    )
    clauses = _account_filter(f)
    if clauses:
        stmt = stmt.join(Account, Account.id == Subscription.account_id).where(and_(*clauses))
    rows = session.execute(stmt).all()
    return pd.DataFrame(rows, columns=["account_id", "mrr_minor", "start_date", "end_date", "currency"])


def portfolio(
    session: Session, *, today: dt.date, filters: PortfolioFilter | None = None, use_cache: bool = True
) -> Portfolio:
    """The dashboard's figures; cached ten minutes per database and filter (they move with imports and refreshes)."""
    f = filters or PortfolioFilter()
    key = (str(session.get_bind().engine.url), f, today)
    if use_cache:
        with _cache_lock:
            hit = _cache.get(key)
        if hit is not None and time.monotonic() - hit[0] < CACHE_TTL_S:
            return hit[1]
    result = _compute(session, today=today, f=f)
    with _cache_lock:
        _cache[key] = (time.monotonic(), result)
    return result


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


def _compute(session: Session, *, today: dt.date, f: PortfolioFilter) -> Portfolio:
    year_ago = dt.date(today.year - 1, today.month, min(today.day, 28))
    subs = _load_subscriptions(session, f, year_ago)
    movements, matrix = movements_by_month(subs, today=today)
    now_col = matrix.columns[-1] if not matrix.empty else None
    mrr_now = matrix[now_col] if now_col is not None else pd.Series(dtype="int64")
    then = _mrr_matrix(subs, [year_ago, today]) if not subs.empty else pd.DataFrame(columns=[0, 1])
    nrr = grr = logo_churn = None
    if not then.empty:
        base = then[then[0] > 0]
        if len(base):
            nrr = float(base[1].sum() / base[0].sum())
            grr = float(np.minimum(base[1], base[0]).sum() / base[0].sum())
            logo_churn = float((base[1] == 0).sum() / len(base))
    mrr_total = int(mrr_now.sum())
    currency = str(subs["currency"].mode().iloc[0]) if not subs.empty else "JPY"

    clauses = _account_filter(f)
    stage_rows = session.execute(
        select(Account.lifecycle_stage, func.count(Account.id)).where(*clauses).group_by(Account.lifecycle_stage)
    ).all()
    at_risk_ids = session.scalars(select(Account.id).where(Account.lifecycle_stage == "at_risk", *clauses)).all()
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
        Subscription.status.in_(("active", "cancelled")),
        Subscription.start_date <= today,
        or_(Subscription.end_date.is_(None), Subscription.end_date > today),
        Subscription.renewal_date >= today,
        Subscription.renewal_date <= until,
    )
    if clauses:
        ren_stmt = ren_stmt.join(Account, Account.id == Subscription.account_id).where(*clauses)
    ren_count, ren_mrr = session.execute(ren_stmt).one()

    ob_stmt = (
        select(
            func.count(OnboardingMilestone.id),
            func.sum(case((OnboardingMilestone.completed_at.is_not(None), 1), else_=0)),
        )
        .join(Account, Account.id == OnboardingMilestone.account_id)
        .where(Account.lifecycle_stage == "onboarding", *clauses)
    )
    ob_total, ob_done = session.execute(ob_stmt).one()

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

    health_bands: dict[str, dict[str, int]] = {}
    health = _optional_service("kizuna.health.service")
    if health is not None:
        health_bands = health.band_counts(session)
    risk_top: list[dict[str, Any]] = []
    risk = _optional_service("kizuna.risk.service")
    if risk is not None and risk.active_model(session) is not None:
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
        currency=currency,
        mrr_minor=mrr_total,
        arr_minor=12 * mrr_total,
        paying_accounts=int((mrr_now > 0).sum()),
        nrr=nrr,
        grr=grr,
        logo_churn=logo_churn,
        movements=movements,
        stage_distribution={str(s): int(n) for s, n in stage_rows},
        at_risk=at_risk,
        renewals_due_count=int(ren_count or 0),
        renewals_due_mrr_minor=int(ren_mrr or 0),
        onboarding_completed=int(ob_done or 0),
        onboarding_total=int(ob_total or 0),
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
    )
