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
    EPOCH,
    MICROS_PER_DAY,
    OPEN_END,
    Tables,
    add_months,
    bit,
    bit_count,
    bit_or,
    cutoff,
    days_before,
    epoch_micros,
    instant,
    month_list,
    prepared_key,
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


def prepare(tables: Tables, as_of: dt.date) -> dict[str, object]:
    """Return ``tables`` plus :func:`user_activity` and :func:`account_months` of ``as_of`` materialised once on the
    backend (unless ``tables`` holds them already: the refresh passes them in, the months from its rollups).
    :func:`account_usage` and :func:`monthly_usage` given the result read them. The input mapping is not changed."""
    out = dict(tables)
    if prepared_key("user_activity", as_of) not in out:
        out[prepared_key("user_activity", as_of)] = user_activity(out, as_of).cache()
    if prepared_key("account_months", as_of) not in out:
        out[prepared_key("account_months", as_of)] = account_months(out, as_of).cache()
    return out


def licensed_seats(tables: Tables, as_of: dt.date) -> ir.Table:
    """Seats per account on ``as_of``: the sum of ``quantity`` on base-plan (not add-on), non-trial lines valid then;
    null when a line's seat count is unknown (a blank count is unknown, never one seat).

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
    out = base.group_by("account_id").aggregate(
        seats=base.quantity.sum(), unknown=base.quantity.isnull().cast("int64").sum()
    )
    return out.select("account_id", seats=ibis.ifelse(out.unknown > 0, ibis.null("int64"), out.seats))


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
    users = user_activity(tables, as_of, login_events=login_events)
    last = 2 * TREND_WINDOW_DAYS - 1  # the window's day before as_of
    earlier_days = (1 << TREND_WINDOW_DAYS) - 1  # bits of the 30 days before the last 30
    per_account = users.group_by("account_id").aggregate(
        dau=(users.active_days >> last).cast("int64").sum(),
        wau=((users.active_days >> (last - 6)) != 0).cast("int64").sum(),
        mau=((users.active_days >> TREND_WINDOW_DAYS) != 0).cast("int64").sum(),
        events_30d=users.events_30d.sum(),
        logins_30d=users.logins_30d.sum(),
        active_user_days_30d=bit_count(users.active_days >> TREND_WINDOW_DAYS).sum(),
        active_user_days_prev_30d=bit_count(users.active_days & earlier_days).sum(),
    )
    recent = _window_events(tables, as_of, TREND_WINDOW_DAYS)
    last30 = recent.filter(recent.feature.notnull())
    features = last30.select("account_id", "feature").distinct()
    features_used = features.group_by("account_id").aggregate(features_used_30d=features.count())
    features_available = features.aggregate(features_available=features.feature.nunique())
    months = tables.get(prepared_key("account_months", as_of))
    if months is not None and tuple(login_events) == LOGIN_EVENTS:  # prepared: it knows every last login
        last_login = months.group_by("account_id").aggregate(last_login_at=months.last_login_at.max())
    else:
        logins = events.filter(events.timestamp < end, events.event_name.isin(list(login_events)))
        last_login = logins.group_by("account_id").aggregate(last_login_at=logins.timestamp.max())
    seats = licensed_seats(tables, as_of)

    known = accounts.filter(accounts.created_at <= end).select(account_id=accounts.id)
    out = (
        known.left_join(per_account, "account_id")
        .drop("account_id_right")
        .left_join(features_used, "account_id")
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


def user_activity(tables: Tables, as_of: dt.date, *, login_events: Sequence[str] = LOGIN_EVENTS) -> ir.Table:
    """One row per account and known user active in the 60 days before the cut-off (two trend windows).

    Columns: ``account_id, user_id``, ``active_days`` (bit ``i`` set: active on the window's day ``i``, day 0 being
    ``as_of`` - 60 days, day 59 the day before ``as_of``), ``events_30d``, ``logins_30d`` (in the last 30 days).
    Windows, active user-days and distinct users all come from this one grouping (no distinct counts, the costly
    part on events). :func:`account_usage` and :func:`month_to_date` read it; the refresh materialises it once.
    """
    prepared = tables.get(prepared_key("user_activity", as_of))
    if prepared is not None and tuple(login_events) == LOGIN_EVENTS:
        return prepared
    recent = _window_events(tables, as_of, 2 * TREND_WINDOW_DAYS)
    window_start = (as_of - EPOCH).days - 2 * TREND_WINDOW_DAYS  # day number of the window's first day
    recent = recent.mutate(
        offset=(epoch_micros(tables, recent.timestamp) // MICROS_PER_DAY - window_start).cast("int64"),  # 0..59
        in_30=recent.timestamp >= days_before(as_of, TREND_WINDOW_DAYS),
        is_login=recent.event_name.isin(list(login_events)),
    )
    return recent.group_by(["account_id", "user_id"]).aggregate(
        active_days=bit_or(bit(recent.offset)),
        events_30d=recent.count(where=recent.in_30),
        logins_30d=recent.is_login.cast("int64").sum(where=recent.in_30),
    )


def _window_events(tables: Tables, as_of: dt.date, days: int) -> ir.Table:
    """Events of known users in the ``days`` days before the cut-off (``EVENT_COLUMNS``)."""
    events = require(tables, "events", EVENT_COLUMNS)
    return events.filter(
        events.timestamp < cutoff(as_of), events.timestamp >= days_before(as_of, days), events.user_id.notnull()
    )


def month_to_date(tables: Tables, as_of: dt.date) -> ir.Table:
    """:func:`account_month` rows of ``as_of``'s month, up to the cut-off.

    Equal to ``account_month`` of the events before the cut-off (the tests check it), but its distinct users come
    from :func:`user_activity`, whose 60-day window always holds the month to date: the refresh then groups the
    month's events by user once, not twice.
    """
    events = require(tables, "events", EVENT_COLUMNS)
    month = as_of.replace(day=1)
    inside = events.filter(events.timestamp >= instant(month), events.timestamp < cutoff(as_of))
    totals = inside.group_by("account_id").aggregate(**_totals(inside))
    users = user_activity(tables, as_of)
    first_day = (month - (as_of - dt.timedelta(days=2 * TREND_WINDOW_DAYS))).days  # the month's first window day
    active = users.filter((users.active_days >> first_day) != 0)
    counts = active.group_by("account_id").aggregate(users=active.count().cast("int64"))
    out = totals.left_join(counts, "account_id").drop("account_id_right")
    return out.select(
        "account_id",
        month=ibis.literal(month, "date"),
        users=out.users.fill_null(ibis.literal(0, "int64")),
        events="events",
        logins="logins",
        last_login_at="last_login_at",
    )


def _ratio(numerator: ir.NumericValue, denominator: ir.NumericValue) -> ir.FloatingValue:
    """``numerator / denominator`` as float, null where the denominator is 0 or null."""
    return ibis.ifelse(denominator > 0, numerator.cast("float64") / denominator.cast("float64"), ibis.null("float64"))


def account_months(tables: Tables, as_of: dt.date) -> ir.Table:
    """Product usage per account and calendar month, from the events before the cut-off (one pass over them).

    Columns: ``account_id, month, users`` (distinct known users), ``events`` (every event, anonymous ones too),
    ``logins`` (events named in ``LOGIN_EVENTS``), ``last_login_at`` (null in a month without a login). Rows exist
    for account-months with at least one event. :func:`monthly_usage` and the last login of :func:`account_usage`
    are sums and maxima over it; :func:`prepare` materialises it once per date.
    """
    prepared = tables.get(prepared_key("account_months", as_of))
    if prepared is not None:
        return prepared
    events = require(tables, "events", EVENT_COLUMNS)
    known = events.filter(events.timestamp < cutoff(as_of))
    first = known.aggregate(first=known.timestamp.min()).to_pyarrow()["first"][0].as_py()
    months = month_list(first.astimezone(dt.UTC).date() if first is not None else as_of, as_of)
    return ibis.union(*(account_month(known, month) for month in months[:-1]), month_to_date(tables, as_of))


def account_month(events: ir.Table, month: dt.date) -> ir.Table:
    """:func:`account_months` rows of one calendar month of ``events`` (already cut off where the caller needs).

    Each month is aggregated apart, between literal UTC instants: the range test lets the engine skip the other
    months' event files, and one month's distinct users fit the CPU caches, which one pass grouping every
    account-month at once does not.
    """
    inside = events.filter(events.timestamp >= instant(month), events.timestamp < instant(add_months(month, 1)))
    return (
        inside.group_by("account_id")
        .aggregate(month=ibis.literal(month, "date"), users=inside.user_id.nunique().cast("int64"), **_totals(inside))
        .select("account_id", "month", "users", "events", "logins", "last_login_at")
    )


def _totals(inside: ir.Table) -> dict[str, ir.Value]:
    """A month's per-account aggregates besides its users: ``events`` (anonymous ones too), ``logins``,
    ``last_login_at`` (null without a login)."""
    is_login = inside.event_name.isin(list(LOGIN_EVENTS))
    return {
        "events": inside.count().cast("int64"),
        "logins": is_login.cast("int64").sum().cast("int64"),
        # (not ``max(where=...)``: Ibis would keep the column's NOT NULL, which a month without a login breaks)
        "last_login_at": ibis.ifelse(
            is_login, inside.timestamp, ibis.null(inside.timestamp.type().copy(nullable=True))
        ).max(),
    }


def monthly_usage(tables: Tables, as_of: dt.date) -> ir.Table:
    """Product usage per calendar month (events before the cut-off): ``month, active_users`` (distinct users summed
    over accounts), ``active_accounts`` (accounts with an active user), ``events``, ``logins``; months with events.
    """
    am = account_months(tables, as_of)
    out = am.group_by("month").aggregate(
        active_users=am.users.sum().cast("int64"),
        active_accounts=(am.users > 0).cast("int64").sum().cast("int64"),
        events=am.events.sum().cast("int64"),
        logins=am.logins.sum().cast("int64"),
    )
    return out.order_by("month")


FEATURE_ADOPTION_MONTHS = 6


def feature_adoption(tables: Tables, as_of: dt.date, *, months: int = FEATURE_ADOPTION_MONTHS) -> ir.Table:
    """Feature adoption by month: of the accounts with an event in a calendar month, the share that used each
    feature (an event naming it), for the ``months`` months before ``as_of``'s and its month to date.

    Columns: ``month, feature, accounts`` (that used it), ``active_accounts`` (with any event that month),
    ``adoption`` (= accounts / active_accounts). The users of each feature come from :func:`feature_months`, the
    active accounts from :func:`account_months` (both read from rollups where the refresh prepared them).
    """
    first = add_months(as_of.replace(day=1), -months)
    used = feature_months(tables, as_of, months=months)
    per_feature = used.group_by(["month", "feature"]).aggregate(accounts=used.count().cast("int64"))
    am = account_months(tables, as_of)
    am = am.filter(am.month >= ibis.literal(first, "date"))
    per_month = am.group_by("month").aggregate(active_accounts=am.count().cast("int64"))
    out = per_feature.join(per_month, "month")
    return out.mutate(adoption=_ratio(out.accounts, out.active_accounts)).order_by(["month", "feature"])


def feature_months(tables: Tables, as_of: dt.date, *, months: int = FEATURE_ADOPTION_MONTHS) -> ir.Table:
    """The features each account used per calendar month (events before the cut-off), for the ``months`` months
    before ``as_of``'s and its month to date: distinct ``account_id, month, feature`` (events naming no feature left
    out). The refresh prepares it with the closed months from their rollups (:mod:`kizuna.usage.rollups`)."""
    prepared = tables.get(prepared_key("feature_months", as_of))
    if prepared is not None and months == FEATURE_ADOPTION_MONTHS:
        return prepared
    events = require(tables, "events", EVENT_COLUMNS)
    known = events.filter(events.timestamp < cutoff(as_of))
    return ibis.union(*(feature_month(known, m) for m in month_list(add_months(as_of.replace(day=1), -months), as_of)))


def feature_month(events: ir.Table, month: dt.date) -> ir.Table:
    """:func:`feature_months` rows of one calendar month of ``events`` (already cut off where the caller needs),
    between literal UTC instants as :func:`account_month` does."""
    inside = events.filter(
        events.timestamp >= instant(month), events.timestamp < instant(add_months(month, 1)), events.feature.notnull()
    )
    used = inside.select("account_id", "feature").distinct()
    return used.mutate(month=ibis.literal(month, "date")).select("account_id", "month", "feature")
