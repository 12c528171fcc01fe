"""Product usage per account: active users, seat utilisation, stickiness, feature adoption, logins and trend.

The same definitions feed the KPI pages, health scores and the churn-risk model (point-in-time features at many past
dates), so :func:`account_usage` keeps a stable signature. Definitions: ``docs/metrics.md`` (section "Usage").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import ibis
import ibis.expr.types as ir

from kizuna.analytics.kpi._common import (
    MICROS_PER_DAY,
    OPEN_END,
    Tables,
    add_months,
    cutoff,
    days_before,
    epoch_micros,
    instant,
    month_list,
    require,
)

EVENT_COLUMNS = ("account_id", "user_id", "event_name", "feature", "timestamp")
LOGIN_EVENTS: tuple[str, ...] = ("login",)
TREND_WINDOW_DAYS = 30

USAGE_COLUMNS = (
    "account_id",
    "dau",
    "wau",
    "mau",
    "active_users_30d",
    "avg_dau_30d",
    "seats",
    "seat_utilisation",
    "stickiness",
    "features_used_30d",
    "features_available",
    "adoption_breadth",
    "events_30d",
    "logins_30d",
    "last_login_at",
    "days_since_last_login",
    "active_user_days_30d",
    "active_user_days_prev_30d",
    "usage_trend",
)


def licensed_seats(tables: Tables, as_of: dt.date) -> ir.Table:
    """Seats per account on ``as_of``: the sum of ``quantity`` on base-plan (not add-on), non-trial lines valid then.

    Returns ``account_id, seats`` (accounts without such a line are absent).
    """
    subs = require(tables, "subscriptions", ("account_id", "plan_id", "quantity", "status", "start_date", "end_date"))
    plans = require(tables, "plans", ("id", "is_addon"))
    day = ibis.date(as_of)
    lines = subs.filter(
        subs.status != "trial",
        subs.start_date <= day,
        subs.end_date.fill_null(ibis.date(OPEN_END)) > day,
    )
    base = lines.join(plans, lines.plan_id == plans.id).filter(~plans.is_addon.fill_null(False))
    return base.group_by("account_id").aggregate(seats=base.quantity.sum())


def account_usage(
    tables: Tables,
    as_of: dt.date,
    *,
    login_events: Sequence[str] = LOGIN_EVENTS,
) -> ir.Table:
    """Usage metrics per account as of the start of ``as_of`` (UTC): one row per account known then.

    Parameters
    ----------
    tables
        Hub tables as Ibis tables: ``events`` (``kizuna.usage.store.EVENT_SCHEMA``), ``accounts``,
        ``subscriptions``, ``plans``.
    as_of
        Only events strictly before ``as_of`` 00:00 UTC, accounts created by then and subscription lines valid on
        ``as_of`` are used (point in time).
    login_events
        Event names that count as a login (default ``("login",)``).

    Returns
    -------
    ibis.Table
        Columns ``USAGE_COLUMNS``. Windows end at the cut-off and are half-open: ``dau`` = distinct users in the last
        1 day, ``wau`` 7 days, ``mau`` = ``active_users_30d`` 30 days; ``avg_dau_30d`` = mean over the 30 days of
        the daily distinct users; ``stickiness`` = ``avg_dau_30d / mau``; ``seats`` = licensed seats on base plans;
        ``seat_utilisation`` = ``active_users_30d / seats``; ``adoption_breadth`` = ``features_used_30d /
        features_available`` (features seen in any account's events in the 30 days); ``logins_30d`` = login events;
        ``days_since_last_login`` = whole days from the last login's UTC date to ``as_of`` (null if never);
        ``usage_trend`` = active user-days in the last 30 days / those in the 30 days before - 1 (null if the earlier
        window had none). Ratios are null where the denominator is 0. Execute with ``.to_pandas()``.
    """
    events = require(tables, "events", EVENT_COLUMNS)
    accounts = require(tables, "accounts", ("id", "created_at"))
    end = cutoff(as_of)
    start_30 = days_before(as_of, TREND_WINDOW_DAYS)
    start_60 = days_before(as_of, 2 * TREND_WINDOW_DAYS)

    recent = events.filter(events.timestamp < end, events.timestamp >= start_60, events.user_id.notnull())
    recent = recent.mutate(
        day=epoch_micros(tables, recent.timestamp) // MICROS_PER_DAY,  # the UTC day, as a number
        in_30=recent.timestamp >= start_30,
        in_7=recent.timestamp >= days_before(as_of, 7),
        in_1=recent.timestamp >= days_before(as_of, 1),
        is_login=recent.event_name.isin(list(login_events)),
    )
    last30 = recent.filter(recent.in_30)
    per_account = last30.group_by("account_id").aggregate(
        dau=last30.user_id.nunique(where=last30.in_1),
        wau=last30.user_id.nunique(where=last30.in_7),
        mau=last30.user_id.nunique(),
        features_used_30d=last30.feature.nunique(),
        events_30d=last30.count(),
        logins_30d=last30.is_login.sum(),
    )
    # active user-days: one per (account, user, day); summed per window for the average DAU and the trend
    user_days = recent.group_by(["account_id", "day", "user_id"]).aggregate(in_30=recent.in_30.max())
    days = user_days.group_by("account_id").aggregate(
        active_user_days_30d=user_days.in_30.cast("int64").sum(),
        active_user_days_prev_30d=(~user_days.in_30).cast("int64").sum(),
    )
    features_available = last30.filter(last30.feature.notnull()).aggregate(features_available=last30.feature.nunique())
    logins = events.filter(events.timestamp < end, events.event_name.isin(list(login_events)))
    last_login = logins.group_by("account_id").aggregate(last_login_at=logins.timestamp.max())
    seats = licensed_seats(tables, as_of)

    known = accounts.filter(accounts.created_at <= end).select(account_id=accounts.id)
    out = (
        known.left_join(per_account, "account_id")
        .drop("account_id_right")
        .left_join(days, "account_id")
        .drop("account_id_right")
        .left_join(last_login, "account_id")
        .drop("account_id_right")
        .left_join(seats, "account_id")
        .drop("account_id_right")
        .cross_join(features_available)
    )
    zero = ibis.literal(0, "int64")
    out = out.mutate(
        dau=out.dau.fill_null(zero).cast("int64"),
        wau=out.wau.fill_null(zero).cast("int64"),
        mau=out.mau.fill_null(zero).cast("int64"),
        features_used_30d=out.features_used_30d.fill_null(zero).cast("int64"),
        events_30d=out.events_30d.fill_null(zero).cast("int64"),
        logins_30d=out.logins_30d.fill_null(zero).cast("int64"),
        active_user_days_30d=out.active_user_days_30d.fill_null(zero).cast("int64"),
        active_user_days_prev_30d=out.active_user_days_prev_30d.fill_null(zero).cast("int64"),
        seats=out.seats.fill_null(zero).cast("int64"),
        features_available=out.features_available.cast("int64"),
    )
    out = out.mutate(
        active_users_30d=out.mau,
        avg_dau_30d=out.active_user_days_30d.cast("float64") / TREND_WINDOW_DAYS,
        days_since_last_login=ibis.date(as_of).delta(out.last_login_at.date(), unit="day").cast("int64"),
    )
    out = out.mutate(
        seat_utilisation=_ratio(out.active_users_30d, out.seats),
        stickiness=_ratio(out.avg_dau_30d, out.mau),
        adoption_breadth=_ratio(out.features_used_30d, out.features_available),
        usage_trend=_ratio(out.active_user_days_30d, out.active_user_days_prev_30d) - 1.0,
    )
    return out.select(*USAGE_COLUMNS)


def _ratio(numerator: ir.NumericValue, denominator: ir.NumericValue) -> ir.FloatingValue:
    """``numerator / denominator`` as float, null where the denominator is 0 or null."""
    return ibis.ifelse(denominator > 0, numerator.cast("float64") / denominator.cast("float64"), ibis.null("float64"))


def monthly_usage(tables: Tables, as_of: dt.date) -> ir.Table:
    """Product usage per calendar month (events before the cut-off): ``month, active_users`` (distinct users summed
    over accounts), ``active_accounts`` (accounts with an active user), ``events``, ``logins``.

    Each month is aggregated apart between literal UTC instants and the months are stacked: a plain range test on
    the timestamp lets the engine skip the event files of other months, and turning each timestamp into a month
    (DuckDB converts a time-zone-aware timestamp to a date through ICU) cost 8× more on 48 million events.
    """
    events = require(tables, "events", EVENT_COLUMNS)
    known = events.filter(events.timestamp < cutoff(as_of))
    first = known.aggregate(first=known.timestamp.min()).to_pyarrow()["first"][0].as_py()
    months = month_list(first.astimezone(dt.UTC).date() if first is not None else as_of, as_of)
    parts = [
        _monthly_usage_of(known.filter(known.timestamp >= instant(m), known.timestamp < instant(add_months(m, 1))), m)
        for m in months
    ]
    out = ibis.union(*parts)
    return out.filter(out.events > 0).order_by("month")  # months with events, as a GROUP BY month would give


def _monthly_usage_of(events: ir.Table, month: dt.date) -> ir.Table:
    per_account = events.group_by("account_id").aggregate(
        users=events.user_id.nunique(),
        events=events.count(),
        logins=events.event_name.isin(list(LOGIN_EVENTS)).cast("int64").sum(),
    )
    out = per_account.aggregate(
        active_users=per_account.users.sum().cast("int64"),
        active_accounts=(per_account.users > 0).cast("int64").sum(),
        events=per_account.events.sum().cast("int64"),
        logins=per_account.logins.sum().cast("int64"),
    )
    return out.select(
        month=ibis.date(month), **{c: out[c] for c in ("active_users", "active_accounts", "events", "logins")}
    )
