"""The usage and funnel parts of a KPI refresh in a process of their own: ``python -m kizuna.kpis.worker``.

On DuckDB, ``kizuna refresh`` computes the revenue and voice parts of the snapshot (MRR movements and all derived
from them; onboarding, surveys and support) in its own process and the parts that read the two large inputs here,
side by side: the usage part (the events: :func:`~kizuna.analytics.kpi.snapshot.usage_part`) and the funnel part
(the leads: :func:`~kizuna.analytics.kpi.snapshot.funnel_part`). A refresh is a long run of Python (Ibis compiling,
pandas) between queries, so one process leaves the second core idle half the time. The usage part shares nothing
with the others; the funnel part needs of the revenue part only the outcome of each account that paid
(:func:`~kizuna.analytics.kpi.funnel.account_outcomes`, one row per account).

The worker starts before the hub is read, with its job on stdin as one line of JSON: ``{"events_dir": path,
"as_of": ISO date, "out": path}``. It computes what reads only the events (the users active in the last 60 days, the
usage per account-month with the monthly rollups) on a DuckDB connection of its own while the refresh reads the
hub. Then it waits for ``{"hub": folder of Arrow IPC files}`` and computes the usage part, then for
``{"outcomes": Arrow IPC file}``, which the refresh sends as soon as its MRR movements are known, and computes the
funnel part. It pickles the usage part as soon as it has it and says so on stdout (``{"usage": path}``: the refresh
stores the snapshot meanwhile), then pickles the funnel part to ``out``.
"""

from __future__ import annotations

import datetime as dt
import pickle
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Any

import pyarrow as pa

from kizuna.platform import processes as children
from kizuna.errors import KizunaError

#: the hub tables the worker's parts read (besides the events)
WORKER_INPUTS = ("accounts", "plans", "subscriptions", "onboarding_milestones", "leads", "opportunities")


def usage_part(tables: dict[str, Any], events_dir: Path, as_of: dt.date) -> Any:
    """The usage part of ``as_of`` over hub ``tables`` on any backend, reading closed months' usage from the rollups
    next to the events (:mod:`kizuna.usage.rollups`). In-process refreshes call it too."""
    from kizuna.analytics.kpi import snapshot

    return snapshot.usage_part(_usage_prepared(tables, events_dir, as_of), as_of)


def _usage_prepared(tables: dict[str, Any], events_dir: Path, as_of: dt.date) -> dict[str, Any]:
    """``tables`` plus the users active in the last 60 days and the usage per account-month (closed months from
    the rollups)."""
    from kizuna.analytics.kpi import usage
    from kizuna.analytics.kpi._common import prepared_key
    from kizuna.usage.rollups import account_months
    from kizuna.usage.store import EventStore

    tables = dict(tables)
    # the users active in the last 60 days, grouped once: account usage and this month's usage read them
    tables[prepared_key("user_activity", as_of)] = usage.user_activity(tables, as_of).cache()
    tables[prepared_key("account_months", as_of)] = account_months(tables, EventStore(events_dir), as_of)
    return tables


class KpiWorker:
    """A worker process for one refresh: started (early) as a context manager with the events and the date, then
    ``submit(tables)``, ``send_outcomes(...)``, ``usage()`` and ``funnel()`` (its two parts).

    The context manager ends the process and removes its files whatever happens.
    """

    def __init__(self, events_dir: Path, as_of: dt.date) -> None:
        self._job = {"events_dir": str(events_dir), "as_of": as_of.isoformat()}
        self._folder = tempfile.TemporaryDirectory(prefix="kizuna-kpi-")
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> KpiWorker:
        self._process = children.start("kizuna.kpis.worker", replies=True)
        children.hand_job(self._process, {**self._job, "out": self._out}, more=True)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._folder.cleanup()

    def submit(self, tables: dict[str, pa.Table]) -> None:
        """Send the worker its inputs (``WORKER_INPUTS``) among the hub ``tables`` as read (Arrow, written as IPC
        files)."""
        assert self._process is not None
        hub = Path(self._folder.name) / "hub"
        hub.mkdir()
        for name in WORKER_INPUTS:
            children.write_table(hub / f"{name}.arrow", tables[name])
        children.send(self._process, {"hub": str(hub)})

    def send_outcomes(self, prepared: dict[str, Any], as_of: dt.date) -> None:
        """Send the outcome of each account (from the revenue part's ``prepared`` tables) for the funnel part."""
        from kizuna.analytics.kpi.funnel import account_outcomes

        assert self._process is not None
        path = Path(self._folder.name) / "outcomes.arrow"
        children.write_table(path, account_outcomes(prepared, as_of).to_pyarrow())
        children.send(self._process, {"outcomes": str(path)})
        children.close(self._process)

    def usage(self) -> Any:
        """Wait for the usage part (the worker hands it over before it computes the funnel) and return it;
        KizunaError with the worker's own error if it failed."""
        assert self._process is not None
        reply = children.read_reply(self._process)
        if reply is None:
            failure = children.finish(self._process)
            raise KizunaError(f"the KPI worker failed: {failure or 'it ended before handing its usage part'}")
        return _unpickled(reply["usage"])

    def funnel(self) -> Any:
        """Wait for the worker to end and return the funnel part; KizunaError with its own error if it failed."""
        assert self._process is not None
        failure = children.finish(self._process)
        if failure is not None:
            raise KizunaError(f"the KPI worker failed: {failure}")
        return _unpickled(self._out)

    @property
    def _out(self) -> str:
        return str(Path(self._folder.name) / "funnel.pickle")


def _unpickled(path: str) -> Any:
    with open(path, "rb") as source:
        return pickle.load(source)  # (our own child's file, in our own temporary folder)


def main() -> None:
    from kizuna.analytics.engine import connect, register_tables
    from kizuna.analytics.kpi import snapshot
    from kizuna.analytics.kpi._common import prepared_key
    from kizuna.usage.rollups import stale_months
    from kizuna.usage.store import EventStore

    job = children.read_job()
    events_dir, as_of = Path(job["events_dir"]), dt.date.fromisoformat(job["as_of"])
    # one DuckDB thread: the revenue part beside it keeps the machine's second core (with two threads here too, a
    # refresh of the 50,000-account demo took 1-3 s longer: 17.9-20.0 s against 16.7-17.0 s). Unless months of
    # usage are to be computed from the events (a first refresh: 35 months of them on the demo)
    threads = None if stale_months(EventStore(events_dir), as_of) else 1
    con = connect("duckdb", threads=threads)
    tables = _usage_prepared(register_tables(con, {"events": EventStore(events_dir).source()}), events_dir, as_of)

    hub = Path(_next("hub"))
    tables.update(register_tables(con, {name: children.read_table(hub / f"{name}.arrow") for name in WORKER_INPUTS}))
    usage = snapshot.usage_part(tables, as_of)
    handed = str(Path(job["out"]).with_name("usage.pickle"))
    with open(handed, "wb") as sink:
        pickle.dump(usage, sink)
    children.reply({"usage": handed})  # the refresh stores it while the funnel is computed

    outcomes = register_tables(con, {"kizuna_account_outcomes": children.read_table(_next("outcomes"))})
    tables[prepared_key("account_outcomes", as_of)] = outcomes["kizuna_account_outcomes"]
    funnel = snapshot.funnel_part(tables, as_of)
    with open(job["out"], "wb") as sink:
        pickle.dump(funnel, sink)


def _next(key: str) -> Any:
    """The next message from the refresh, which must give ``key``."""
    message = children.read_message()
    if message is None or key not in message:
        raise KizunaError(f"the refresh sent no {key}")
    return message[key]


if __name__ == "__main__":
    main()
