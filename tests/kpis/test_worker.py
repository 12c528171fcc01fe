"""metrics.worker: the usage and funnel parts in a process of their own report their failures; the worker never
outlives the refresh."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from kizuna.analytics.engine import connect, register_tables
from kizuna.errors import KizunaError
from kizuna.kpis.worker import KpiWorker
from tests.analytics.kpi.hub import hub


def test_a_failing_worker_is_reported_with_its_error(tmp_path: Path) -> None:
    tables = register_tables(connect(), hub(accounts=[{}], plans=[{}]))
    tables["accounts"] = tables["accounts"].select("id")  # the usage part needs its created_at and attributes
    with KpiWorker(tmp_path / "events", dt.date(2026, 5, 31)) as worker:
        worker.submit({name: table.to_pyarrow() for name, table in tables.items()})
        with pytest.raises(KizunaError, match=r"KPI worker failed: .*'accounts' lacks column"):
            worker.usage()


def test_the_worker_ends_with_the_refresh(tmp_path: Path) -> None:
    with KpiWorker(tmp_path / "events", dt.date(2026, 5, 31)) as worker:  # the refresh fails before submitting
        process = worker._process
        assert process is not None and process.poll() is None
    assert process.poll() is not None


def test_a_worker_never_sent_the_account_outcomes_says_so(tmp_path: Path) -> None:
    tables = register_tables(connect(), hub(accounts=[{}], plans=[{}]))
    with KpiWorker(tmp_path / "events", dt.date(2026, 5, 31)) as worker:
        worker.submit({name: table.to_pyarrow() for name, table in tables.items()})
        assert worker.usage().accounts is not None  # handed over before the funnel
        # (the refresh failed before its MRR movements were known: funnel() ends the worker's input)
        with pytest.raises(KizunaError, match=r"KPI worker failed: .*the refresh sent no outcomes"):
            worker.funnel()
