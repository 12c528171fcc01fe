"""Point-in-time measures per account: everything the scorecards and the churn-risk model read, "as of" a date.

"As of D" means what the KPI layer means by it: at the start of day ``D`` (00:00 UTC). Events, tickets, surveys,
payments and activities count when their time is strictly before that instant; subscription versions count when in
force on ``D``. Nothing about the future leaks in: adding data dated on or after ``D`` leaves the frame unchanged
(tested).

Usage measures come from the KPI layer (:func:`kizuna.analytics.kpi.usage.account_usage`) so that a scorecard and
the KPI pages share one definition of, say, seat utilisation. VoC sentiment comes from the text layer when it is
available; otherwise that column is missing and scorecards redistribute its weight.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

USAGE_COLUMNS = (
    "dau",
    "wau",
    "mau",
    "active_users_30d",
    "seats",
    "seat_utilisation",
    "stickiness",
    "features_used_30d",
    "adoption_breadth",
    "logins_30d",
    "days_since_last_login",
    "usage_trend",
)

#: Columns of :func:`account_measures` besides ``account_id`` (usage columns come from the KPI layer).
MEASURE_COLUMNS = (
    "active",
    "notice_given",
    "tenure_days",
    "mrr_minor",
    "mrr_change_90d",
    "contract_seats",
    "days_to_renewal",
    *USAGE_COLUMNS,
    "tickets_90d",
    "severe_tickets_90d",
    "nps_latest",
    "csat_latest",
    "onboarding_milestones",
    "onboarding_progress",
    "onboarding_overdue",
    "failed_payments_90d",
    "days_since_csm_touch",
    "voc_sentiment",
)

SEVERE_PRIORITIES = ("high", "urgent")


def cutoff(as_of: dt.date) -> dt.datetime:
    """The instant "as of D" means: 00:00 UTC of ``D``; data known then is strictly before it."""
    return dt.datetime.combine(as_of, dt.time(), tzinfo=dt.UTC)


def _days_between(later: dt.datetime, earlier: pd.Series) -> pd.Series:
    ts = pd.to_datetime(earlier, utc=True)
    return (pd.Timestamp(later) - ts).dt.total_seconds() / 86_400.0


def _next_renewal(now: Any, started: Any, as_of: dt.date) -> pd.DataFrame:
    """The next term boundary on or after ``as_of`` of each account's contracts in force: the contract's first start
    plus whole terms (``term_months``). Derived from the contract's terms, never from ``renewal_date``: that column
    holds the *current* next renewal, so reading it at a past date would leak whether the contract renewed since."""
    lines = now.select("account_id", "contract_id", "term_months").to_pandas()
    anchors = started.group_by("contract_id").aggregate(anchor=started.start_date.min()).to_pandas()
    lines = lines.merge(anchors, on="contract_id", how="left")
    if lines.empty:
        return pd.DataFrame({"account_id": [], "next_renewal": []})
    anchor = pd.to_datetime(lines["anchor"])
    term = lines["term_months"].fillna(1).clip(lower=1).astype(int)
    months = (as_of.year - anchor.dt.year) * 12 + (as_of.month - anchor.dt.month)
    terms = -(-months // term)  # ceil
    boundary = [a + pd.DateOffset(months=int(k * t)) for a, k, t in zip(anchor, terms, term, strict=True)]
    boundary = [
        b if b >= pd.Timestamp(as_of) else b + pd.DateOffset(months=int(t)) for b, t in zip(boundary, term, strict=True)
    ]
    lines["next_renewal"] = boundary
    return lines.groupby("account_id", as_index=False)["next_renewal"].min()


def _subscription_measures(tables: dict[str, Any], as_of: dt.date) -> pd.DataFrame:
    import ibis

    subs = tables["subscriptions"]
    plans = tables["plans"].select(plan_id="id", plan_is_addon="is_addon")
    subs = subs.filter(subs.status != "trial").join(plans, "plan_id", how="left")

    def in_force(day: dt.date) -> Any:
        d = ibis.literal(day)
        return subs.filter((subs.start_date <= d) & (subs.end_date.isnull() | (subs.end_date > d)))

    now = in_force(as_of)
    notice = now.cancelled_at.notnull() & (now.cancelled_at < ibis.literal(as_of))
    current = now.group_by("account_id").aggregate(
        mrr_minor=now.mrr_minor.sum(),
        contract_seats=now.quantity.sum(where=~now.plan_is_addon.fill_null(False)),
        notice_versions=notice.cast("int64").sum(),
    )
    before = in_force(as_of - dt.timedelta(days=90))
    earlier = before.group_by("account_id").aggregate(mrr_90d_ago=before.mrr_minor.sum())
    started = subs.filter(subs.start_date <= ibis.literal(as_of))
    first = started.group_by("account_id").aggregate(first_start=started.start_date.min())
    cur = current.to_pandas()
    cur = cur.merge(_next_renewal(now, started, as_of), on="account_id", how="left")
    ago = earlier.to_pandas()
    fst = first.to_pandas()
    out = fst.merge(cur, on="account_id", how="left").merge(ago, on="account_id", how="left")
    out["active"] = out["mrr_minor"].notna()
    out["notice_given"] = out["notice_versions"].fillna(0) > 0
    out["tenure_days"] = (pd.Timestamp(as_of) - pd.to_datetime(out["first_start"])).dt.days.astype(float)
    mrr_now = out["mrr_minor"].fillna(0).astype(float)
    mrr_then = out["mrr_90d_ago"].astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["mrr_change_90d"] = np.where(mrr_then > 0, mrr_now / mrr_then - 1.0, np.nan)
    out["days_to_renewal"] = (pd.to_datetime(out["next_renewal"]) - pd.Timestamp(as_of)).dt.days.astype(float)
    return out[
        [
            "account_id",
            "active",
            "notice_given",
            "tenure_days",
            "mrr_minor",
            "mrr_change_90d",
            "contract_seats",
            "days_to_renewal",
        ]
    ]


def _ticket_measures(tables: dict[str, Any], as_of: dt.date) -> pd.DataFrame:
    import ibis

    end = cutoff(as_of)
    t = tables["tickets"]
    t = t.filter((t.opened_at < ibis.literal(end)) & (t.opened_at >= ibis.literal(end - dt.timedelta(days=90))))
    severe = t.priority.isin(SEVERE_PRIORITIES)
    agg = t.group_by("account_id").aggregate(tickets_90d=t.count(), severe_tickets_90d=severe.cast("int64").sum())
    return agg.to_pandas()


def _latest_survey(tables: dict[str, Any], as_of: dt.date, kind: str, column: str) -> pd.DataFrame:
    import ibis

    end = cutoff(as_of)
    s = tables["survey_responses"]
    s = s.filter(
        (s.kind == kind)
        & (s.responded_at < ibis.literal(end))
        & (s.responded_at >= ibis.literal(end - dt.timedelta(days=365)))
    )
    latest = s.group_by("account_id").aggregate(last_at=s.responded_at.max())
    joined = s.join(latest, (s.account_id == latest.account_id) & (s.responded_at == latest.last_at))
    agg = joined.group_by(account_id=s.account_id).aggregate(**{column: joined.score.mean()})
    return agg.to_pandas()


def _onboarding_measures(tables: dict[str, Any], as_of: dt.date) -> pd.DataFrame:
    import ibis

    end = cutoff(as_of)
    m = tables["onboarding_milestones"]
    done = m.completed_at.notnull() & (m.completed_at < ibis.literal(end))
    overdue = (m.due_on < ibis.literal(as_of)) & ~done
    agg = m.group_by("account_id").aggregate(
        onboarding_milestones=m.count(),
        onboarding_done=done.cast("int64").sum(),
        onboarding_overdue=overdue.cast("int64").sum(),
    )
    out = agg.to_pandas()
    out["onboarding_progress"] = out["onboarding_done"] / out["onboarding_milestones"]
    return out.drop(columns="onboarding_done")


def _payment_measures(tables: dict[str, Any], as_of: dt.date) -> pd.DataFrame:
    import ibis

    end = cutoff(as_of)
    p = tables["payments"]
    p = p.filter(
        (p.status == "failed")
        & (p.attempted_at < ibis.literal(end))
        & (p.attempted_at >= ibis.literal(end - dt.timedelta(days=90)))
    )
    return p.group_by("account_id").aggregate(failed_payments_90d=p.count()).to_pandas()


def _activity_measures(tables: dict[str, Any], as_of: dt.date) -> pd.DataFrame:
    import ibis

    end = cutoff(as_of)
    a = tables["activities"]
    a = a.filter(a.occurred_at < ibis.literal(end))
    out = a.group_by("account_id").aggregate(last_touch=a.occurred_at.max()).to_pandas()
    out["days_since_csm_touch"] = _days_between(end, out["last_touch"]).astype(float)
    return out.drop(columns="last_touch")


def _usage_measures(tables: dict[str, Any], as_of: dt.date) -> pd.DataFrame | None:
    try:
        from kizuna.analytics.kpi.usage import account_usage
    except ImportError:
        log.warning("kizuna.analytics.kpi.usage is not available: usage measures are missing")
        return None
    usage = account_usage(tables, as_of)
    frame = usage.to_pandas() if hasattr(usage, "to_pandas") else pd.DataFrame(usage)
    keep = ["account_id", *[c for c in USAGE_COLUMNS if c in frame.columns]]
    return frame[keep]


def _voc_sentiment(voc_scores: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """VoC sentiment per account known at the start of ``as_of`` from per-text scores: the text layer's one
    point-in-time definition (the same call the VoC refresh step stores)."""
    from kizuna.analytics.text.outcomes import account_voc_sentiment

    out = account_voc_sentiment(voc_scores, as_of=cutoff(as_of), inclusive=False)
    return out[["account_id", "voc_sentiment"]]


def _voc_part(
    voc_scores: pd.DataFrame | None, voc_sentiment: pd.DataFrame | None, as_of: dt.date
) -> pd.DataFrame | None:
    if voc_sentiment is not None:
        return voc_sentiment[["account_id", "voc_sentiment"]] if len(voc_sentiment) else None
    if voc_scores is not None and len(voc_scores):
        return _voc_sentiment(voc_scores, as_of)
    return None


def account_measures(
    tables: dict[str, Any],
    as_of: dt.date,
    *,
    include_usage: bool = True,
    voc_scores: pd.DataFrame | None = None,
    voc_sentiment: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """All measures of every account that existed on ``as_of``, from data known at 00:00 UTC that day.

    Parameters
    ----------
    tables
        Hub tables as Ibis tables (``kizuna.hub.warehouse.hub_tables``), ``events`` included.
    as_of
        The calendar date (UTC) the measures describe.
    include_usage
        Read product usage through the KPI layer (set False to skip the event scan).
    voc_scores
        Per-text VoC sentiment (``account_id``, ``date``, ``score``; the VoC domain stores it, see
        ``kizuna.voc.service.entry_sentiment``), weighted point-in-time by
        :func:`kizuna.analytics.text.account_voc_sentiment`.
    voc_sentiment
        The per-account measure already computed for ``as_of`` (``account_id``, ``voc_sentiment``; e.g. the VoC
        refresh step's stored rows), used as is instead of ``voc_scores``. Without either, ``voc_sentiment`` is
        missing and scorecards redistribute its weight.

    Returns
    -------
    pandas.DataFrame
        One row per account (``account_id``) with the columns of :data:`MEASURE_COLUMNS`: ``active`` (a paid
        subscription in force), ``notice_given`` (a version in force has been cancelled), ``tenure_days`` since the
        first paid start, ``mrr_minor`` (integer minor units of the contract currency), ``mrr_change_90d`` (ratio
        minus 1), ``contract_seats``, ``days_to_renewal``, the usage columns of the KPI layer, ``tickets_90d`` and
        ``severe_tickets_90d`` (priority high or urgent) opened in the last 90 days, ``nps_latest`` (0–10) and
        ``csat_latest`` (1–5) from the newest response within a year, onboarding ``milestones`` / ``progress``
        (0–1) / ``overdue`` (count), ``failed_payments_90d``, ``days_since_csm_touch`` and ``voc_sentiment``
        (the text layer's recency-weighted polarity; below 0 = unhappy). Missing inputs are NaN.
    """
    import ibis

    accounts = tables["accounts"]
    accounts = accounts.filter(accounts.created_at <= ibis.literal(cutoff(as_of)))
    frame = accounts.select(account_id="id").to_pandas()
    parts: list[pd.DataFrame | None] = [
        _subscription_measures(tables, as_of),
        _usage_measures(tables, as_of) if include_usage else None,
        _ticket_measures(tables, as_of),
        _latest_survey(tables, as_of, "nps", "nps_latest"),
        _latest_survey(tables, as_of, "csat", "csat_latest"),
        _onboarding_measures(tables, as_of),
        _payment_measures(tables, as_of),
        _activity_measures(tables, as_of),
        _voc_part(voc_scores, voc_sentiment, as_of),
    ]
    for part in parts:
        if part is not None and len(part.columns) > 1:
            frame = frame.merge(part, on="account_id", how="left")
    for col in MEASURE_COLUMNS:
        if col not in frame.columns:
            frame[col] = np.nan
    frame["active"] = frame["active"].astype("boolean").fillna(False).astype(bool)
    frame["notice_given"] = frame["notice_given"].astype("boolean").fillna(False).astype(bool)
    for col in ("tickets_90d", "severe_tickets_90d", "failed_payments_90d"):
        frame[col] = frame[col].fillna(0).astype(float)
    others = [c for c in MEASURE_COLUMNS if c not in ("active", "notice_given")]
    frame[others] = frame[others].apply(pd.to_numeric, errors="coerce").astype(float)
    return frame[["account_id", *MEASURE_COLUMNS]].sort_values("account_id").reset_index(drop=True)


def measures_over_time(
    tables: dict[str, Any],
    dates: list[dt.date],
    *,
    include_usage: bool = True,
    voc_scores: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """:func:`account_measures` at each date, stacked with an ``as_of`` column."""
    frames = []
    for day in dates:
        frame = account_measures(tables, day, include_usage=include_usage, voc_scores=voc_scores)
        frame.insert(1, "as_of", day)
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=["account_id", "as_of", *MEASURE_COLUMNS])
    return pd.concat(frames, ignore_index=True)
