"""The usage part of a KPI refresh in a process of its own: ``python -m kizuna.metrics.worker``.

On DuckDB, ``kizuna refresh`` computes the revenue part of the snapshot (MRR movements and all derived from them:
:func:`~kizuna.analytics.kpi.snapshot.revenue_part`) in its own process and the usage part (events, onboarding,
surveys, support: :func:`~kizuna.analytics.kpi.snapshot.usage_part`) here, side by side: a refresh is a long run of
Python (Ibis compiling, pandas) between queries, so one process leaves the second core idle half the time. The two
parts share no intermediate.

The worker starts before the hub is read (its imports overlap the read), then waits for its job on stdin, JSON:
``{"hub": folder of Arrow IPC files, "events_dir": path, "as_of": ISO date, "out": path}``. It registers the
files on a DuckDB connection of its own (one thread), computes the part (with the monthly usage rollups) and
pickles it to ``out``.
"""

from __future__ import annotations

import datetime as dt
import json
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Any

import pyarrow as pa

from kizuna import children
from kizuna.errors import KizunaError

#: the hub tables the usage part reads (besides the events)
USAGE_INPUTS = ("accounts", "plans", "subscriptions", "onboarding_milestones", "survey_responses", "tickets")


def usage_part(tables: dict[str, Any], events_dir: Path, as_of: dt.date) -> Any:
    """The usage part of ``as_of`` over hub ``tables`` on any backend, reading closed months' usage from the rollups
    next to the events (:mod:`kizuna.usage.rollups`). In-process refreshes call it too."""
    from kizuna.analytics.kpi import snapshot
    from kizuna.analytics.kpi._common import prepared_key
    from kizuna.analytics.kpi.usage import user_activity
    from kizuna.usage.rollups import account_months
    from kizuna.usage.store import EventStore

    tables = dict(tables)
    # the users active in the last 60 days, grouped once: account usage and this month's usage read them
    tables[prepared_key("user_activity", as_of)] = user_activity(tables, as_of).cache()
    tables[prepared_key("account_months", as_of)] = account_months(tables, EventStore(events_dir), as_of)
    return snapshot.usage_part(tables, as_of)


class UsageWorker:
    """A worker process for one refresh: ``start()`` (early), ``submit(tables, ...)``, then ``result()``.

    Used as a context manager, which ends the process and removes its files whatever happens.
    """

    def __init__(self) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="kizuna-usage-")
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> UsageWorker:
        self._process = children.start("kizuna.metrics.worker")
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._folder.cleanup()

    def submit(self, tables: dict[str, Any], events_dir: Path, as_of: dt.date) -> None:
        """Hand the worker the usage inputs among the hub ``tables`` (as Arrow IPC files) and its job."""
        assert self._process is not None
        hub = Path(self._folder.name) / "hub"
        hub.mkdir()
        for name in USAGE_INPUTS:
            data = tables[name].to_pyarrow()
            with pa.OSFile(str(hub / f"{name}.arrow"), "wb") as sink, pa.ipc.new_file(sink, data.schema) as writer:
                writer.write_table(data)
        job = {"hub": str(hub), "events_dir": str(events_dir), "as_of": as_of.isoformat(), "out": self._out}
        children.hand_job(self._process, job)

    def result(self) -> Any:
        """Wait for the worker and return its part; KizunaError with the worker's own error if it failed."""
        assert self._process is not None
        failure = children.finish(self._process)
        if failure is not None:
            raise KizunaError(f"the KPI usage worker failed: {failure}")
        with open(self._out, "rb") as source:
            return pickle.load(source)  # (our own child's file, in our own temporary folder)

    @property
    def _out(self) -> str:
        return str(Path(self._folder.name) / "usage.pickle")


def main() -> None:
    from kizuna.analytics.engine import connect, register_tables
    from kizuna.usage.rollups import stale_months
    from kizuna.usage.store import EventStore
    from kizuna.warehouse import event_source

    job = json.loads(sys.stdin.read())
    hub = Path(job["hub"])
    sources: dict[str, Any] = {
        name: pa.ipc.open_file(pa.memory_map(str(hub / f"{name}.arrow"))).read_all() for name in USAGE_INPUTS
    }
    sources["events"] = event_source(EventStore(Path(job["events_dir"])))
    # one DuckDB thread: the revenue part beside it is the longer one and keeps the machine's second core (with two
    # threads here too, a refresh of the 50,000-account demo took 1-3 s longer: 17.9-20.0 s against 16.7-17.0 s).
    # Unless months of usage are to be computed from the events (a first refresh: 35 months of them on the demo)
    as_of = dt.date.fromisoformat(job["as_of"])
    threads = None if stale_months(EventStore(Path(job["events_dir"])), as_of) else 1
    tables = register_tables(connect("duckdb", threads=threads), sources)
    part = usage_part(tables, Path(job["events_dir"]), as_of)
    with open(job["out"], "wb") as sink:
        pickle.dump(part, sink)


if __name__ == "__main__":
    main()
