"""Every REST endpoint of the accounts domain and the tasks API, with an admin API key (and a read-only one)."""

from __future__ import annotations

from tests.web.fixtures import WebWorld


def test_accounts_contacts_subscriptions_activities_renewals_and_tasks(world: WebWorld) -> None:
    client = world.client()
    admin = {"authorization": f"Bearer {world.api_keys['admin']}"}
    read = {"authorization": f"Bearer {world.api_keys['read']}"}
    a = world.account_id

    page = client.get("/api/v1/accounts", params={"q": "サクラ", "per_page": 10}, headers=read).json()
    assert page["total"] == 1 and page["items"][0]["id"] == a and page["items"][0]["mrr_minor"] == 70_000
    assert client.get(f"/api/v1/accounts/{a}", headers=read).json()["name"] == "株式会社サクラ商事"

    created = client.post(
        "/api/v1/accounts",
        json={"external_id": "API-1", "name": "株式会社エーピーアイ", "touch_tier": "low"},
        headers=admin,
    )
    assert created.status_code == 201
    new_id = created.json()["id"]
    assert client.post("/api/v1/accounts", json={"external_id": "API-1", "name": "x"}, headers=admin).status_code == 409
    patched = client.patch(f"/api/v1/accounts/{new_id}", json={"lifecycle_stage": "adoption"}, headers=admin)
    assert patched.json()["lifecycle_stage"] == "adoption"
    assert (
        client.patch(f"/api/v1/accounts/{new_id}", json={"lifecycle_stage": "nope"}, headers=admin).status_code == 400
    )
    assigned = client.post(
        "/api/v1/accounts/bulk-assign", json={"account_ids": [new_id], "owner_id": world.team_member_id}, headers=admin
    )
    assert assigned.json() == {"changed": 1}

    contact = client.post(
        f"/api/v1/accounts/{new_id}/contacts", json={"name": "鈴木 一郎", "email": "suzuki@example.jp"}, headers=admin
    )
    assert contact.status_code == 201
    dup = client.post(
        f"/api/v1/accounts/{new_id}/contacts", json={"name": "x", "email": "suzuki@example.jp"}, headers=admin
    )
    assert dup.status_code == 409
    assert [c["name"] for c in client.get(f"/api/v1/accounts/{new_id}/contacts", headers=read).json()] == ["鈴木 一郎"]

    subs = client.get(f"/api/v1/accounts/{a}/subscriptions", headers=read).json()
    assert [s["mrr_minor"] for s in subs] == [50_000, 70_000]
    history = client.get(f"/api/v1/accounts/{a}/mrr-history", params={"months": 3}, headers=read).json()
    assert len(history) == 3 and history[-1]["mrr_minor"] == 70_000

    note = client.post(
        f"/api/v1/accounts/{a}/activities", json={"kind": "note", "subject": "API経由のメモ"}, headers=admin
    )
    assert note.status_code == 201
    assert client.get(f"/api/v1/accounts/{a}/activities", headers=read).json()["items"][0]["subject"] == "API経由のメモ"
    naive = client.post(
        f"/api/v1/accounts/{a}/activities", json={"subject": "x", "occurred_at": "2026-01-01T10:00:00"}, headers=admin
    )
    assert naive.status_code == 400

    renewals = client.get("/api/v1/renewals", params={"horizon_days": 60}, headers=read).json()
    assert [r["account_id"] for r in renewals["items"]] == [a, world.other_account_id] and renewals["total"] == 2
    second = client.get("/api/v1/renewals", params={"horizon_days": 60, "per_page": 1, "page": 2}, headers=read).json()
    assert [r["account_id"] for r in second["items"]] == [world.other_account_id] and second["total"] == 2

    task = client.post("/api/v1/tasks", json={"title": "更新準備", "account_id": a, "priority": "high"}, headers=admin)
    assert task.status_code == 201
    task_id = task.json()["id"]
    assert client.post("/api/v1/tasks", json={"title": "x", "account_id": 999_999}, headers=admin).status_code == 404
    assert client.get(f"/api/v1/tasks/{task_id}", headers=read).json()["title"] == "更新準備"
    done = client.post(f"/api/v1/tasks/{task_id}/complete", json={"outcome": "済"}, headers=admin).json()
    assert done["status"] == "done"
    assert client.get("/api/v1/tasks", params={"account_id": a}, headers=read).json()["items"] == []
    assert client.post(f"/api/v1/tasks/{task_id}/complete", json={}, headers=read).status_code == 403
