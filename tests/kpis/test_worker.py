"""kpis.worker: the usage and funnel parts in a process of their own give real results, raise the worker's own
exceptions, and the worker never outlives a refresh that failed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest

from kizuna.analytics.engine import connect, register_tables
from kizuna.errors import InvalidInput, KizunaError
from kizuna.kpis.worker import KpiWorker
from tests.analytics.kpi.hub import hub

AS_OF = dt.date(2026, 5, 31)


def _arrow(**rows: list[dict[str, object]]) -> dict[str, pa.Table]:
    return {name: table.to_pyarrow() for name, table in register_tables(connect(), hub(**rows)).items()}


def test_a_failing_worker_raises_its_own_exception(tmp_path: Path) -> None:
    tables = _arrow(accounts=[{}], plans=[{}])
    tables["accounts"] = tables["accounts"].select(["id"])  # the usage part needs its created_at and attributes
    with KpiWorker(tmp_path / "events", AS_OF) as worker:
        worker.submit(tables)
        with pytest.raises(InvalidInput, match=r"KPI input table 'accounts' lacks column\(s\) .*created_at") as raised:
            worker.usage()
    assert raised.value.context["table"] == "accounts"  # its attributes come along, not only its message
    assert "Traceback" in str(raised.value.__cause__)  # and the worker's traceback


def test_the_worker_ends_with_a_failed_refresh(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="the refresh failed"), KpiWorker(tmp_path / "events", AS_OF) as worker:
        assert worker._pool is not None
        worker._pool.submit(str, "(started)").result()  # queued behind its work on the events: it is running
        (process,) = worker._pool._processes.values()
        raise RuntimeError("the refresh failed")
    assert not process.is_alive()


def test_the_worker_hands_over_both_parts(tmp_path: Path) -> None:
    tables = _arrow(accounts=[{}], plans=[{}])
    with KpiWorker(tmp_path / "events", AS_OF) as worker:
        worker.submit(tables)
        with pytest.raises(KizunaError, match="sent no account outcomes"):
            worker.funnel()  # (the refresh failed before its MRR movements were known)
        usage = worker.usage()
    assert usage.accounts is not None and len(usage.accounts) == 1
