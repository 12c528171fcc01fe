"""metrics.worker: the usage part in a process of its own reports its failures and never outlives the refresh."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from kizuna.analytics.engine import connect, register_tables
from kizuna.errors import KizunaError
from kizuna.metrics.worker import UsageWorker
from tests.analytics.kpi.hub import hub


def test_a_failing_worker_is_reported_with_its_error(tmp_path: Path) -> None:
    tables = register_tables(connect(), hub(accounts=[{}], plans=[{}]))
    tables["accounts"] = tables["accounts"].select("id")  # the usage part needs its created_at and attributes
    with UsageWorker() as worker:
        worker.submit(tables, tmp_path / "events", dt.date(2026, 5, 31))
        with pytest.raises(KizunaError, match=r"usage worker failed: .*'accounts' lacks column"):
            worker.result()


def test_the_worker_ends_with_the_refresh(tmp_path: Path) -> None:
    with UsageWorker() as worker:  # started, never given a job (the refresh failed before submitting)
        process = worker._process
        assert process is not None and process.poll() is None
    assert process.poll() is not None
