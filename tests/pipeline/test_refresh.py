"""The refresh pipeline runs a step again when SQLite refused its write because another connection wrote meanwhile."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from kizuna.accounts.models import Account
from kizuna.hub.context import RefreshContext
from kizuna.pipeline.refresh import Step, refresh
from kizuna.runtime import Runtime
from tests import factories


def _read_then_write(runtime: Runtime, *, other_writes_between: bool) -> None:
    """Read an account, (let another thread write and commit), then write: SQLite's real refusal if it did."""
    with runtime.transaction() as session:
        account_id = session.scalars(select(Account.id)).first()
        if other_writes_between:

            def other() -> None:
                with runtime.transaction(write=True) as s:
                    s.get(Account, account_id).industry = "other writer"  # type: ignore[union-attr]

            thread = threading.Thread(target=other)
            thread.start()
            thread.join()
        session.get(Account, account_id).name = "written by the step"  # type: ignore[union-attr]
        session.flush()


def test_a_long_step_beside_a_busy_writer_is_not_refused(runtime: Runtime) -> None:
    """A step that reads, works a while and writes, while another process commits every few milliseconds: its
    transaction begins as a writer, so the other waits for it instead of the step being refused at every attempt."""
    import sqlite3
    import time

    with runtime.transaction() as session:
        factories.account(session)
    stop = threading.Event()
    writes: list[float] = []

    def busy_scheduler() -> None:
        conn = sqlite3.connect(runtime.settings.data_dir / "kizuna.sqlite3", timeout=30, isolation_level=None)
        conn.execute("CREATE TABLE IF NOT EXISTS busy_elsewhere (n INTEGER)")
        while not stop.is_set():
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO busy_elsewhere VALUES (1)")
            conn.execute("COMMIT")
            writes.append(time.monotonic())
            stop.wait(0.005)
        conn.close()

    runs: list[int] = []

    def long_step(ctx: Any) -> dict[str, Any]:
        runs.append(1)
        with ctx.runtime.transaction() as session:
            account = session.scalars(select(Account)).one()
            time.sleep(0.3)  # the work between the read and the write
            account.name = "written by the step"
            session.flush()
        return {}

    thread = threading.Thread(target=busy_scheduler)
    thread.start()
    try:
        while not writes:
            time.sleep(0.01)
        refresh(runtime, [Step("kizuna_test_long", long_step)])
    finally:
        stop.set()
        thread.join()
    assert runs == [1] and len(writes) > 1
    with runtime.transaction() as session:
        assert session.scalars(select(Account.name)).one() == "written by the step"


@pytest.fixture
def flaky_step(runtime: Runtime) -> Iterator[tuple[list[int], Step]]:
    with runtime.transaction() as session:
        factories.account(session)
    runs: list[int] = []

    def step(ctx: Any) -> dict[str, Any]:
        runs.append(1)
        # the fixture's runtime, whose transactions begin deferred (the refresh's own begin as writers)
        _read_then_write(runtime, other_writes_between=len(runs) == 1)
        return {"runs": len(runs)}

    yield runs, Step("kizuna_test_flaky", step)


def test_a_step_refused_by_sqlite_runs_again(runtime: Runtime, flaky_step: tuple[list[int], Step]) -> None:
    _runs, step = flaky_step
    summary = refresh(runtime, [step])
    assert summary["kizuna_test_flaky"]["runs"] == 2
    with runtime.transaction() as session:
        account = session.scalars(select(Account)).one()
        assert (account.name, account.industry) == ("written by the step", "other writer")


def test_other_errors_are_not_retried(runtime: Runtime) -> None:
    runs: list[int] = []

    def step(ctx: Any) -> dict[str, Any]:
        runs.append(1)
        raise OperationalError("SELECT 1", {}, Exception("no such table: nowhere"))

    with pytest.raises(OperationalError, match="no such table"):
        refresh(runtime, [Step("kizuna_test_broken", step)])
    assert runs == [1]


def test_hub_tables_are_read_when_a_step_first_asks_and_then_shared(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    import datetime as dt

    from kizuna.hub import warehouse
    from kizuna.hub.warehouse import ANALYTICS_TABLES

    with runtime.transaction() as session:
        factories.account(session)
    reads: list[list[str]] = []
    real = warehouse.start_reading

    def start_reading(engine: Any, names: Any = ANALYTICS_TABLES, **kwargs: Any) -> Any:
        reads.append(list(names))
        return real(engine, names, **kwargs)

    monkeypatch.setattr(warehouse, "start_reading", start_reading)
    ctx = RefreshContext(runtime=runtime, as_of=dt.date(2026, 11, 22))
    first = ctx.hub(["accounts", "plans"])
    assert sorted(first) == ["accounts", "events", "plans"] and first["accounts"].count().execute() == 1
    # a table read with some columns is read again, whole, when a step wants more of it
    part = ctx.hub({"subscriptions": ("account_id", "mrr_minor")})["subscriptions"]
    assert part.columns == ("account_id", "mrr_minor")
    ctx.hub({"subscriptions": ("mrr_minor",)})
    everything = ctx.tables
    ctx.hub(["accounts"])
    assert reads == [
        ["accounts", "plans"],
        ["subscriptions"],
        [n for n in ANALYTICS_TABLES if n not in ("accounts", "plans")],
    ]
    assert set(everything) == {*ANALYTICS_TABLES, "events"} and "external_id" in everything["subscriptions"].columns


def test_each_step_reports_its_wall_time_and_its_cpu_time_apart(runtime: Runtime) -> None:
    import time

    def waiting(ctx: Any) -> dict[str, Any]:
        time.sleep(0.3)  # waits for something else: wall time, no CPU
        return {}

    def working(ctx: Any) -> dict[str, Any]:
        started = time.process_time()
        while time.process_time() - started < 0.3:
            pass
        return {}

    summary = refresh(runtime, [Step("kizuna_test_waiting", waiting), Step("kizuna_test_working", working)])
    waited, worked = summary["kizuna_test_waiting"], summary["kizuna_test_working"]
    assert waited["seconds"] >= 0.3 and waited["cpu_seconds"] < 0.1
    assert worked["cpu_seconds"] >= 0.3 and worked["seconds"] >= worked["cpu_seconds"] - 0.05
