"""The manager's monthly review, read from the stored KPI snapshot: the last complete month beside the month to
date (onboarding, unit economics, CAC by channel, cohorts by plan or tier, churn by tenure, portfolio usage) and the
revenue model's figures (trials, pauses, cancellation notices, each currency's own MRR). Nothing is recomputed here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from typing import Any

import pandas as pd
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from kizuna.analytics.kpi.unit_economics import implausible
from kizuna.errors import NotFound
from kizuna.kpis.models import AccountMetrics
from kizuna.kpis.service import (
    MRR_MOVEMENTS,
    Cohorts,
    latest_snapshot,
    load_kpi,
    load_table,
    revenue_by_month,
    snapshot_cached,
)


def _number(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def last_complete_month(as_of: dt.date) -> dt.date:
    """The last calendar month that ended before ``as_of`` (as of D = 00:00 of D: D's own month is month-to-date)."""
    return (as_of.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


@dataclasses.dataclass
class Onboarding:
    """The app's one onboarding figure (docs/metrics.md, "Onboarding"): of the accounts with an onboarding plan
    known at the snapshot, the share that completed every milestone, and the median days from the first
    subscription line to the first key milestone."""

    snapshot_as_of: dt.date | None
    accounts: int  # accounts with milestones
    complete: int  # ... that completed every one
    completion_rate: float | None
    reached_value: int  # accounts whose first key milestone is done
    median_time_to_value_days: float | None


def onboarding_figures(session: Session, *, account_ids: Iterable[int] | Select[Any] | None = None) -> Onboarding:
    """Onboarding completion and median time-to-value from the stored per-account onboarding columns
    (``voice.account_onboarding``, written by ``kizuna refresh``), for every account or ``account_ids`` (ids, or a
    query of them: a filter can hold more accounts than a statement binds parameters): the dashboard, the
    onboarding CLI and the API all show this number."""
    table = AccountMetrics.__table__
    query = select(table.c.as_of, table.c.onboarding_complete, table.c.time_to_value_days).where(
        table.c.onboarding_complete.is_not(None)
    )
    if isinstance(account_ids, Select):
        query = query.where(table.c.account_id.in_(account_ids))
    elif account_ids is not None:
        query = query.where(table.c.account_id.in_(list(account_ids)))
    rows = session.execute(query).all()
    stamp = latest_snapshot(session)
    complete = sum(bool(r.onboarding_complete) for r in rows)
    ttv = pd.Series([r.time_to_value_days for r in rows], dtype="float64").dropna()
    return Onboarding(
        snapshot_as_of=rows[0].as_of if rows else (stamp[0] if stamp else None),
        accounts=len(rows),
        complete=complete,
        completion_rate=complete / len(rows) if rows else None,
        reached_value=len(ttv),
        median_time_to_value_days=float(ttv.median()) if len(ttv) else None,
    )


#: the stored series a unit-economics month is made of (revenue summary and ``unit_economics``)
UNIT_ECONOMICS_SERIES = (
    "mrr_minor",
    "customers",
    "customers_start",
    "churned_customers",
    "arpa_minor",
    "churn_rate_12m",
    "gross_margin",
    "ltv_minor",
    "spend_minor",
    "new_customers",
    "cac_minor",
    "ltv_to_cac",
    "new_arpa_minor",
    "cac_payback_months",
    "quick_ratio",
    *(f"{m}_minor" for m in MRR_MOVEMENTS),
)


@dataclasses.dataclass
class UnitEconomics:
    """Stored unit economics of the latest snapshot, one dict per month (keys: :data:`UNIT_ECONOMICS_SERIES`
    without ``_minor`` renamed, plus ``churned_12m`` and ``customers_start_12m``: the trailing twelve months the
    LTV's churn rate averages, and ``implausible``: the sanity checks the month fails,
    ``kizuna.analytics.kpi.unit_economics.implausible``); ``month`` is the last complete month, ``mtd`` the
    snapshot's own month."""

    snapshot_as_of: dt.date | None = None
    currency: str = "JPY"
    months: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    month: dict[str, Any] | None = None
    mtd: dict[str, Any] | None = None


@snapshot_cached
def unit_economics(session: Session, *, months: int = 12) -> UnitEconomics:
    """LTV, CAC, LTV/CAC, CAC payback, ARPA and quick ratio of the last ``months`` complete months and the month to
    date, with the inputs each was computed from, read from the stored snapshot (definitions: docs/metrics.md)."""
    stamp = latest_snapshot(session)
    if stamp is None:
        return UnitEconomics()
    series = load_kpi(session, names=UNIT_ECONOMICS_SERIES, as_of=stamp[0])
    found = revenue_by_month(series, as_of=stamp[0], months=months + 1)
    out = UnitEconomics(snapshot_as_of=stamp[0])
    if found is None:
        return out
    out.currency = found.currency
    wide = found.months
    # the LTV's churn rate: churned customers / customers at the start, summed over the trailing 12 months
    rolling = wide.reindex(columns=["churned_customers", "customers_start"]).fillna(0).rolling(12, min_periods=1).sum()
    first = found.movements[0]["month"] if found.movements else stamp[0].replace(day=1)
    for month, row in wide.loc[wide.index >= first].iterrows():
        values = {k: _number(row.get(k)) for k in UNIT_ECONOMICS_SERIES}
        values["churned_12m"] = _number(rolling.at[month, "churned_customers"])
        values["customers_start_12m"] = _number(rolling.at[month, "customers_start"])
        out.months.append({"month": month, **values, "implausible": implausible(values)})
    by_month = {m["month"]: m for m in out.months}
    out.month = by_month.get(last_complete_month(stamp[0]))
    out.mtd = by_month.get(stamp[0].replace(day=1))
    return out


@snapshot_cached
def cac_by_channel(session: Session, *, months: int = 12) -> list[dict[str, Any]]:
    """CAC per acquisition channel over the last ``months`` complete months (spend and new customers summed, then
    divided), from the stored ``cac_by_channel`` table, in the currency with the most spend; most spend first,
    ``all`` last."""
    stamp = latest_snapshot(session)
    if stamp is None:
        return []
    try:
        table = load_table(session, name="cac_by_channel", as_of=stamp[0])
    except NotFound:
        return []
    if table.empty:
        return []
    last = last_complete_month(stamp[0])
    first = last
    for _ in range(months - 1):
        first = last_complete_month(first)
    table["month"] = pd.to_datetime(table["month"]).dt.date
    table = table[(table.month >= first) & (table.month <= last)]
    if table.empty:
        return []
    currency = str(table.groupby("currency")["spend_minor"].sum().idxmax())
    sums = table[table.currency == currency].groupby("channel")[["spend_minor", "new_customers"]].sum()
    rows: list[dict[str, Any]] = [
        {
            "channel": str(channel),
            "currency": currency,
            "spend_minor": int(r.spend_minor),
            "new_customers": int(r.new_customers),
            "cac_minor": float(r.spend_minor) / float(r.new_customers) if r.new_customers else None,
        }
        for channel, r in sums.iterrows()
    ]
    rows.sort(key=lambda r: (r["channel"] == "all", -int(r["spend_minor"] or 0)))
    return rows


def _months_apart(first: dt.date, later: dt.date) -> int:
    return (later.year - first.year) * 12 + later.month - first.month


@snapshot_cached
def grouped_cohorts(session: Session, *, by: str, months: int = 12) -> Cohorts:
    """Logo and revenue retention per ``by`` group (``plan``: the plan at the start; ``touch_tier``), pooled over
    every start month of the group: at period p, the customers (MRR) still paying ÷ those at the start of the
    cohorts old enough to have reached p. From the stored ``cohort_retention_by_<by>`` table; ``months`` holds the
    group names (largest first)."""
    stamp = latest_snapshot(session)
    if stamp is None:
        return Cohorts(months=[], offsets=[], logo=[], revenue=[], sizes=[])
    out = Cohorts(months=[], offsets=list(range(months)), logo=[], revenue=[], sizes=[], snapshot_as_of=stamp[0])
    try:
        table = load_table(session, name=f"cohort_retention_by_{by}", as_of=stamp[0])
    except NotFound:
        return out
    if table.empty:
        return out
    out.currency = str(table.groupby("currency")["cohort_customers"].sum().idxmax())
    table = table[table.currency == out.currency].copy()
    table["cohort_month"] = pd.to_datetime(table["cohort_month"]).dt.date
    table[by] = table[by].fillna("unknown").astype(str)
    now = stamp[0].replace(day=1)
    starts = table[table.period == 0]
    sizes = starts.groupby(by)["cohort_customers"].sum().sort_values(ascending=False)
    starts = starts.assign(age=[_months_apart(m, now) for m in starts.cohort_month])
    for group in sizes.index:
        cohorts_of = starts[starts[by] == group]
        # a cohort has rows only for the periods it reached: the numerator needs no age filter, the base does
        at = table[table[by] == group].groupby("period")[["customers", "mrr_minor"]].sum()
        logo: list[float | None] = []
        revenue: list[float | None] = []
        for period in out.offsets:
            old_enough = cohorts_of[cohorts_of.age >= period]
            base, base_mrr = old_enough.cohort_customers.sum(), old_enough.cohort_mrr_minor.sum()
            customers = at.customers.get(period, 0)
            mrr = at.mrr_minor.get(period, 0)
            logo.append(float(customers / base) if base else None)
            revenue.append(float(mrr / base_mrr) if base_mrr else None)
        out.months.append(group)  # (group names here, not months)
        out.sizes.append(int(sizes[group]))
        out.logo.append(logo)
        out.revenue.append(revenue)
    return out


@dataclasses.dataclass
class TenureChurn:
    snapshot_as_of: dt.date | None = None
    currency: str | None = None
    rows: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # tenure_bucket, customer_months, ...


@snapshot_cached
def churn_by_tenure(session: Session) -> TenureChurn:
    """Average monthly logo and revenue churn per tenure bucket (the stored ``churn_by_tenure`` table), youngest
    first, in the currency with the most customer-months."""
    from kizuna.analytics.kpi.cohorts import TENURE_BUCKETS

    stamp = latest_snapshot(session)
    if stamp is None:
        return TenureChurn()
    out = TenureChurn(snapshot_as_of=stamp[0])
    try:
        table = load_table(session, name="churn_by_tenure", as_of=stamp[0])
    except NotFound:
        return out
    if table.empty:
        return out
    out.currency = str(table.groupby("currency")["customer_months"].sum().idxmax())
    table = table[table.currency == out.currency].set_index("tenure_bucket")
    for _, _, label in TENURE_BUCKETS:
        if label in table.index:
            r = table.loc[label]
            out.rows.append(
                {
                    "tenure_bucket": label,
                    "customer_months": int(r.customer_months),
                    "churned_customers": int(r.churned_customers),
                    "logo_churn_rate": _number(r.logo_churn_rate),
                    "revenue_churn_rate": _number(r.revenue_churn_rate),
                }
            )
    return out


@dataclasses.dataclass
class PortfolioUsage:
    """Usage of the paying accounts at the snapshot (sums and ratios of sums of ``account_metrics``), per plan, and
    the stored monthly usage series."""

    snapshot_as_of: dt.date | None = None
    totals: dict[str, Any] = dataclasses.field(default_factory=dict)
    by_plan: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    months: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # month, active_users, active_accounts
    feature_months: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # month, features: {name: share}


def _usage_figures(frame: pd.DataFrame) -> dict[str, Any]:
    """DAU/WAU/MAU summed; stickiness, seat utilisation and adoption as ratios of sums (each account weighs by its
    users), so a plan's figure is its users', not an average of small accounts' ratios."""
    seats = frame.loc[frame.seats > 0]
    mau = float(frame.mau.sum())
    return {
        "accounts": len(frame),
        "dau": int(frame.dau.sum()),
        "wau": int(frame.wau.sum()),
        "mau": int(mau),
        "seats": int(seats.seats.sum()),
        "stickiness": float(frame.avg_dau_30d.fillna(0).sum()) / mau if mau else None,
        "seat_utilisation": float(seats.mau.sum()) / float(seats.seats.sum()) if len(seats) else None,
        "adoption_breadth": _number(frame.adoption_breadth.mean()),
        "features_used": _number(frame.features_used_30d.mean()),
    }


@snapshot_cached
def portfolio_usage(session: Session, *, months: int = 12) -> PortfolioUsage:
    """The portfolio usage page's figures (definitions: docs/metrics.md, "Usage"), from the stored snapshot."""
    from kizuna.billing.models import Plan

    stamp = latest_snapshot(session)
    if stamp is None:
        return PortfolioUsage()
    out = PortfolioUsage(snapshot_as_of=stamp[0])
    table = AccountMetrics.__table__
    columns = ["plan_id", "dau", "wau", "mau", "avg_dau_30d", "seats", "adoption_breadth", "features_used_30d"]
    result = session.execute(select(*(table.c[c] for c in columns)).where(table.c.mrr_minor > 0))
    frame = pd.DataFrame(result.fetchall(), columns=columns)
    out.totals = _usage_figures(frame)  # zeros and no ratios for a snapshot with no paying account
    if len(frame):
        names = dict(session.execute(select(Plan.id, Plan.name)).all())
        for plan_id, rows in frame.groupby("plan_id"):
            out.by_plan.append({"plan": names.get(int(plan_id), str(plan_id)), **_usage_figures(rows)})
        out.by_plan.sort(key=lambda r: -r["mau"])
    series = load_kpi(session, names=["usage_active_users", "usage_active_accounts"], as_of=stamp[0])
    if len(series):
        wide = series.pivot_table(index="month", columns="metric", values="value", aggfunc="first").sort_index()
        for month, row in wide.tail(months).iterrows():
            out.months.append(
                {
                    "month": month,
                    "active_users": int(_number(row.get("usage_active_users")) or 0),
                    "active_accounts": int(_number(row.get("usage_active_accounts")) or 0),
                }
            )
    try:
        adoption = load_table(session, name="feature_adoption", as_of=stamp[0])
    except NotFound:
        adoption = pd.DataFrame()
    if len(adoption):
        adoption["month"] = pd.to_datetime(adoption["month"]).dt.date
        for month, rows in adoption.groupby("month"):
            out.feature_months.append(
                {"month": month, "features": {str(r.feature): _number(r.adoption) for r in rows.itertuples()}}
            )
    return out


#: the revenue model's stored series the review shows: trials (per trial month, not per currency), pauses and
#: notices (base currency)
TRIAL_SERIES = (
    "trials_started",
    "trials_converted",
    "trials_expired",
    "trial_conversion_rate",
    "median_days_to_convert",
    "p25_days_to_convert",
    "p75_days_to_convert",
)
HOLD_SERIES = (
    "paused_customers",
    "resumed_customers",
    "pause_minor",
    "resume_minor",
    "customers_on_pause",
    "mrr_on_pause_minor",
    "churn_scheduled_customers",
    "churn_scheduled_mrr_minor",
    "notices_given",
    "avg_notice_days",
)


@dataclasses.dataclass
class RevenueModel:
    """Trials, pauses, cancellation notices and each currency's own MRR from the latest snapshot: every figure of
    the last complete month (``month``) and of the month to date (``mtd``); ``currencies``: each currency's own MRR
    and customers as of the snapshot (amounts in that currency), when there is more than one."""

    snapshot_as_of: dt.date | None = None
    currency: str = "JPY"
    review_month: dt.date | None = None
    month: dict[str, float | None] = dataclasses.field(default_factory=dict)
    mtd: dict[str, float | None] = dataclasses.field(default_factory=dict)
    currencies: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    @property
    def shown(self) -> bool:
        """Whether the company has any trial, pause or notice to show (else the section stays away)."""
        keys = ("trials_started", "customers_on_pause", "churn_scheduled_customers", "paused_customers")
        return any((values.get(k) or 0) > 0 for values in (self.month, self.mtd) for k in keys)


@snapshot_cached
def revenue_model(session: Session) -> RevenueModel:
    """The revenue model's figures of the latest snapshot (docs/metrics.md: trials, pauses, notices, currencies)."""
    stamp = latest_snapshot(session)
    if stamp is None:
        return RevenueModel()
    as_of = stamp[0]
    out = RevenueModel(snapshot_as_of=as_of, review_month=last_complete_month(as_of))
    series = load_kpi(session, names=(*TRIAL_SERIES, *HOLD_SERIES, "mrr_minor"), as_of=as_of)
    money = series[series.currency != ""]
    if len(money):
        out.currency = str(money[money.metric == "mrr_minor"].currency.mode().iloc[0]) if len(money) else "JPY"
    series = series[series.currency.isin(["", out.currency])]
    for key, month in (("month", out.review_month), ("mtd", as_of.replace(day=1))):
        rows = series[series.month == month]
        # a series the stored snapshot lacks (computed before this kizuna added it) reads as no figure, not an error
        getattr(out, key).update(dict.fromkeys((*TRIAL_SERIES, *HOLD_SERIES)))
        getattr(out, key).update({str(r.metric): _number(r.value) for r in rows.itertuples()})
    own = load_kpi(session, names=("mrr_minor", "customers"), as_of=as_of, by="currency")
    own = own[own.month == as_of.replace(day=1)]
    if own.currency.nunique() > 1:
        wide = own.pivot_table(index="currency", columns="metric", values="value", aggfunc="first")
        out.currencies = [
            {
                "currency": str(code),
                "mrr_minor": int(row.get("mrr_minor") or 0),
                "customers": int(row.get("customers") or 0),
            }
            for code, row in wide.iterrows()
        ]
    return out
