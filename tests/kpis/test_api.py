"""The KPI REST API reads the stored snapshot: names, a series (total, by breakdown, per currency), a table, and one
account's metrics; unknown names and breakdowns are 404s; a key without read access is refused."""

from __future__ import annotations

import math

from kizuna.kpis import service
from tests.web.fixtures import WebWorld, refresh_metrics


def test_kpis_series_tables_and_account_metrics(world: WebWorld) -> None:
    refresh_metrics(world)
    client = world.client()
    read = {"authorization": f"Bearer {world.api_keys['read']}"}
    listed = client.get("/api/v1/kpis", headers=read).json()
    assert {"mrr_minor", "nrr", "cohort_retention", "funnel"} <= set(listed["names"])
    assert listed["snapshots"] == [listed["as_of"]]

    mrr = client.get("/api/v1/kpis/mrr_minor", headers=read).json()
    assert mrr["kind"] == "series" and mrr["by"] == ""
    with world.runtime.transaction() as session:
        stored = service.load_kpi(session, names=["mrr_minor"])
        by_plan = service.load_kpi(session, names=["mrr_minor"], by="plan")
    assert [r["value"] for r in mrr["rows"]] == stored.value.tolist()
    assert mrr["rows"][-1]["month"] == stored.month.iloc[-1].isoformat()
    plan = client.get("/api/v1/kpis/mrr_minor", params={"by": "plan"}, headers=read).json()
    assert {r["dimension_value"] for r in plan["rows"]} == set(by_plan.dimension_value)
    jpy = client.get("/api/v1/kpis/nrr", params={"currency": "JPY"}, headers=read).json()
    assert {r["currency"] for r in jpy["rows"]} <= {"JPY", ""}
    assert all(r["value"] is None or math.isfinite(r["value"]) for r in jpy["rows"])  # undefined: null, not NaN

    cohorts = client.get("/api/v1/kpis/cohort_retention", headers=read).json()
    assert cohorts["kind"] == "table" and cohorts["rows"] and "cohort_month" in cohorts["rows"][0]

    assert client.get("/api/v1/kpis/no_such_kpi", headers=read).status_code == 404
    assert client.get("/api/v1/kpis/mrr_minor", params={"by": "no_such"}, headers=read).status_code == 404
    assert client.get("/api/v1/kpis/mrr_minor").status_code == 401

    account = client.get(f"/api/v1/accounts/{world.account_id}/metrics", headers=read).json()
    assert account["account_id"] == world.account_id and account["mrr_minor"] == 70_000
    assert client.get("/api/v1/accounts/999999/metrics", headers=read).status_code == 404
