"""``kizuna.connect`` on the demo after ``kizuna refresh``: the hub, the events and the snapshots as Ibis tables and
pandas frames, equal to what the app stores; and the analysts' example notebook run as a reader would run it."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from ibis import _
from nbclient import NotebookClient
from sqlalchemy import func, select

import kizuna
from kizuna.accounts.models import Account
from kizuna.errors import NotFound
from kizuna.kpis import service as kpis
from kizuna.runtime import Runtime
from tests.web.demo_app import DemoApp

NOTEBOOK = Path(__file__).resolve().parents[2] / "docs" / "notebooks" / "analysts.ipynb"


def test_the_hub_as_tables_and_frames(demo_app: DemoApp) -> None:
    runtime = Runtime.open(demo_app.settings)
    try:
        with runtime.transaction() as session:
            accounts = int(session.scalar(select(func.count(Account.id))) or 0)
            stored_mrr = kpis.load_kpi(session, names=["mrr_minor"])
    finally:
        runtime.close()
    with kizuna.connect(demo_app.settings.data_dir) as hub:
        assert {"accounts", "subscriptions", "kpi_series", "events"} <= set(hub.tables)
        assert len(hub.frame("accounts")) == accounts
        subs = hub.table("subscriptions")
        per_status = subs.group_by("status").aggregate(n=_.count()).to_pandas()
        assert per_status["n"].sum() == len(hub.frame("subscriptions"))
        assert str(subs.schema()["start_date"]) == "date"  # kizuna's types, not SQLite's text
        events = hub.table("events")
        assert events.count().to_pandas() > 0
        assert hub.kpi("mrr_minor").equals(stored_mrr)
        assert not hub.kpi_table("cohort_retention").empty
        with pytest.raises(NotFound, match="no table 'nope'"):
            hub.table("nope")


def test_the_example_notebook_runs(demo_app: DemoApp, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KIZUNA_DATA_DIR", str(demo_app.settings.data_dir))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3").execute()  # raises on a cell's error
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    text = "".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    assert "tables, e.g." in text and "churned_share" in text and "accounts scored:" in text
