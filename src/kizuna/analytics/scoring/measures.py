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
import uuid
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from kizuna.analytics.scoring.usage import USAGE_COLUMNS, usage_over_time

log = logging.getLogger(__name__)


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
    "days_since_customer_email",
    "email_sentiment",
    "voc_sentiment",
)

SEVERE_PRIORITIES = ("high", "urgent")
#: the VoC channel of the customers' e-mails (``kizuna mail``); its entries are the e-mail measures' input
EMAIL_CHANNEL = "email"
#: activities read in from the customers' e-mails: the customer wrote, not a CS touch
CUSTOMER_EMAIL_ACTIVITY = "mail:"


def cutoff(as_of: dt.date) -> dt.datetime:
    """The instant "as of D" means: 00:00 UTC of ``D``; data known then is strictly before it."""
    return dt.datetime.combine(as_of, dt.time(), tzinfo=dt.UTC)


def _dates_table(tables: dict[str, Any], dates: Sequence[dt.date]) -> Any:
    """The dates as a small table on the hub tables' backend: ``k`` (the date's index in ``dates``), ``as_of``,
    ``cutoff`` (00:00 UTC), ``as_of_90`` and the instants 90 and 365 days before the cut-off."""
    import pyarrow as pa

    from kizuna.analytics.kpi._common import register_small

    stamp = pa.timestamp("us", tz="UTC")
    table = pa.table(
        {
            "k": pa.array(range(len(dates)), pa.int64()),
            "as_of": pa.array(dates, pa.date32()),
            "cutoff": pa.array([cutoff(d) for d in dates], stamp),
            "as_of_90": pa.array([d - dt.timedelta(days=90) for d in dates], pa.date32()),
            "cutoff_90": pa.array([cutoff(d) - dt.timedelta(days=90) for d in dates], stamp),
            "cutoff_365": pa.array([cutoff(d) - dt.timedelta(days=365) for d in dates], stamp),
        }
    )
    return register_small(tables, f"kizuna_measure_dates_{uuid.uuid4().hex[:16]}", table)


def _add_months(days: np.ndarray, months: np.ndarray) -> np.ndarray:
    """``days`` (datetime64[D]) plus whole ``months``, the day clamped to the target month's length (31 January
    plus one month is 28 or 29 February): what ``pandas.DateOffset(months=n)`` does, for whole arrays."""
    first = days.astype("datetime64[M]")
    day_index = (days - first.astype("datetime64[D]")).astype(np.int64)
    target = first + months.astype("timedelta64[M]")
    length = ((target + 1).astype("datetime64[D]") - target.astype("datetime64[D]")).astype(np.int64)
    out: np.ndarray = target.astype("datetime64[D]") + np.minimum(day_index, length - 1).astype("timedelta64[D]")
    return out


def _next_renewal(lines: pd.DataFrame, as_of: np.ndarray) -> np.ndarray:
    """The next term boundary on or after each line's date (``as_of``, datetime64[D] per row): the contract's first
    start (``anchor``) plus whole terms (``term_months``). Derived from the contract's terms, never from
    ``renewal_date``: that column holds the *current* next renewal, so reading it at a past date would leak whether
    the contract renewed since."""
    anchor = pd.to_datetime(lines["anchor"]).to_numpy().astype("datetime64[D]")
    term = lines["term_months"].fillna(1).clip(lower=1).astype(np.int64).to_numpy()
    anchor_month = anchor.astype("datetime64[M]").astype(np.int64)
    months = as_of.astype("datetime64[M]").astype(np.int64) - anchor_month
    terms = -(-months // term)  # ceil
    boundary = _add_months(anchor, terms * term)
    early = boundary < as_of
    boundary[early] = _add_months(boundary[early], term[early])
    return boundary


def _subscription_measures(tables: dict[str, Any], dates: Any, day: np.ndarray) -> pd.DataFrame:
    subs = tables["subscriptions"]
    plans = tables["plans"].select(plan_id="id", plan_is_addon="is_addon")
    subs = subs.filter(subs.status != "trial").join(plans, "plan_id", how="left")

    def in_force(column: str) -> Any:
        d = dates[column]
        return subs.join(dates, (subs.start_date <= d) & (subs.end_date.isnull() | (subs.end_date > d)))

    now = in_force("as_of")
    notice = now.cancelled_at.notnull() & (now.cancelled_at < now.as_of)
    current = now.group_by(["k", "account_id"]).aggregate(
        mrr_minor=now.mrr_minor.sum(),
        contract_seats=now.quantity.sum(where=~now.plan_is_addon.fill_null(False)),
        unknown_seats=(now.quantity.isnull() & ~now.plan_is_addon.fill_null(False)).cast("int64").sum(),
        notice_versions=notice.cast("int64").sum(),
    )
    before = in_force("as_of_90")
    earlier = before.group_by(["k", "account_id"]).aggregate(mrr_90d_ago=before.mrr_minor.sum())
    started = subs.join(dates, subs.start_date <= dates.as_of)
    first = started.group_by(["k", "account_id"]).aggregate(first_start=started.start_date.min())
    anchors = started.group_by(["k", "contract_id"]).aggregate(anchor=started.start_date.min())
    lines = now.select("k", "account_id", "contract_id", "term_months").to_pandas()
    cur = current.to_pandas()
    if len(lines):
        lines = lines.merge(anchors.to_pandas(), on=["k", "contract_id"], how="left")
        lines["next_renewal"] = _next_renewal(lines, day[lines["k"].to_numpy()])
        renewal = lines.groupby(["k", "account_id"], as_index=False)["next_renewal"].min()
    else:
        renewal = pd.DataFrame({"k": [], "account_id": [], "next_renewal": []})
    cur = cur.merge(renewal, on=["k", "account_id"], how="left")
    out = first.to_pandas().merge(cur, on=["k", "account_id"], how="left")
    out = out.merge(earlier.to_pandas(), on=["k", "account_id"], how="left")
    as_of = pd.Series(day[out["k"].to_numpy()], index=out.index).astype("datetime64[ns]")
    out["active"] = out["mrr_minor"].notna()
    # a line whose seat count is unknown makes the account's seats unknown (never a smaller count)
    out["contract_seats"] = out["contract_seats"].astype(float).where(out["unknown_seats"].fillna(0) == 0)
    out["notice_given"] = out["notice_versions"].fillna(0) > 0
    out["tenure_days"] = (as_of - pd.to_datetime(out["first_start"])).dt.days.astype(float)
    mrr_now = out["mrr_minor"].fillna(0).astype(float)
    mrr_then = out["mrr_90d_ago"].astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["mrr_change_90d"] = np.where(mrr_then > 0, mrr_now / mrr_then - 1.0, np.nan)
    out["days_to_renewal"] = (pd.to_datetime(out["next_renewal"]) - as_of).dt.days.astype(float)
    return out[
        [
            "k",
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


def _ticket_measures(tables: dict[str, Any], dates: Any) -> pd.DataFrame:
    t = tables["tickets"]
    t = t.join(dates, (t.opened_at < dates.cutoff) & (t.opened_at >= dates.cutoff_90))
    severe = t.priority.isin(SEVERE_PRIORITIES)
    agg = t.group_by(["k", "account_id"]).aggregate(
        tickets_90d=t.count(), severe_tickets_90d=severe.cast("int64").sum()
    )
    return agg.to_pandas()


def _latest_survey(tables: dict[str, Any], dates: Any, kind: str, column: str) -> pd.DataFrame:
    s = tables["survey_responses"]
    s = s.filter(s.kind == kind)
    known = s.join(dates, (s.responded_at < dates.cutoff) & (s.responded_at >= dates.cutoff_365))
    known = known.select("k", "account_id", "responded_at", "score")
    latest = known.group_by(["k", "account_id"]).aggregate(last_at=known.responded_at.max())
    other = known.view()
    joined = other.join(
        latest,
        [other.k == latest.k, other.account_id == latest.account_id, other.responded_at == latest.last_at],
    )
    agg = joined.group_by(["k", "account_id"]).aggregate(**{column: joined.score.mean()})
    return agg.to_pandas()


def _onboarding_measures(tables: dict[str, Any], dates: Any) -> pd.DataFrame:
    m = tables["onboarding_milestones"].cross_join(dates)
    done = m.completed_at.notnull() & (m.completed_at < m.cutoff)
    overdue = (m.due_on < m.as_of) & ~done
    agg = m.group_by(["k", "account_id"]).aggregate(
        onboarding_milestones=m.count(),
        onboarding_done=done.cast("int64").sum(),
        onboarding_overdue=overdue.cast("int64").sum(),
    )
    out = agg.to_pandas()
    out["onboarding_progress"] = out["onboarding_done"] / out["onboarding_milestones"]
    return out.drop(columns="onboarding_done")


def _payment_measures(tables: dict[str, Any], dates: Any) -> pd.DataFrame:
    p = tables["payments"]
    p = p.filter(p.status == "failed")
    p = p.join(dates, (p.attempted_at < dates.cutoff) & (p.attempted_at >= dates.cutoff_90))
    return p.group_by(["k", "account_id"]).aggregate(failed_payments_90d=p.count()).to_pandas()


def _activity_measures(tables: dict[str, Any], dates: Any, ends: pd.DatetimeIndex) -> pd.DataFrame:
    a = tables["activities"]
    a = a.filter(a.external_id.isnull() | ~a.external_id.startswith(CUSTOMER_EMAIL_ACTIVITY))
    a = a.join(dates, a.occurred_at < dates.cutoff)
    out = a.group_by(["k", "account_id"]).aggregate(last_touch=a.occurred_at.max()).to_pandas()
    end = pd.Series(ends[out["k"].to_numpy()], index=out.index)
    since = end - pd.to_datetime(out["last_touch"], utc=True)
    out["days_since_csm_touch"] = (since.dt.total_seconds() / 86_400.0).astype(float)
    return out.drop(columns="last_touch")


def _email_measures(tables: dict[str, Any], dates: Any, ends: pd.DatetimeIndex) -> pd.DataFrame | None:
    """Silence and tone of the customers' e-mails (VoC entries of channel ``email`` on an account) known before
    each date's cut-off: ``days_since_customer_email`` and ``email_sentiment``; None when the company has no e-mail
    before any of the dates (no data in this company, not silence)."""
    v = tables["voc_entries"]
    mail = v.filter((v.channel == EMAIL_CHANNEL) & v.account_id.notnull()).select("id", "account_id", "recorded_at")
    known = mail.join(dates, mail.recorded_at < dates.cutoff)
    first = known.group_by("k").aggregate(first_email=known.recorded_at.min()).to_pandas()
    if first.empty:
        return None
    last = known.group_by(["k", "account_id"]).aggregate(last_email=known.recorded_at.max()).to_pandas()
    accounts = tables["accounts"]
    listed = accounts.join(dates, accounts.created_at <= dates.cutoff)
    out = listed.select("k", account_id=listed.id, created_at=listed.created_at).to_pandas()
    out = out.merge(first, on="k", how="inner").merge(last, on=["k", "account_id"], how="left")
    created = pd.to_datetime(out["created_at"], utc=True)
    recording = pd.to_datetime(out["first_email"], utc=True)
    # an account that never wrote has been silent since it could have been heard: since the company's first
    # e-mail known then, or since the account was created when that is later
    silent_since = pd.to_datetime(out["last_email"], utc=True).fillna(created.where(created > recording, recording))
    end = pd.Series(ends[out["k"].to_numpy()], index=out.index)
    out["days_since_customer_email"] = ((end - silent_since).dt.total_seconds() / 86_400.0).astype(float)
    out = out[["k", "account_id", "days_since_customer_email"]]
    analyses = tables.get("voc_text_analysis")
    if analyses is None:  # an older hub without the text layer's table: the tone is unknown
        return out
    scores = analyses.select(entry_id=analyses.entry_id, score=analyses.sentiment_score)
    scored = mail.join(scores, mail.id == scores.entry_id)
    recent = scored.join(dates, (scored.recorded_at < dates.cutoff) & (scored.recorded_at >= dates.cutoff_90))
    tone = recent.group_by(["k", "account_id"]).aggregate(email_sentiment=recent.score.mean()).to_pandas()
    return out.merge(tone, on=["k", "account_id"], how="left")


def _voc_sentiment(voc_scores: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """VoC sentiment per account known at the start of ``as_of`` from per-text scores: the text layer's one
    point-in-time definition (the same call the VoC refresh step stores)."""
    from kizuna.analytics.text.outcomes import account_voc_sentiment

    out = account_voc_sentiment(voc_scores, as_of=cutoff(as_of), inclusive=False)
    return out[["account_id", "voc_sentiment"]]


def _voc_part(
    voc_scores: pd.DataFrame | None, voc_sentiment: pd.DataFrame | None, dates: Sequence[dt.date]
) -> pd.DataFrame | None:
    if voc_sentiment is not None:
        if not len(voc_sentiment):
            return None
        return voc_sentiment[["account_id", "voc_sentiment"]].assign(k=0)
    if voc_scores is None or not len(voc_scores):
        return None
    parts = [_voc_sentiment(voc_scores, day).assign(k=k) for k, day in enumerate(dates)]
    return pd.concat(parts, ignore_index=True)


def _recorded(tables: dict[str, Any], table: str, column: str, ends: pd.DatetimeIndex) -> np.ndarray:
    """Per date: whether ``table`` holds a row whose ``column`` is before the date's cut-off."""
    t = tables[table]
    first = t.aggregate(first=t[column].min()).to_pandas()["first"].iloc[0]
    if first is None or pd.isna(first):
        return np.zeros(len(ends), dtype=bool)
    stamp = pd.Timestamp(first)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return np.asarray(ends > stamp, dtype=bool)


def _known_accounts(tables: dict[str, Any], dates: Any) -> pd.DataFrame:
    accounts = tables["accounts"]
    known = accounts.join(dates, accounts.created_at <= dates.cutoff)
    return known.select("k", account_id=known.id).to_pandas()


def measures_over_time(
    tables: dict[str, Any],
    dates: Sequence[dt.date],
    *,
    include_usage: bool = True,
    voc_scores: pd.DataFrame | None = None,
    usage_months: Any = None,
) -> pd.DataFrame:
    """:func:`account_measures` at each of ``dates``, stacked with an ``as_of`` column (in the order of ``dates``,
    then by account).

    Every date is computed in the same few queries (each part joins its table to the dates), not one round of
    queries per date: the cost grows with the rows read, not with the number of dates times the tables.

    ``usage_months`` (optional) is the monthly usage rollup (``account_id``, ``month``, ``last_login_at``; Arrow
    or pandas; ``kizuna.usage.rollups``) of at least every month before the last date's month: the last login
    before a date is then the newest of its earlier months' and of the events of its own month, and the event
    history is not read again for every date. Without it one query over the login events gives the same months.
    """
    return _measures(tables, list(dates), include_usage=include_usage, voc_scores=voc_scores, usage_months=usage_months)


def _measures(
    tables: dict[str, Any],
    dates: list[dt.date],
    *,
    include_usage: bool,
    voc_scores: pd.DataFrame | None = None,
    voc_sentiment: pd.DataFrame | None = None,
    usage_months: Any = None,
) -> pd.DataFrame:
    if not dates:
        return pd.DataFrame(columns=["account_id", "as_of", *MEASURE_COLUMNS])
    table = _dates_table(tables, dates)
    day = np.array(dates, dtype="datetime64[D]")
    ends = pd.DatetimeIndex([cutoff(d) for d in dates])
    frame = _known_accounts(tables, table)
    parts: list[pd.DataFrame | None] = [
        _subscription_measures(tables, table, day),
        usage_over_time(tables, dates, table, usage_months=usage_months) if include_usage else None,
        _ticket_measures(tables, table),
        _latest_survey(tables, table, "nps", "nps_latest"),
        _latest_survey(tables, table, "csat", "csat_latest"),
        _onboarding_measures(tables, table),
        _payment_measures(tables, table),
        _activity_measures(tables, table, ends),
        _email_measures(tables, table, ends),
    ]
    for part in parts:
        if part is not None and len(part.columns) > 2:
            frame = frame.merge(part, on=["k", "account_id"], how="left")
    for col in MEASURE_COLUMNS:
        if col not in frame.columns:
            frame[col] = np.nan
    frame["active"] = frame["active"].astype("boolean").fillna(False).astype(bool)
    frame["notice_given"] = frame["notice_given"].astype("boolean").fillna(False).astype(bool)
    # a count is 0 for an account without rows only where the company records them: with no ticket (or payment)
    # known before a date, the count is missing there (no data), not a reassuring 0 for everyone
    for cols, table, column in (
        (("tickets_90d", "severe_tickets_90d"), "tickets", "opened_at"),
        (("failed_payments_90d",), "payments", "attempted_at"),
    ):
        recorded = _recorded(tables, table, column, ends)[frame["k"].to_numpy()]
        for col in cols:
            frame[col] = frame[col].fillna(0).astype(float).where(recorded)
    others = [c for c in MEASURE_COLUMNS if c not in ("active", "notice_given")]
    frame[others] = frame[others].apply(pd.to_numeric, errors="coerce").astype(float)
    frame = frame.sort_values(["k", "account_id"]).reset_index(drop=True)
    as_of = pd.Series(np.array(dates, dtype=object)[frame["k"].to_numpy()], index=frame.index, dtype=object)
    frame.insert(0, "as_of", as_of)
    frame = frame[["account_id", "as_of", *MEASURE_COLUMNS]]
    if voc_scores is None and voc_sentiment is None:
        return frame
    return with_voc_sentiment(frame, voc_scores=voc_scores, voc_sentiment=voc_sentiment)


def with_voc_sentiment(
    measures: pd.DataFrame, *, voc_scores: pd.DataFrame | None = None, voc_sentiment: pd.DataFrame | None = None
) -> pd.DataFrame:
    """``measures`` (of :func:`measures_over_time`) with its ``voc_sentiment`` column from per-text ``voc_scores``
    at each date, or from ``voc_sentiment`` (the per-account measure of the frame's one date); missing without
    either. Lets a caller compute the other measures once and join each its own VoC input."""
    dates = list(dict.fromkeys(measures["as_of"]))
    if voc_sentiment is not None and len(dates) > 1:
        raise ValueError("voc_sentiment is the measure of one date; give voc_scores for many")
    part = _voc_part(voc_scores, voc_sentiment, dates)
    out = measures.drop(columns="voc_sentiment")
    if part is None:
        out["voc_sentiment"] = np.nan
    else:
        part = part.assign(as_of=np.array(dates, dtype=object)[part["k"].to_numpy()]).drop(columns="k")
        out = out.merge(part, on=["as_of", "account_id"], how="left")
        out["voc_sentiment"] = pd.to_numeric(out["voc_sentiment"], errors="coerce").astype(float)
    return out[["account_id", "as_of", *MEASURE_COLUMNS]]


def account_measures(
    tables: dict[str, Any],
    as_of: dt.date,
    *,
    include_usage: bool = True,
    voc_scores: pd.DataFrame | None = None,
    voc_sentiment: pd.DataFrame | None = None,
    usage_months: Any = None,
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
    usage_months
        The monthly usage rollup, as :func:`measures_over_time` takes it.

    Returns
    -------
    pandas.DataFrame
        One row per account (``account_id``) with the columns of :data:`MEASURE_COLUMNS`: ``active`` (a paid
        subscription in force), ``notice_given`` (a version in force has been cancelled), ``tenure_days`` since the
        first paid start, ``mrr_minor`` (integer minor units of the contract currency), ``mrr_change_90d`` (ratio
        minus 1), ``contract_seats``, ``days_to_renewal``, the usage columns of the KPI layer, ``tickets_90d`` and
        ``severe_tickets_90d`` (priority high or urgent) opened in the last 90 days, ``nps_latest`` (0–10) and
        ``csat_latest`` (1–5) from the newest response within a year, onboarding ``milestones`` / ``progress``
        (0–1) / ``overdue`` (count), ``failed_payments_90d``, ``days_since_csm_touch`` (the newest activity that is
        not a customer's e-mail read in), ``days_since_customer_email`` (days since the account's newest e-mail;
        for one that never wrote, since the company's first e-mail or the account's creation, whichever is later),
        ``email_sentiment`` (mean sentiment, -1..1, of its e-mails of the last 90 days) and ``voc_sentiment``
        (the text layer's recency-weighted polarity; below 0 = unhappy). Missing inputs are NaN; the ticket and
        failed-payment counts are 0 for an account without any, and NaN for everyone at a date before the company's
        first ticket (payment): a company without a ticket system has no ticket data, not zero tickets. Likewise
        the e-mail measures are NaN for everyone before the company's first customer e-mail.
    """
    frame = _measures(
        tables,
        [as_of],
        include_usage=include_usage,
        voc_scores=voc_scores,
        voc_sentiment=voc_sentiment,
        usage_months=usage_months,
    )
    return frame.drop(columns="as_of")
