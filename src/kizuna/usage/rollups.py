"""Monthly usage rollups: each closed month's usage per account, kept next to the events it was computed from.

The KPI refresh needs usage per account and month over the whole history (the monthly usage series and every
account's last login). Counting distinct users month by month is the costliest part of a refresh, yet a month that
has ended rarely changes. So each closed month's rows of
:func:`kizuna.analytics.kpi.usage.account_month` are stored as one Parquet file::

    events/_rollups/account_months/month=2026-01.parquet

with a fingerprint of that month's event files (names, sizes, modification times) and of the definition in the
file's metadata. A refresh reuses a month whose fingerprint still matches and computes again any month whose event
files were added, replaced or removed since (an import of old events, a re-sent tracking batch). The month holding
the refresh's cut-off is always computed from the events (it is not closed, and only events before the cut-off
count). The rollups are a cache: deleting the folder changes no result, only the time of the next refresh.

The churn-risk scoring keeps rollups of its own beside them (:func:`event_rollups`): each closed month's events per
account, event type and day (``_rollups/event_days/``) and per account and event type (``_rollups/event_months/``),
so that today's behaviour features read the current month's events only; and the KPI step's feature adoption keeps
each closed month's features used per account (:func:`feature_months`, ``_rollups/feature_months/``).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import logging
import os
import uuid
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from kizuna.usage.store import EventStore

log = logging.getLogger(__name__)

#: bump when the definition of :func:`kizuna.analytics.kpi.usage.account_month` changes: every rollup is rebuilt
ROLLUP_VERSION = 1
_FINGERPRINT_KEY = b"kizuna.fingerprint"
#: the columns of :func:`kizuna.analytics.kpi.usage.account_months`, as stored
ROLLUP_SCHEMA = pa.schema(
    [
        pa.field("account_id", pa.int64()),
        pa.field("month", pa.date32()),
        pa.field("users", pa.int64()),
        pa.field("events", pa.int64()),
        pa.field("logins", pa.int64()),
        pa.field("last_login_at", pa.timestamp("us", tz="UTC")),
    ]
)


def rollup_dir(store: EventStore) -> Path:
    return store.root / "_rollups" / "account_months"


def _rollup_path(store: EventStore, month: dt.date) -> Path:
    return rollup_dir(store) / f"month={month:%Y-%m}.parquet"


def month_fingerprint(store: EventStore, month: dt.date) -> str:
    """A digest of the event files of ``month`` and of the rollup definition (changes when any file does)."""
    from kizuna.analytics.kpi.usage import LOGIN_EVENTS

    return _month_digest(store, month, ROLLUP_VERSION, list(LOGIN_EVENTS))


def _month_digest(store: EventStore, month: dt.date, *definition: object) -> str:
    """A digest of a rollup's ``definition`` and of the event files of ``month`` (names, sizes, modification times):
    it changes when either does."""
    listing = [(p.name, (s := p.stat()).st_size, s.st_mtime_ns) for p in store.month_files(month)]
    return hashlib.sha256(json.dumps([*definition, listing]).encode()).hexdigest()


def account_months(tables: dict[str, Any], store: EventStore, as_of: dt.date) -> Any:
    """:func:`kizuna.analytics.kpi.usage.account_months` of ``as_of`` as a table on the hub tables' backend, with
    every closed month read from (or written to) its rollup file.

    Equal to the KPI function's own result (the tests check it); the months are those of the event files.
    """
    from kizuna.analytics.engine import register_tables
    from kizuna.analytics.kpi._common import backend, cutoff, month_start
    from kizuna.analytics.kpi.usage import account_month, month_to_date

    events = tables["events"]
    known = events.filter(events.timestamp < cutoff(as_of))
    current = month_start(as_of)
    closed = _closed_months(store, as_of)
    fingerprints = {m: month_fingerprint(store, m) for m in closed}
    stored = {m: _read_rollup(store, m, fingerprints[m]) for m in closed}
    missing = [m for m in closed if stored[m] is None]
    # the current month holds the cut-off: computed every time, never stored; missing months in the same query
    parts = [*(account_month(known, m) for m in missing), month_to_date(tables, as_of)]
    fresh = ibis.union(*parts).to_pyarrow().cast(ROLLUP_SCHEMA)
    for month in missing:
        stored[month] = fresh.filter(pc.equal(fresh["month"], pa.scalar(month, pa.date32())))
        _write_rollup(store, month, fingerprints[month], stored[month])
    now = fresh.filter(pc.equal(fresh["month"], pa.scalar(current, pa.date32())))
    table = pa.concat_tables([*(stored[m] for m in closed), now])
    log.info("usage rollups as of %s: %d months reused, %d computed", as_of, len(closed) - len(missing), len(missing))
    name = f"kizuna_account_months_{as_of:%Y%m%d}"
    return register_tables(backend(tables), {name: table})[name]


def closed_account_months(tables: dict[str, Any], store: EventStore, as_of: dt.date) -> pa.Table:
    """The rollups of every closed month before ``as_of``'s (``ROLLUP_SCHEMA``), read from their files; a month
    whose file is missing or stale is computed from the events (all such months in one query) and stored.

    What the health and churn-risk steps read for the last login before each past date.
    """
    from kizuna.analytics.kpi._common import cutoff
    from kizuna.analytics.kpi.usage import account_month

    events = tables["events"]
    known = events.filter(events.timestamp < cutoff(as_of))
    closed = _closed_months(store, as_of)
    fingerprints = {m: month_fingerprint(store, m) for m in closed}
    stored = {m: _read_rollup(store, m, fingerprints[m]) for m in closed}
    missing = [m for m in closed if stored[m] is None]
    if missing:
        fresh = ibis.union(*(account_month(known, m) for m in missing)).to_pyarrow().cast(ROLLUP_SCHEMA)
        for month in missing:
            stored[month] = fresh.filter(pc.equal(fresh["month"], pa.scalar(month, pa.date32())))
            _write_rollup(store, month, fingerprints[month], stored[month])
    log.info(
        "closed usage rollups before %s: %d months read, %d computed", as_of, len(closed) - len(missing), len(missing)
    )
    tables_read = [t for t in (stored[m] for m in closed) if t is not None]
    return pa.concat_tables(tables_read) if tables_read else ROLLUP_SCHEMA.empty_table()


def stale_months(store: EventStore, as_of: dt.date) -> list[dt.date]:
    """The closed months (before ``as_of``'s) whose rollup is missing or out of date: :func:`account_months` computes
    them from the events (all of them on a data directory's first refresh)."""
    return [m for m in _closed_months(store, as_of) if _stored_fingerprint(store, m) != month_fingerprint(store, m)]


def _closed_months(store: EventStore, as_of: dt.date) -> list[dt.date]:
    """The months of the event files that ended before ``as_of``'s month (every event of them counts)."""
    from kizuna.analytics.kpi._common import month_start

    return [m for m in store.months() if m < month_start(as_of)]


def _stored_fingerprint(store: EventStore, month: dt.date) -> str | None:
    return _fingerprint_of(_rollup_path(store, month))


def _read_rollup(store: EventStore, month: dt.date, fingerprint: str) -> pa.Table | None:
    if _stored_fingerprint(store, month) != fingerprint:
        return None
    return pq.read_table(_rollup_path(store, month))


def _write_rollup(store: EventStore, month: dt.date, fingerprint: str, table: pa.Table) -> None:
    _write_file(_rollup_path(store, month), fingerprint, table)


@functools.lru_cache(maxsize=48)
def _month_index(path: Path, mtime_ns: int) -> tuple[Any, Any]:
    """A month's rollup sorted by account (ids, and users/events/logins in that order), read once per file version:
    a report reads one account's row of many months, and re-reading a 50,000-row file for it costs ~20 ms a month."""
    import numpy as np

    table = pq.read_table(path, columns=["account_id", "users", "events", "logins"])
    ids = table["account_id"].to_numpy()
    order = np.argsort(ids, kind="stable")
    values = np.column_stack([table[c].to_numpy()[order] for c in ("users", "events", "logins")])
    return ids[order], values


def account_history(store: EventStore, account_id: int, *, since: dt.date | None = None) -> list[dict[str, Any]]:
    """One account's usage per closed month as the last refresh stored it (``month``, ``users``, ``events``,
    ``logins``), oldest first, from ``since``'s month on; months the refresh has not rolled up yet are left out, and
    a month with no event of the account counts zero.

    For pages and reports that show an account's trend: no event scan; each month file is indexed once per process.
    """
    import numpy as np

    rows: list[dict[str, Any]] = []
    start = None if since is None else since.replace(day=1)
    for path in sorted(rollup_dir(store).glob("month=*.parquet")):
        month = dt.date.fromisoformat(path.stem.removeprefix("month=") + "-01")
        if start is not None and month < start:
            continue
        try:
            ids, values = _month_index(path, path.stat().st_mtime_ns)
        except (FileNotFoundError, pa.ArrowInvalid, OSError):
            continue  # being replaced by a refresh: the trend misses a month rather than the report failing
        at = int(np.searchsorted(ids, account_id))
        found = at < len(ids) and int(ids[at]) == account_id
        users, events, logins = (int(v) for v in values[at]) if found else (0, 0, 0)
        rows.append({"month": month, "users": users, "events": events, "logins": logins})
    return rows


#: bump when :func:`kizuna.analytics.risk.behaviour.daily_counts` changes: every event-type rollup is rebuilt
EVENT_ROLLUP_VERSION = 1
#: a closed month's events per account, event type and UTC day (day number since 1970-01-01)
EVENT_DAYS_SCHEMA = pa.schema(
    [
        pa.field("account_id", pa.int64()),
        pa.field("event_name", pa.string()),
        pa.field("day", pa.int64()),
        pa.field("n", pa.int64()),
    ]
)
#: a closed month's events per account and event type
EVENT_TOTALS_SCHEMA = pa.schema(
    [pa.field("account_id", pa.int64()), pa.field("event_name", pa.string()), pa.field("n", pa.int64())]
)


def event_rollup_dirs(store: EventStore) -> tuple[Path, Path]:
    """The folders of the event-type rollups: per day, and per month (totals)."""
    return store.root / "_rollups" / "event_days", store.root / "_rollups" / "event_months"


def event_fingerprint(store: EventStore, month: dt.date) -> str:
    """A digest of the event files of ``month`` and of the event-type rollups' definition."""
    return _month_digest(store, month, "event_types", EVENT_ROLLUP_VERSION)


def event_rollups(tables: dict[str, Any], store: EventStore, as_of: dt.date, *, days_from: dt.date) -> Any:
    """:class:`kizuna.analytics.risk.behaviour.EventRollups` of every closed month before ``as_of``'s: the daily
    counts of the months from ``days_from``'s on and the totals of all of them, registered on the hub tables'
    backend. Each closed month is read from its two files (``event_days/`` and ``event_months/`` under
    ``_rollups``) or, when they are missing or stale, counted from its events (a month at a time) and stored.

    The churn-risk scoring of ``as_of`` then reads the events of ``as_of``'s month only.
    """
    from kizuna.analytics.engine import register_tables
    from kizuna.analytics.kpi._common import add_months, backend, month_start
    from kizuna.analytics.risk.behaviour import EventRollups, daily_counts

    until = month_start(as_of)
    first_daily = month_start(days_from)
    days_dir, months_dir = event_rollup_dirs(store)
    closed = _closed_months(store, as_of)
    days_parts: list[pa.Table] = []
    totals_parts: list[pa.Table] = []
    computed = 0
    for month in closed:
        fingerprint = event_fingerprint(store, month)
        days_path, totals_path = (d / f"month={month:%Y-%m}.parquet" for d in (days_dir, months_dir))
        fresh = _fingerprint_of(days_path) == fingerprint and _fingerprint_of(totals_path) == fingerprint
        if fresh:
            if month >= first_daily:
                days_parts.append(pq.read_table(days_path))
            totals_parts.append(pq.read_table(totals_path))
            continue
        daily = daily_counts(tables, month, add_months(month, 1))
        days = daily.to_pyarrow().select(EVENT_DAYS_SCHEMA.names).cast(EVENT_DAYS_SCHEMA)
        totals = (
            days.group_by(["account_id", "event_name"])
            .aggregate([("n", "sum")])
            .rename_columns(["account_id", "event_name", "n"])
            .select(EVENT_TOTALS_SCHEMA.names)
            .cast(EVENT_TOTALS_SCHEMA)
        )
        _write_file(days_path, fingerprint, days)
        _write_file(totals_path, fingerprint, totals)
        computed += 1
        if month >= first_daily:
            days_parts.append(days)
        totals_parts.append(totals)
    log.info("event-type rollups before %s: %d months read, %d computed", until, len(closed) - computed, computed)
    days_all = pa.concat_tables([EVENT_DAYS_SCHEMA.empty_table(), *(t.cast(EVENT_DAYS_SCHEMA) for t in days_parts)])
    totals_all = pa.concat_tables(
        [EVENT_TOTALS_SCHEMA.empty_table(), *(t.cast(EVENT_TOTALS_SCHEMA) for t in totals_parts)]
    )
    name = f"kizuna_event_rollups_{as_of:%Y%m%d}"
    registered = register_tables(backend(tables), {f"{name}_days": days_all, f"{name}_totals": totals_all})
    return EventRollups(
        until=until, days_from=first_daily, days=registered[f"{name}_days"], totals=registered[f"{name}_totals"]
    )


#: bump when :func:`kizuna.analytics.kpi.usage.feature_month` changes: every feature rollup is rebuilt
FEATURE_ROLLUP_VERSION = 1
#: a closed month's features used per account (the rows of :func:`kizuna.analytics.kpi.usage.feature_months`)
FEATURE_MONTHS_SCHEMA = pa.schema(
    [pa.field("account_id", pa.int64()), pa.field("month", pa.date32()), pa.field("feature", pa.string())]
)


def feature_rollup_dir(store: EventStore) -> Path:
    return store.root / "_rollups" / "feature_months"


def feature_months(tables: dict[str, Any], store: EventStore, as_of: dt.date) -> Any:
    """:func:`kizuna.analytics.kpi.usage.feature_months` of ``as_of`` as a table on the hub tables' backend, each
    closed month read from (or, missing or stale, computed and written to) its file under ``_rollups/feature_months``,
    the month holding the cut-off computed from the events every time.

    Feature adoption then reads the events of ``as_of``'s month only (six months of them before: 3.5 s of a refresh
    of the 50,000-account demo).
    """
    from kizuna.analytics.engine import register_tables
    from kizuna.analytics.kpi._common import add_months, backend, cutoff, month_start
    from kizuna.analytics.kpi.usage import FEATURE_ADOPTION_MONTHS, feature_month

    events = tables["events"]
    known = events.filter(events.timestamp < cutoff(as_of))
    current = month_start(as_of)
    first = add_months(current, -FEATURE_ADOPTION_MONTHS)
    closed = [m for m in _closed_months(store, as_of) if m >= first]
    stored = {
        m: pq.read_table(_feature_path(store, m))
        for m in closed
        if _fingerprint_of(_feature_path(store, m)) == _feature_fingerprint(store, m)
    }
    missing = [m for m in closed if m not in stored]
    fresh = (
        ibis.union(*(feature_month(known, m) for m in [*missing, current]))
        .to_pyarrow()
        .select(FEATURE_MONTHS_SCHEMA.names)
        .cast(FEATURE_MONTHS_SCHEMA)
    )
    for month in missing:
        stored[month] = fresh.filter(pc.equal(fresh["month"], pa.scalar(month, pa.date32())))
        _write_file(_feature_path(store, month), _feature_fingerprint(store, month), stored[month])
    now = fresh.filter(pc.equal(fresh["month"], pa.scalar(current, pa.date32())))
    log.info("feature rollups as of %s: %d months reused, %d computed", as_of, len(closed) - len(missing), len(missing))
    table = pa.concat_tables([*(stored[m].cast(FEATURE_MONTHS_SCHEMA) for m in closed), now])
    name = f"kizuna_feature_months_{as_of:%Y%m%d}"
    return register_tables(backend(tables), {name: table})[name]


def _feature_path(store: EventStore, month: dt.date) -> Path:
    return feature_rollup_dir(store) / f"month={month:%Y-%m}.parquet"


def _feature_fingerprint(store: EventStore, month: dt.date) -> str:
    """A digest of the event files of ``month`` and of the feature rollups' definition."""
    return _month_digest(store, month, "features", FEATURE_ROLLUP_VERSION)


def _fingerprint_of(path: Path) -> str | None:
    try:
        metadata = pq.read_metadata(path).metadata or {}
    except (FileNotFoundError, pa.ArrowInvalid, OSError):
        return None
    fingerprint: bytes = metadata.get(_FINGERPRINT_KEY, b"")
    return fingerprint.decode()


def _write_file(path: Path, fingerprint: str, table: pa.Table) -> None:
    """Write atomically (temporary file, then rename): a concurrent refresh reads the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
    pq.write_table(table.replace_schema_metadata({_FINGERPRINT_KEY: fingerprint.encode()}), temporary)
    os.replace(temporary, path)
