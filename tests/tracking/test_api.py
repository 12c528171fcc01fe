"""The Segment-compatible tracking API: write-key auth, track/identify/group/batch, messageId de-duplication."""

from __future__ import annotations

import base64

import pyarrow.compute as pc

from kizuna.usage.store import EventStore
from tests.web.fixtures import WebWorld


def _auth(secret: str) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(f"{secret}:".encode()).decode()}


def _events(world: WebWorld) -> list[dict[str, object]]:
    store = EventStore(world.runtime.settings.events_dir)
    if not store.files():
        return []
    return store.dataset().to_table().sort_by("event_id").to_pylist()


def test_write_key_is_required_and_scoped(world: WebWorld) -> None:
    client = world.client()
    body = {"userId": "u1", "event": "Login", "context": {"groupId": "ACC-web-0"}}
    assert client.post("/v1/track", json=body).status_code == 401
    assert client.post("/v1/track", json=body, headers=_auth(world.api_keys["read"])).status_code == 403
    assert client.post("/v1/track", json=body, headers=_auth(world.api_keys["ingest"])).status_code == 200


def test_track_group_identify_and_dedupe(world: WebWorld) -> None:
    client = world.client()
    headers = _auth(world.api_keys["ingest"])
    group = {"userId": "u-7", "groupId": "ACC-web-1", "messageId": "m-group"}
    assert client.post("/v1/group", json=group, headers=headers).json()["identities"] == 1
    identify = {"userId": "u-7", "traits": {"email": "u7@example.jp", "name": "<b>七</b>"}, "messageId": "m-id"}
    assert client.post("/v1/identify", json=identify, headers=headers).status_code == 200
    batch = {
        "batch": [
            {
                "type": "track",
                "userId": "u-7",
                "event": "Report Exported",
                "messageId": "m-1",
                "properties": {"feature": "reports"},
                "timestamp": "2026-10-05T01:02:03Z",
            },
            {"type": "track", "userId": "u-7", "event": "Report Exported", "messageId": "m-1"},
            {
                "type": "page",
                "anonymousId": "anon",
                "name": "Dashboard",
                "messageId": "m-2",
                "context": {"groupId": "ACC-web-0"},
            },
            {"type": "track", "userId": "stranger", "event": "Login", "messageId": "m-3"},
        ]
    }
    result = client.post("/v1/batch", json=batch, headers=headers).json()
    assert result == {"success": True, "accepted": 2, "identities": 0, "duplicates": 1, "unmatched": 1}
    again = client.post("/v1/batch", json=batch, headers=headers).json()
    assert again["accepted"] == 0 and again["duplicates"] == 4
    events = _events(world)
    assert [e["event_id"] for e in events] == ["m-1", "m-2"]
    assert events[0]["account_id"] == world.other_account_id and events[0]["feature"] == "reports"
    assert events[0]["timestamp"].isoformat() == "2026-10-05T01:02:03+00:00"
    assert events[1]["account_id"] == world.account_id and events[1]["event_name"] == "page:Dashboard"


def test_invalid_messages_are_400(world: WebWorld) -> None:
    client = world.client()
    headers = _auth(world.api_keys["ingest"])
    assert client.post("/v1/track", json={"userId": "u"}, headers=headers).status_code == 400
    assert client.post("/v1/group", json={"userId": "u"}, headers=headers).status_code == 400
    assert client.post("/v1/batch", json={"batch": [{"type": "nope"}]}, headers=headers).status_code == 422
    assert client.post("/v1/batch", content=b"{not json", headers=headers).status_code == 422


def test_bearer_key_works_too(world: WebWorld) -> None:
    client = world.client()
    body = {"batch": [{"type": "track", "userId": "u", "event": "E", "context": {"groupId": "ACC-web-0"}}]}
    headers = {"authorization": f"Bearer {world.api_keys['ingest']}"}
    assert client.post("/v1/import", json=body, headers=headers).json()["accepted"] == 1
    table = EventStore(world.runtime.settings.events_dir).dataset().to_table()
    assert pc.sum(pc.equal(table["event_name"], "E")).as_py() == 1
