"""Behavioural churn features from any product's events: one family per event type found in the event store.

No event name is written here: the event types are whatever the store holds (the most frequent
:data:`MAX_EVENT_TYPES`), so a product with ``report_created`` and ``api_call`` gets features of those, the demo gets
``login`` and ``export``. For each event type *e* and sample date *t* (data known at 00:00 UTC of *t*: events strictly
before it), with windows counted in whole UTC days before *t*:

``ev__<e>__n30``          events of *e* in the last 30 days
``ev__<e>__days30``       days with at least one *e* in the last 30 days
``ev__<e>__per_day30``    events of *e* per day the account was active at all (any event) in the last 30 days
``ev__<e>__per_seat30``   events of *e* per contracted seat in the last 30 days
``ev__<e>__trend30``      log((n30 + 1) / (n30 of the 30 days before + 1)): this window against the previous one
``ev__<e>__vs_base``      the 30-day count against the account's own rate over the last 180 days, or over its tenure
                          when younger (tenure-normalised: a young account is held to its own short history)
``ev__<e>__share30``      share of *e* among all events of the last 30 days (the ratio between event types)
``ev__<e>__since``        days since the last *e* (181 when none in the last 180 days)
``ev__<e>__trend90``      log((n90 + 1) / (n90 of the 90 days before + 1)): the quarter against the one before
``ev__<e>__recent7``      log((n7 x 30 / 7 + 1) / (n30 + 1)): the last week against the month's pace
``ev__<e>__ever``         events of *e* in the account's whole history (no look-back limit: set-up actions such as
                          an integration connected in the first weeks keep counting years later)
``ev__<e>__vs_life``      the 30-day count against the account's own 30-day rate over its whole tenure (its own
                          history as the yardstick, however long)

between each two of the :data:`PAIR_TYPES` most frequent event types *a* and *b*:

``ev_pair__<a>__<b>``     log((n30 of a + 1) / (n30 of b + 1)): how the account's use is mixed (reports per dashboard
                          view, exports per report ...), which trees cannot build from the two counts by splitting

and over all event types: ``ev_all__n30``, ``ev_all__trend30``, ``ev_all__days30`` (active days),
``ev_all__breadth30`` (event types used in the last 30 days), ``ev_all__breadth_change`` (against the 30 days
before) and ``ev_all__since``.

The counting is one Ibis query over the events (a daily count per account and event type, joined on the day to
every sample date's 180 look-back days), so it runs unchanged on DuckDB and Spark; the ratios are taken in pandas on
its small result. The queries are given the sampled (account, date) pairs and join them before counting, so a capped
training set (a share of a large book's accounts at each date) counts only those. Given :class:`EventRollups` (the
closed months' counts per account, event type and day, and their totals, which ``kizuna.usage.rollups`` keeps beside
the events), dates on or after the rollups' end read the events of the current month only, with the same results
(today's scoring: no scan of the whole history every day). Which of these columns the model keeps is decided by
their backtested value (:func:`kizuna.analytics.risk.selection.select_features`), never by name.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from kizuna.analytics.kpi._common import EPOCH, MICROS_PER_DAY, epoch_micros, instant, register_small

#: event types given features: the most frequent ones (a tracking plan may hold hundreds of rare names)
MAX_EVENT_TYPES = 30
LOOKBACK_DAYS = 180
WINDOW_DAYS = 30
PREFIX = "ev__"
ALL_PREFIX = "ev_all__"
PAIR_PREFIX = "ev_pair__"
#: the most frequent event types whose 30-day counts are compared pairwise (15 pairs)
PAIR_TYPES = 6
STATS = (
    "n30",
    "days30",
    "per_day30",
    "per_seat30",
    "trend30",
    "vs_base",
    "share30",
    "since",
    "trend90",
    "recent7",
    "ever",
    "vs_life",
)
COUNT_COLUMNS = ("n7", "n30", "n_prev30", "n90", "n180", "days30", "since")
#: up to this many sample dates the lifetime counts bucket each event directly (one comparison per date and event);
#: more dates first count events per day, fewer rows to compare
DIRECT_BUCKET_DATES = 2
ALL_STATS = ("n30", "trend30", "days30", "breadth30", "breadth_change", "since")


@dataclass(frozen=True)
class EventRollups:
    """The events before ``until`` (00:00 UTC of a month's first day) counted per account and event type, so that
    counting as of a date on or after ``until`` reads only the events from ``until`` on.

    ``days``: ``account_id``, ``event_name``, ``day`` (UTC day number since 1970-01-01), ``n`` (int64), one row per
    account, event type and day with an event in ``[days_from, until)``; ``totals``: ``account_id``, ``event_name``,
    ``n``, every event before ``until``. Both Ibis tables on the hub tables' backend.
    """

    until: dt.date
    days_from: dt.date
    days: Any
    totals: Any


def daily_counts(tables: dict[str, Any], start: dt.date, end: dt.date) -> Any:
    """Events per account, event type and UTC day (``account_id``, ``event_name``, ``day``, ``n``) in
    ``[start, end)``: what :class:`EventRollups` holds."""
    events = tables["events"]
    events = events.filter((events.timestamp >= instant(start)) & (events.timestamp < instant(end)))
    day = epoch_micros(tables, events.timestamp) // MICROS_PER_DAY
    return events.group_by(account_id=events.account_id, event_name=events.event_name, day=day).aggregate(
        n=events.count()
    )


def _typed_daily(daily: Any) -> Any:
    return daily.select(
        account_id=daily.account_id.cast("int64"),
        event_name=daily.event_name.cast("string"),
        day=daily.day.cast("int64"),
        n=daily.n.cast("int64"),
    )


def _rolled_daily(
    tables: dict[str, Any], first: dt.date, last: dt.date, types: Sequence[str] | None, rollups: EventRollups | None
) -> Any | None:
    """The daily counts in ``[first, last)``: the rollups' days before their end, the events' from it; None when
    the rollups do not cover ``first`` (the caller counts the events)."""
    import ibis

    if rollups is None or not (rollups.days_from <= first < rollups.until):
        return None
    days = rollups.days
    rolled_end = min(last, rollups.until)
    days = days.filter((days.day >= _day_number(first)) & (days.day < _day_number(rolled_end)))
    if types is not None:
        days = days.filter(days.event_name.isin(list(types)))
    parts = [_typed_daily(days)]
    if rolled_end < last:
        fresh = daily_counts(tables, rolled_end, last)
        if types is not None:
            fresh = fresh.filter(fresh.event_name.isin(list(types)))
        parts.append(_typed_daily(fresh))
    return parts[0] if len(parts) == 1 else ibis.union(*parts)


def _covers_history(rollups: EventRollups | None, first_date: dt.date) -> bool:
    """Whether ``rollups`` end on or before ``first_date`` (their totals are history before every date asked)."""
    return rollups is not None and rollups.until <= first_date


def slug(event_name: str) -> str:
    """A column-safe form of an event name (lower case letters, digits and ``_``): ``"Order Completed"`` ->
    ``order_completed``. LightGBM refuses some characters in feature names; two names of one slug share a family."""
    text = re.sub(r"[^0-9a-zA-Z]+", "_", event_name.strip()).strip("_").lower()
    return text or "unnamed"


def is_behaviour_feature(column: str) -> bool:
    return column.startswith((PREFIX, ALL_PREFIX, PAIR_PREFIX))


def pair_events(column: str) -> tuple[str, str] | None:
    """The two event-type slugs of a pair column (``ev_pair__export_run__report_created``), else None."""
    if not column.startswith(PAIR_PREFIX):
        return None
    a, _, b = column[len(PAIR_PREFIX) :].partition("__")
    return a, b


def behaviour_event(column: str) -> str | None:
    """The event-type slug of a per-type column (``ev__api_call__n30`` -> ``api_call``), None for the all-types ones."""
    if column.startswith(PREFIX):
        return column[len(PREFIX) :].rsplit("__", 1)[0]
    return None


def event_types(
    tables: dict[str, Any],
    *,
    until: dt.date | None = None,
    limit: int = MAX_EVENT_TYPES,
    rollups: EventRollups | None = None,
) -> list[str]:
    """The event types in the store (before ``until`` when given), most frequent first, at most ``limit``;
    ``rollups`` ending on or before ``until``: their totals and the events from their end."""
    import ibis

    events = tables["events"]
    if until is not None:
        events = events.filter(events.timestamp < instant(until))
    if until is not None and _covers_history(rollups, until):
        assert rollups is not None
        events = events.filter(events.timestamp >= instant(rollups.until))
        fresh = events.group_by("event_name").aggregate(n=events.count().cast("int64"))
        totals = rollups.totals
        rolled = totals.group_by("event_name").aggregate(n=totals.n.sum().cast("int64"))
        both = ibis.union(rolled, fresh)
        per_type = both.group_by("event_name").aggregate(n=both.n.sum())
    else:
        per_type = events.group_by("event_name").aggregate(n=events.count())
    counts = per_type.order_by([ibis.desc("n"), "event_name"])
    frame = counts.limit(limit).to_pandas()
    return [str(e) for e in frame["event_name"] if e is not None]


def _day_number(day: dt.date) -> int:
    return (day - EPOCH).days


def _day_spine(tables: dict[str, Any], dates: Sequence[dt.date], days: int, name: str) -> Any:
    """Every (sample date, day of its look-back) pair: ``as_of``, ``day`` (UTC day number) and ``age`` (1 = the day
    before ``as_of`` ... ``days``). Joining the events' daily counts to it on ``day`` is a plain equality join (a
    hash join on both engines), several times faster than a range join on millions of account-days."""
    uniq = sorted(set(dates))
    as_of = [d for d in uniq for _ in range(days)]
    ages = [a for _ in uniq for a in range(1, days + 1)]
    spine = pa.table(
        {
            "as_of": pa.array(as_of, pa.date32()),
            "day": pa.array([_day_number(d) - a for d, a in zip(as_of, ages, strict=True)], pa.int64()),
            "age": pa.array(ages, pa.int64()),
        }
    )
    return register_small(tables, f"kizuna_risk_{name}_{min(uniq):%Y%m%d}_{max(uniq):%Y%m%d}_{len(uniq)}", spine)


def _pairs_table(tables: dict[str, Any], pairs: pd.DataFrame) -> Any:
    """The distinct (``account_id``, ``as_of``) pairs of ``pairs`` as a table on the hub tables' backend."""
    keys = pairs[["account_id", "as_of"]].drop_duplicates()
    data = pa.table(
        {
            "account_id": pa.array(keys["account_id"].to_numpy(dtype="int64"), pa.int64()),
            "as_of": pa.array(list(pd.to_datetime(keys["as_of"]).dt.date), pa.date32()),
        }
    )
    return register_small(tables, "kizuna_risk_pairs", data)


def _only_pairs(tables: dict[str, Any], joined: Any, pairs: pd.DataFrame | None) -> Any:
    """``joined`` (rows with ``account_id`` and ``as_of``) kept to ``pairs`` when given: an equality join on both."""
    if pairs is None:
        return joined
    return joined.join(_pairs_table(tables, pairs), ["account_id", "as_of"])


def event_counts(
    tables: dict[str, Any],
    dates: Sequence[dt.date],
    *,
    types: Sequence[str] | None = None,
    pairs: pd.DataFrame | None = None,
    rollups: EventRollups | None = None,
) -> pd.DataFrame:
    """Per account, sample date and event type: counts and active days in the look-back windows (one Ibis query).

    Returns ``account_id``, ``as_of`` (date), ``event_name``, ``n7``, ``n30``, ``n_prev30``, ``n90``, ``n180``,
    ``days30`` and ``since`` (days since the last event of the type within :data:`LOOKBACK_DAYS`); only the
    combinations with an event. ``pairs`` (``account_id``, ``as_of``): only these accounts at these dates are
    counted (the rows of the whole count that match them, each the same). ``rollups``: the days they hold are read
    from them (the same counts).
    """
    import ibis

    if not dates or (pairs is not None and pairs.empty):
        return pd.DataFrame(columns=["account_id", "as_of", "event_name", *COUNT_COLUMNS])
    last = max(dates)
    first = min(dates) - dt.timedelta(days=LOOKBACK_DAYS)
    daily = _rolled_daily(tables, first, last, types, rollups)
    if daily is None:
        events = tables["events"]
        events = events.filter((events.timestamp < instant(last)) & (events.timestamp >= instant(first)))
        if types is not None:
            events = events.filter(events.event_name.isin(list(types)))
        day = epoch_micros(tables, events.timestamp) // MICROS_PER_DAY
        daily = events.group_by(account_id=events.account_id, event_name=events.event_name, day=day).aggregate(
            n=events.count()
        )
    spine_t = _day_spine(tables, dates, LOOKBACK_DAYS, "counts")
    joined = _only_pairs(tables, daily.join(spine_t, daily.day == spine_t.day), pairs)
    age = joined.age
    recent = age <= WINDOW_DAYS
    previous = (age > WINDOW_DAYS) & (age <= 2 * WINDOW_DAYS)
    zero = ibis.literal(0, "int64")
    agg = joined.group_by("account_id", "as_of", "event_name").aggregate(
        n7=ibis.ifelse(age <= 7, joined.n, zero).sum(),
        n30=ibis.ifelse(recent, joined.n, zero).sum(),
        n_prev30=ibis.ifelse(previous, joined.n, zero).sum(),
        n90=ibis.ifelse(age <= 3 * WINDOW_DAYS, joined.n, zero).sum(),
        n180=joined.n.sum(),
        days30=ibis.ifelse(recent, 1, 0).cast("int64").sum(),
        since=age.min(),
    )
    out = agg.to_pandas()
    out["as_of"] = pd.to_datetime(out["as_of"]).dt.date
    for col in COUNT_COLUMNS:
        out[col] = out[col].astype("int64")
    return out.sort_values(["account_id", "as_of", "event_name"]).reset_index(drop=True)


def active_days(
    tables: dict[str, Any],
    dates: Sequence[dt.date],
    *,
    pairs: pd.DataFrame | None = None,
    rollups: EventRollups | None = None,
) -> pd.DataFrame:
    """Per account and sample date: days with any event in the last 30 days (``days30``) and in the 30 before;
    ``pairs`` and ``rollups`` as in :func:`event_counts`."""
    import ibis

    if not dates or (pairs is not None and pairs.empty):
        return pd.DataFrame(columns=["account_id", "as_of", "days30", "days_prev30"])
    last = max(dates)
    first = min(dates) - dt.timedelta(days=2 * WINDOW_DAYS)
    per_type = _rolled_daily(tables, first, last, None, rollups)
    if per_type is not None:  # the days of any event type: one row per account and day, as from the events
        daily = per_type.group_by("account_id", "day").aggregate(n=per_type.n.sum())
    else:
        events = tables["events"]
        events = events.filter((events.timestamp < instant(last)) & (events.timestamp >= instant(first)))
        day = epoch_micros(tables, events.timestamp) // MICROS_PER_DAY
        daily = events.group_by(account_id=events.account_id, day=day).aggregate(n=events.count())
    spine_t = _day_spine(tables, dates, 2 * WINDOW_DAYS, "days")
    joined = _only_pairs(tables, daily.join(spine_t, daily.day == spine_t.day), pairs)
    age = joined.age
    agg = joined.group_by("account_id", "as_of").aggregate(
        days30=ibis.ifelse(age <= WINDOW_DAYS, 1, 0).cast("int64").sum(),
        days_prev30=ibis.ifelse(age > WINDOW_DAYS, 1, 0).cast("int64").sum(),
    )
    out = agg.to_pandas()
    out["as_of"] = pd.to_datetime(out["as_of"]).dt.date
    return out.sort_values(["account_id", "as_of"]).reset_index(drop=True)


def lifetime_counts(
    tables: dict[str, Any],
    dates: Sequence[dt.date],
    *,
    types: Sequence[str] | None = None,
    pairs: pd.DataFrame | None = None,
    rollups: EventRollups | None = None,
) -> pd.DataFrame:
    """Per account, sample date and event type: the events of the type in the account's whole history before the
    date (``n_ever``), with no look-back limit (an integration connected two years ago still holds the account).

    One Ibis query: each daily count is put in the bucket of the sample dates it precedes (a sum of comparisons
    with the dates, no join), then summed per bucket; the running totals are taken in pandas on that small result.
    Returns ``account_id``, ``as_of`` (date), ``event_name``, ``n_ever``; only the combinations with an event.
    ``pairs`` (``account_id``, ``as_of``): only these accounts at these dates (the running totals are read at them
    rather than spread over every account and date). ``rollups`` ending on or before the first date: their totals
    stand for the history before their end (all of it counts for every date), the events are read from it on.
    """
    import ibis

    columns = ["account_id", "as_of", "event_name", "n_ever"]
    if not dates or (pairs is not None and pairs.empty):
        return pd.DataFrame(columns=columns)
    uniq = sorted(set(dates))
    events = tables["events"]
    events = events.filter(events.timestamp < instant(uniq[-1]))
    rolled = None
    if _covers_history(rollups, uniq[0]):
        assert rollups is not None
        events = events.filter(events.timestamp >= instant(rollups.until))
        totals = rollups.totals
        if types is not None:
            totals = totals.filter(totals.event_name.isin(list(types)))
        # before every date: bucket 0
        rolled = totals.group_by("account_id", "event_name").aggregate(n=totals.n.sum().cast("int64")).to_pandas()
        rolled = rolled.assign(bucket=0)[["account_id", "event_name", "bucket", "n"]]
    if types is not None:
        events = events.filter(events.event_name.isin(list(types)))
    day = epoch_micros(tables, events.timestamp) // MICROS_PER_DAY
    # bucket j holds the days in [date j-1, date j): they count for every sample date from j on
    one, zero = ibis.literal(1, "int64"), ibis.literal(0, "int64")
    if len(uniq) <= DIRECT_BUCKET_DATES:
        # a few dates (today's scoring): each event's bucket at once, with no daily counts of the whole history;
        # of one date, every event kept lies before it (bucket 0) and no event's day is needed
        bucket = zero if len(uniq) == 1 else sum((ibis.ifelse(day >= _day_number(d), one, zero) for d in uniq), zero)
        grouped = events.group_by(account_id=events.account_id, event_name=events.event_name, bucket=bucket)
        per_bucket = grouped.aggregate(n=events.count()).to_pandas()
    else:
        daily = events.group_by(account_id=events.account_id, event_name=events.event_name, day=day).aggregate(
            n=events.count()
        )
        bucket = sum((ibis.ifelse(daily.day >= _day_number(d), one, zero) for d in uniq), zero)
        per_bucket = daily.group_by("account_id", "event_name", bucket=bucket).aggregate(n=daily.n.sum()).to_pandas()
    if rolled is not None and not rolled.empty:
        per_bucket = pd.concat([per_bucket.astype({"bucket": "int64", "n": "int64"}), rolled], ignore_index=True)
    if per_bucket.empty:
        return pd.DataFrame(columns=columns)
    wide = per_bucket.pivot_table(
        index=["account_id", "event_name"], columns="bucket", values="n", aggfunc="sum", fill_value=0
    )
    wide = wide.reindex(columns=range(len(uniq)), fill_value=0)  # bucket len(uniq) lies after the last date
    running = wide.cumsum(axis=1)
    if pairs is None:
        running.columns = uniq
        out = running.stack().rename("n_ever").reset_index()
        out.columns = ["account_id", "event_name", "as_of", "n_ever"]
        out = out[columns]
    else:
        # each (account, event type) row read at its account's sampled dates only
        column_of = {d: j for j, d in enumerate(uniq)}
        wanted = pairs[["account_id", "as_of"]].drop_duplicates()
        wanted = wanted.assign(as_of=pd.to_datetime(wanted["as_of"]).dt.date)
        wanted = wanted[wanted["as_of"].isin(column_of)]
        rows = running.index.to_frame(index=False).reset_index(names="row")
        hits = rows.merge(wanted, on="account_id", how="inner")
        values = running.to_numpy()[hits["row"].to_numpy(), hits["as_of"].map(column_of).to_numpy(dtype="int64")]
        out = hits[["account_id", "as_of", "event_name"]].assign(n_ever=values)
    out = out[out["n_ever"] > 0]
    out["n_ever"] = out["n_ever"].astype("int64")
    return out.sort_values(["account_id", "as_of", "event_name"]).reset_index(drop=True)


def behaviour_features(
    tables: dict[str, Any],
    samples: pd.DataFrame,
    *,
    types: Sequence[str] | None = None,
    rollups: EventRollups | None = None,
) -> pd.DataFrame:
    """``samples`` (``account_id``, ``as_of``, and ``contract_seats`` / ``tenure_days`` when known) with the
    behaviour columns of the module docstring added.

    ``types`` fixes the event types (a fitted model passes its own so that scoring builds the same columns);
    default: :func:`event_types` of the store up to the last sample date. A type with no event for an account in
    the look-back gives 0 counts and ``since`` = :data:`LOOKBACK_DAYS` + 1, never a missing value: absence of use
    is the signal. ``rollups`` (:class:`EventRollups`): the counts they hold are read from them, with the same
    values (today's scoring reads the events of the current month only).
    """
    out = samples.copy()
    if out.empty:
        return out
    out["as_of"] = pd.to_datetime(out["as_of"]).dt.date
    dates = sorted(set(out["as_of"]))
    if types is None:
        types = event_types(tables, until=max(dates), rollups=rollups)
    types = list(types)
    keys = out[["account_id", "as_of"]].drop_duplicates().reset_index(drop=True)
    # only the samples' own (account, date) pairs are counted: a capped training set is a share of them
    if types:
        counts = event_counts(tables, dates, types=types, pairs=keys, rollups=rollups)
        ever = lifetime_counts(tables, dates, types=types, pairs=keys, rollups=rollups)
    else:
        counts, ever = event_counts(tables, [], types=[]), lifetime_counts(tables, [])
    days = active_days(tables, dates, pairs=keys, rollups=rollups)
    base = keys.merge(days, on=["account_id", "as_of"], how="left")
    all_days30 = base["days30"].fillna(0).to_numpy(dtype=float)
    seats = np.ones(len(keys))
    tenure = np.full(len(keys), float(LOOKBACK_DAYS))
    if "contract_seats" in out.columns:
        seat_frame = keys.merge(out[["account_id", "as_of", "contract_seats"]], on=["account_id", "as_of"], how="left")
        seats = pd.to_numeric(seat_frame["contract_seats"], errors="coerce").to_numpy(dtype=float)
        seats = np.where(np.isfinite(seats) & (seats > 0), seats, np.nan)
    if "tenure_days" in out.columns:
        ten = keys.merge(out[["account_id", "as_of", "tenure_days"]], on=["account_id", "as_of"], how="left")
        tenure = pd.to_numeric(ten["tenure_days"], errors="coerce").to_numpy(dtype=float)
        tenure = np.where(np.isfinite(tenure) & (tenure > 0), tenure, float(LOOKBACK_DAYS))
    base_days = np.clip(tenure, WINDOW_DAYS, LOOKBACK_DAYS)
    tenure_life = tenure.copy()
    columns: dict[str, np.ndarray[Any, Any]] = {}
    total30 = np.zeros(len(keys))
    total_prev = np.zeros(len(keys))
    breadth = np.zeros(len(keys))
    breadth_prev = np.zeros(len(keys))
    since_any = np.full(len(keys), float(LOOKBACK_DAYS + 1))
    per_type: dict[str, dict[str, np.ndarray[Any, Any]]] = {}
    for name in types:
        part = counts[counts["event_name"] == name]
        m = keys.merge(part, on=["account_id", "as_of"], how="left")
        n30 = m["n30"].fillna(0).to_numpy(dtype=float)
        prev = m["n_prev30"].fillna(0).to_numpy(dtype=float)
        n180 = m["n180"].fillna(0).to_numpy(dtype=float)
        n7 = m["n7"].fillna(0).to_numpy(dtype=float)
        n90 = m["n90"].fillna(0).to_numpy(dtype=float)
        since = m["since"].fillna(LOOKBACK_DAYS + 1).to_numpy(dtype=float)
        life = keys.merge(ever[ever["event_name"] == name], on=["account_id", "as_of"], how="left")
        n_ever = life["n_ever"].fillna(0).to_numpy(dtype=float)
        key = slug(name)
        if key in per_type:  # two names of one slug: one family
            got = per_type[key]
            got["n30"] += n30
            got["prev"] += prev
            got["n180"] += n180
            got["n7"] += n7
            got["n90"] += n90
            got["ever"] += n_ever
            got["days30"] = np.maximum(got["days30"], m["days30"].fillna(0).to_numpy(dtype=float))
            got["since"] = np.minimum(got["since"], since)
        else:
            per_type[key] = {
                "n30": n30,
                "prev": prev,
                "n180": n180,
                "n7": n7,
                "n90": n90,
                "ever": n_ever,
                "days30": m["days30"].fillna(0).to_numpy(dtype=float),
                "since": since,
            }
    for v in per_type.values():
        total30 += v["n30"]
        total_prev += v["prev"]
        breadth += v["n30"] > 0
        breadth_prev += v["prev"] > 0
        since_any = np.minimum(since_any, v["since"])
    with np.errstate(divide="ignore", invalid="ignore"):
        for key, v in per_type.items():
            p = f"{PREFIX}{key}__"
            columns[p + "n30"] = v["n30"]
            columns[p + "days30"] = v["days30"]
            columns[p + "per_day30"] = np.where(all_days30 > 0, v["n30"] / np.maximum(all_days30, 1), 0.0)
            columns[p + "per_seat30"] = v["n30"] / seats
            columns[p + "trend30"] = np.log((v["n30"] + 1.0) / (v["prev"] + 1.0))
            window_rate = v["n180"] * WINDOW_DAYS / base_days
            columns[p + "vs_base"] = np.log((v["n30"] + 1.0) / (window_rate + 1.0))
            columns[p + "share30"] = np.where(total30 > 0, v["n30"] / np.maximum(total30, 1), np.nan)
            columns[p + "since"] = v["since"]
            columns[p + "trend90"] = np.log((v["n90"] + 1.0) / (v["n180"] - v["n90"] + 1.0))
            columns[p + "recent7"] = np.log((v["n7"] * WINDOW_DAYS / 7 + 1.0) / (v["n30"] + 1.0))
            columns[p + "ever"] = v["ever"]
            life_rate = v["ever"] * WINDOW_DAYS / np.maximum(tenure_life, WINDOW_DAYS)
            columns[p + "vs_life"] = np.log((v["n30"] + 1.0) / (life_rate + 1.0))
    keys_by_volume = list(per_type)[:PAIR_TYPES]  # ``types`` come most frequent first
    for i, a in enumerate(keys_by_volume):
        for b in keys_by_volume[i + 1 :]:
            columns[f"{PAIR_PREFIX}{a}__{b}"] = np.log((per_type[a]["n30"] + 1.0) / (per_type[b]["n30"] + 1.0))
    columns[ALL_PREFIX + "n30"] = total30
    columns[ALL_PREFIX + "trend30"] = np.log((total30 + 1.0) / (total_prev + 1.0))
    columns[ALL_PREFIX + "days30"] = all_days30
    columns[ALL_PREFIX + "breadth30"] = breadth
    columns[ALL_PREFIX + "breadth_change"] = breadth - breadth_prev
    columns[ALL_PREFIX + "since"] = since_any
    wide = pd.concat([keys, pd.DataFrame(columns, index=keys.index)], axis=1)
    out = out.drop(columns=[c for c in out.columns if is_behaviour_feature(c)])
    merged = out.merge(wide, on=["account_id", "as_of"], how="left")
    merged.index = out.index
    return merged
