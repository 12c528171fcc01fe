"""The usage and funnel parts of a KPI refresh in a process of their own (:class:`KpiWorker`).

On DuckDB, ``kizuna refresh`` computes the revenue and voice parts of the snapshot (MRR movements and all derived
from them; onboarding, surveys and support) in its own process and the parts that read the two large inputs in a
worker process, side by side: the usage part (the events: :func:`~kizuna.analytics.kpi.snapshot.usage_part`) and the
funnel part (the leads: :func:`~kizuna.analytics.kpi.snapshot.funnel_part`). A refresh is a long run of Python (Ibis
compiling, pandas) between queries, so one process leaves the second core idle half the time. The usage part shares
nothing with the others; the funnel part needs of the revenue part only the outcome of each account that paid
(:func:`~kizuna.analytics.kpi.funnel.account_outcomes`, one row per account).

The worker is a one-process :class:`~kizuna.platform.processes.Pool` given three tasks in turn, which run in that
order in the same process and share its DuckDB connection: :func:`_start_on_events` (submitted as the worker starts,
before the hub is read) computes what reads only the events (the users active in the last 60 days, the usage per
account-month with the monthly rollups); :func:`_usage_part` takes the hub tables and returns the usage part;
:func:`_funnel_part` takes the account outcomes, which the refresh sends as soon as its MRR movements are known, and
returns the funnel part. The refresh stores the rest of the snapshot while the funnel is computed.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import pyarrow as pa

from kizuna.errors import KizunaError
from kizuna.platform import processes

#: the hub tables the worker's parts read (besides the events)
WORKER_INPUTS = ("accounts", "plans", "subscriptions", "onboarding_milestones", "leads", "opportunities")


def usage_part(tables: dict[str, Any], events_dir: Path, as_of: dt.date) -> Any:
    """The usage part of ``as_of`` over hub ``tables`` on any backend, reading closed months' usage from the rollups
    next to the events (:mod:`kizuna.usage.rollups`). In-process refreshes call it too."""
    from kizuna.analytics.kpi import snapshot

    return snapshot.usage_part(_usage_prepared(tables, events_dir, as_of), as_of)


def _usage_prepared(tables: dict[str, Any], events_dir: Path, as_of: dt.date) -> dict[str, Any]:
    """``tables`` plus the users active in the last 60 days, the usage per account-month and the features used per
    account-month (closed months from the rollups)."""
    from kizuna.analytics.kpi import usage
    from kizuna.analytics.kpi._common import prepared_key
    from kizuna.usage.rollups import account_months, feature_months
    from kizuna.usage.store import EventStore

    tables = dict(tables)
    # the users active in the last 60 days, grouped once: account usage and this month's usage read them
    tables[prepared_key("user_activity", as_of)] = usage.user_activity(tables, as_of).cache()
    store = EventStore(events_dir)
    tables[prepared_key("account_months", as_of)] = account_months(tables, store, as_of)
    tables[prepared_key("feature_months", as_of)] = feature_months(tables, store, as_of)
    return tables


class KpiWorker:
    """A worker process for one refresh: started (early) as a context manager with the events and the date, then
    ``submit(tables)``, ``send_outcomes(...)``, ``usage()`` and ``funnel()`` (its two parts).

    ``usage()`` and ``funnel()`` raise the exception the worker raised, as its own type. Leaving the context manager
    by an exception kills the process; it removes the worker's files whatever happens.
    """

    def __init__(self, events_dir: Path, as_of: dt.date) -> None:
        self._events_dir, self._as_of = events_dir, as_of
        self._folder = tempfile.TemporaryDirectory(prefix="kizuna-kpi-")
        self._pool: processes.Pool | None = None
        self._started: Future[None] | None = None
        self._usage: Future[Any] | None = None
        self._funnel: Future[Any] | None = None

    def __enter__(self) -> KpiWorker:
        self._pool = processes.Pool(1)  # one process: its tasks run in turn and share its DuckDB connection
        self._started = self._pool.submit(_start_on_events, self._events_dir, self._as_of)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        try:
            if self._pool is not None:
                self._pool.__exit__(kind, error, trace)
        finally:
            self._folder.cleanup()

    def submit(self, tables: dict[str, pa.Table]) -> None:
        """Send the worker its inputs (``WORKER_INPUTS``) among the hub ``tables`` as read (Arrow), and have it
        compute the usage part."""
        assert self._pool is not None
        hub = Path(self._folder.name) / "hub"
        hub.mkdir()
        for name in WORKER_INPUTS:
            processes.write_table(hub / f"{name}.arrow", tables[name])
        self._usage = self._pool.submit(_usage_part, hub)

    def send_outcomes(self, prepared: dict[str, Any], as_of: dt.date) -> None:
        """Send the outcome of each account (from the revenue part's ``prepared`` tables) and have the worker
        compute the funnel part."""
        from kizuna.analytics.kpi.funnel import account_outcomes

        assert self._pool is not None
        path = Path(self._folder.name) / "outcomes.arrow"
        processes.write_table(path, account_outcomes(prepared, as_of).to_pyarrow())
        self._funnel = self._pool.submit(_funnel_part, path)

    def usage(self) -> Any:
        """Wait for the usage part and return it (a :class:`~kizuna.analytics.kpi.snapshot.Part`)."""
        if self._started is None or self._usage is None:
            raise KizunaError("the KPI worker was sent no hub tables")
        self._started.result()  # (its own error, not the one a later task meets for want of its work)
        return self._usage.result()

    def funnel(self) -> Any:
        """Wait for the funnel part and return it (a :class:`~kizuna.analytics.kpi.snapshot.Part`)."""
        if self._funnel is None:
            raise KizunaError("the KPI worker was sent no account outcomes")
        self.usage()
        return self._funnel.result()


@dataclass
class _Events:
    """What the worker process keeps between its tasks: its DuckDB connection, the tables registered on it (with the
    event work of :func:`_usage_prepared`) and the date."""

    con: Any
    tables: dict[str, Any]
    as_of: dt.date


#: in the worker process, the state :func:`_start_on_events` leaves for the later tasks
_events: _Events | None = None


def _start_on_events(events_dir: Path, as_of: dt.date) -> None:
    """In the worker: connect DuckDB and compute what reads only the events."""
    global _events
    from kizuna.analytics.engine import connect, register_tables
    from kizuna.usage.rollups import stale_months
    from kizuna.usage.store import EventStore

    _events = None
    # one DuckDB thread: the revenue part beside it keeps the machine's second core. Two when months of usage are
    # to be computed from the events (a first refresh), which is then the longer run
    threads = None if stale_months(EventStore(events_dir), as_of) else 1
    con = connect("duckdb", threads=threads)
    tables = register_tables(con, {"events": EventStore(events_dir).source()})
    _events = _Events(con, _usage_prepared(tables, events_dir, as_of), as_of)


def _usage_part(hub: Path) -> Any:
    """In the worker: the usage part, over the hub tables in folder ``hub`` (Arrow IPC files, one per name of
    ``WORKER_INPUTS``)."""
    from kizuna.analytics.engine import register_tables
    from kizuna.analytics.kpi import snapshot

    events = _started()
    arrow = {name: processes.read_table(hub / f"{name}.arrow") for name in WORKER_INPUTS}
    events.tables.update(register_tables(events.con, arrow))
    return snapshot.usage_part(events.tables, events.as_of)


def _funnel_part(outcomes: Path) -> Any:
    """In the worker: the funnel part, given the outcome of each account (an Arrow IPC file)."""
    from kizuna.analytics.engine import register_tables
    from kizuna.analytics.kpi import snapshot
    from kizuna.analytics.kpi._common import prepared_key

    events = _started()
    registered = register_tables(events.con, {"kizuna_account_outcomes": processes.read_table(outcomes)})
    events.tables[prepared_key("account_outcomes", events.as_of)] = registered["kizuna_account_outcomes"]
    return snapshot.funnel_part(events.tables, events.as_of)


def _started() -> _Events:
    if _events is None:
        raise KizunaError("the KPI worker's work on the events did not complete")
    return _events
