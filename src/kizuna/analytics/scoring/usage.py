"""The usage measures of many dates at once: :func:`kizuna.analytics.kpi.usage.account_usage` at each date, from
one pass over the events of all their windows.

Each date reads the events of the 60 days before it (two 30-day trend windows). Rather than one query per date, the
events are joined, by their UTC day number, to a small table of (date, window day) pairs, and grouped per date,
account and user: an event counts in every window it falls in (two, for dates 30 days apart), and the distinct
users, active days and logins come from the same grouping as ``account_usage`` (a bit per active day). The last
login before a date is the newest of two: the login events of the date's own month (inside its window) and the
monthly rollups of the months before (``usage_months``), so the history is not scanned again for every date.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

#: the usage measures of an account at a date (columns of :func:`kizuna.analytics.kpi.usage.account_usage`)
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


def usage_over_time(
    tables: dict[str, Any], dates: Sequence[dt.date], dates_table: Any, *, usage_months: Any = None
) -> pd.DataFrame:
    """The usage measures (``USAGE_COLUMNS``) of every account known at each date: ``k`` (the date's index in
    ``dates``), ``account_id`` and the measures, equal to ``account_usage(tables, dates[k])``'s.

    ``dates_table`` is the dates on the backend (``k``, ``as_of``, ``cutoff``); ``usage_months`` the monthly
    rollups (``account_id``, ``month``, ``last_login_at``) of every month before the last date's month, or None
    to compute the months' last logins from the events.
    """
    import ibis
    import pyarrow as pa

    from kizuna.analytics.kpi import usage as u
    from kizuna.analytics.kpi._common import (
        EPOCH,
        MICROS_PER_DAY,
        OPEN_END,
        bit,
        bit_count,
        bit_or,
        epoch_micros,
        instant,
        register_small,
        require,
    )

    events = require(tables, "events", u.EVENT_COLUMNS)
    accounts = require(tables, "accounts", ("id", "created_at"))
    window = 2 * u.TREND_WINDOW_DAYS
    # one row per date and day of its window: (k, the day's number since 1970, its offset 0..59 in the window,
    # the number of the first day of the date's month)
    pairs = [
        (k, (day - EPOCH).days - window + offset, offset, (day.replace(day=1) - EPOCH).days)
        for k, day in enumerate(dates)
        for offset in range(window)
    ]
    columns = list(zip(*pairs, strict=True))
    window_days = register_small(
        tables,
        f"kizuna_window_days_{uuid.uuid4().hex[:16]}",
        pa.table(
            {
                name: pa.array(values, pa.int64())
                for name, values in zip(("k", "window_day", "offset", "month_day"), columns, strict=True)
            }
        ),
    )
    first, last = min(dates), max(dates)
    inside = events.filter(
        events.timestamp >= instant(first - dt.timedelta(days=window)), events.timestamp < instant(last)
    )
    inside = inside.mutate(event_day=(epoch_micros(tables, inside.timestamp) // MICROS_PER_DAY).cast("int64"))
    rows = inside.join(window_days, inside.event_day == window_days.window_day)
    is_login = rows.event_name.isin(list(u.LOGIN_EVENTS))
    in_30 = rows.offset >= u.TREND_WINDOW_DAYS
    stamp = rows.timestamp.type().copy(nullable=True)
    this_month = rows.event_day >= rows.month_day
    # per date, account and user (anonymous events as one null user: they count for the last login only)
    users = rows.group_by(["k", "account_id", "user_id"]).aggregate(
        active_days=bit_or(bit(rows.offset)),
        events_30d=rows.count(where=in_30),
        logins_30d=is_login.cast("int64").sum(where=in_30),
        month_login_at=ibis.ifelse(is_login & this_month, rows.timestamp, ibis.null(stamp)).max(),
    )
    named = users.user_id.notnull()
    last_day = window - 1  # the window's day before the date
    earlier_days = (1 << u.TREND_WINDOW_DAYS) - 1  # bits of the 30 days before the last 30
    per_account = users.group_by(["k", "account_id"]).aggregate(
        dau=(users.active_days >> last_day).cast("int64").sum(where=named),
        wau=((users.active_days >> (last_day - 6)) != 0).cast("int64").sum(where=named),
        mau=((users.active_days >> u.TREND_WINDOW_DAYS) != 0).cast("int64").sum(where=named),
        events_30d=users.events_30d.sum(where=named),
        logins_30d=users.logins_30d.sum(where=named),
        active_user_days_30d=bit_count(users.active_days >> u.TREND_WINDOW_DAYS).sum(where=named),
        active_user_days_prev_30d=bit_count(users.active_days & earlier_days).sum(where=named),
        month_login_at=users.month_login_at.max(),
    )
    recent = rows.filter(in_30, rows.user_id.notnull(), rows.feature.notnull())
    # kept by the backend for the two groupings below: each would scan the events' windows again
    features = recent.select("k", "account_id", "feature").distinct().cache()
    features_used = features.group_by(["k", "account_id"]).aggregate(features_used_30d=features.count())
    available = features.group_by("k").aggregate(features_available=features.feature.nunique())

    subs = require(tables, "subscriptions", ("account_id", "plan_id", "quantity", "status", "start_date", "end_date"))
    plans = require(tables, "plans", ("id", "is_addon")).select(base_plan="id", is_addon="is_addon")
    lines = subs.filter(subs.status != "trial").join(
        dates_table,
        (subs.start_date <= dates_table.as_of) & (subs.end_date.fill_null(ibis.date(OPEN_END)) > dates_table.as_of),
    )
    base = lines.join(plans, lines.plan_id == plans.base_plan)
    base = base.filter(~base.is_addon.fill_null(False))
    seats = base.group_by(["k", "account_id"]).aggregate(seats=base.quantity.sum())
    known = accounts.join(dates_table, accounts.created_at <= dates_table.cutoff)
    out = known.select("k", account_id=known.id).to_pandas()
    for part in (per_account, features_used, seats):
        out = out.merge(part.to_pandas(), on=["k", "account_id"], how="left")
    out = out.merge(available.to_pandas(), on="k", how="left")
    features.release()

    counts = (
        "dau",
        "wau",
        "mau",
        "features_used_30d",
        "events_30d",
        "logins_30d",
        "active_user_days_30d",
        "active_user_days_prev_30d",
        "seats",
        "features_available",
    )
    for name in counts:
        out[name] = out[name].fillna(0).astype(np.int64)
    out["active_users_30d"] = out["mau"]
    out["avg_dau_30d"] = out["active_user_days_30d"].astype(float) / u.TREND_WINDOW_DAYS
    months = usage_months if usage_months is not None else _login_months(tables, last)
    last_login = _last_login(out, dates, months)
    day = np.array(dates, dtype="datetime64[D]")[out["k"].to_numpy()]
    login_day = last_login.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[D]")
    days_since = pd.Series((day - login_day).astype("timedelta64[D]").astype(np.int64), index=out.index)
    out["days_since_last_login"] = days_since.where(last_login.notna())
    out["seat_utilisation"] = _ratio(out["active_users_30d"], out["seats"])
    out["stickiness"] = _ratio(out["avg_dau_30d"], out["mau"])
    out["adoption_breadth"] = _ratio(out["features_used_30d"], out["features_available"])
    out["usage_trend"] = _ratio(out["active_user_days_30d"], out["active_user_days_prev_30d"]) - 1.0
    return out[["k", "account_id", *USAGE_COLUMNS]]


def _ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """``numerator / denominator`` as float, NaN where the denominator is 0 (as the KPI layer's ``_ratio``)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        values = numerator.astype(float).to_numpy() / denominator.astype(float).to_numpy()
    return pd.Series(np.where(denominator.to_numpy() > 0, values, np.nan), index=numerator.index)


def _login_months(tables: dict[str, Any], last: dt.date) -> pd.DataFrame:
    """The last login of every account and month before ``last``'s month, from the events (one query)."""
    import ibis

    from kizuna.analytics.kpi import usage as u
    from kizuna.analytics.kpi._common import add_months, instant, month_list

    events = tables["events"]
    login = events.event_name.isin(list(u.LOGIN_EVENTS))
    logins = events.filter(login, events.timestamp < instant(last.replace(day=1)))
    first = logins.aggregate(first=logins.timestamp.min()).to_pyarrow()["first"][0].as_py()
    months = month_list(first.astimezone(dt.UTC).date(), last)[:-1] if first is not None else []
    if not months:
        return pd.DataFrame({"account_id": [], "month": [], "last_login_at": []})
    parts = [
        logins.filter(logins.timestamp >= instant(month), logins.timestamp < instant(add_months(month, 1)))
        .group_by("account_id")
        .aggregate(month=ibis.literal(month, "date"), last_login_at=logins.timestamp.max())
        for month in months
    ]
    result: pd.DataFrame = ibis.union(*parts).to_pandas()
    return result


def _last_login(out: pd.DataFrame, dates: Sequence[dt.date], usage_months: Any) -> pd.Series:
    """The last login before each row's date (``k``): the newest of its month's logins (``month_login_at``) and of
    the rollup months before that month, walking the dates' months once."""
    months = usage_months.to_pandas() if hasattr(usage_months, "to_pandas") else pd.DataFrame(usage_months)
    months = months[["account_id", "month", "last_login_at"]].dropna(subset=["last_login_at"])
    micros = _micros(months["last_login_at"])
    accounts = pd.Index(pd.unique(out["account_id"]))
    position = accounts.get_indexer(months["account_id"])
    # the month starts at which a date's earlier months end, ascending; a month counts for the starts after it
    starts = np.array(sorted({d.replace(day=1) for d in dates}), dtype="datetime64[D]")
    month = pd.to_datetime(months["month"]).to_numpy().astype("datetime64[D]")
    first_start = np.searchsorted(starts, month, side="right")
    floor = np.iinfo(np.int64).min  # (NaT's integer: no login)
    newest = np.full((len(starts) + 1, len(accounts)), floor, dtype=np.int64)
    keep = position >= 0
    np.maximum.at(newest, (first_start[keep], position[keep]), micros[keep])
    newest = np.maximum.accumulate(newest, axis=0)
    row_start = np.searchsorted(starts, np.array([d.replace(day=1) for d in dates], dtype="datetime64[D]"))
    before = newest[row_start[out["k"].to_numpy()], accounts.get_indexer(out["account_id"])]
    best = np.maximum(before, _micros(out["month_login_at"]))
    stamps_out = best.astype("datetime64[us]")
    stamps_out[best == floor] = np.datetime64("NaT")
    return pd.Series(pd.DatetimeIndex(stamps_out).tz_localize("UTC"), index=out.index)


def _micros(stamps: pd.Series) -> np.ndarray:
    """Microseconds since 1970 of aware timestamps; NaT as the smallest int64."""
    values: np.ndarray = pd.DatetimeIndex(pd.to_datetime(stamps, utc=True)).as_unit("us").asi8
    return values
