"""The Segment-compatible tracking API: write-key auth, track/identify/group/batch, messageId de-duplication."""

from __future__ import annotations

import base64
import gzip
import json
import zlib

import pyarrow.compute as pc

from kizuna.usage.store import EventStore
from tests.servers import served
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
    assert result == {
        "success": True,
        "accepted": 2,
        "identities": 0,
        "duplicates": 1,
        "unmatched": 1,
        "rejected": 0,
        "errors": [],
    }
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
    assert client.post("/v1/batch", json={"batch": "nope"}, headers=headers).status_code == 422
    assert client.post("/v1/batch", content=b"{not json", headers=headers).status_code == 422


def test_bearer_key_works_too(world: WebWorld) -> None:
    client = world.client()
    body = {"batch": [{"type": "track", "userId": "u", "event": "E", "context": {"groupId": "ACC-web-0"}}]}
    headers = {"authorization": f"Bearer {world.api_keys['ingest']}"}
    assert client.post("/v1/import", json=body, headers=headers).json()["accepted"] == 1
    table = EventStore(world.runtime.settings.events_dir).dataset().to_table()
    assert pc.sum(pc.equal(table["event_name"], "E")).as_py() == 1


def test_a_bad_message_in_a_batch_costs_only_itself(world: WebWorld) -> None:
    client = world.client()
    headers = _auth(world.api_keys["ingest"])
    good = {"type": "track", "userId": "u", "event": "Export", "context": {"groupId": "ACC-web-0"}}
    batch = [
        {**good, "messageId": "ok-1"},
        {"type": "nope", "userId": "u"},
        {"type": "track", "userId": "u"},  # no event name
        {**good, "messageId": "ok-2", "timestamp": "not a time"},
        {**good, "messageId": "ok-3"},
    ]
    result = client.post("/v1/batch", json={"batch": batch}, headers=headers).json()
    assert result["accepted"] == 2 and result["rejected"] == 3
    assert [e["index"] for e in result["errors"]] == [1, 2, 3]
    assert "type" in result["errors"][0]["message"] and "event name" in result["errors"][1]["message"]
    assert "timestamp" in result["errors"][2]["message"]
    assert [e["event_id"] for e in _events(world)] == ["ok-1", "ok-3"]


def test_gzip_and_deflate_bodies_are_read_and_bad_ones_refused(world: WebWorld) -> None:
    client = world.client()
    headers = {**_auth(world.api_keys["ingest"]), "content-type": "application/json"}
    message = {"type": "track", "userId": "u", "event": "Zipped", "context": {"groupId": "ACC-web-0"}}
    body = json.dumps({"batch": [{**message, "messageId": "gz-1"}]}).encode()
    zipped = client.post("/v1/batch", content=gzip.compress(body), headers={**headers, "content-encoding": "gzip"})
    assert zipped.status_code == 200 and zipped.json()["accepted"] == 1
    deflated = json.dumps({**message, "messageId": "df-1"}).encode()
    response = client.post(
        "/v1/track", content=zlib.compress(deflated), headers={**headers, "content-encoding": "deflate"}
    )
    assert response.status_code == 200 and response.json()["accepted"] == 1
    broken = client.post("/v1/batch", content=b"not gzip", headers={**headers, "content-encoding": "gzip"})
    assert broken.status_code == 400
    assert client.post("/v1/batch", content=body, headers={**headers, "content-encoding": "br"}).status_code == 400
    assert [e["event_id"] for e in _events(world)] == ["df-1", "gz-1"]


def test_rudderstacks_own_client_delivers_every_event(world: WebWorld) -> None:
    """RudderStack's Python SDK gzips its batches by default: every event it sends is stored, once."""
    from rudderstack.analytics.client import Client

    failures: list[object] = []
    with served(world.app) as base_url:
        client = Client(
            world.api_keys["ingest"],
            host=base_url,
            on_error=lambda error, batch: failures.append(error),
            max_retries=1,
            upload_size=100,
        )
        for i in range(250):
            client.track(f"user-{i % 7}", "Report Viewed", {"feature": "reports"}, context={"groupId": "ACC-web-1"})
        client.flush()
        client.join()
    assert failures == []
    events = [e for e in _events(world) if e["event_name"] == "Report Viewed"]
    assert len(events) == 250 and len({e["event_id"] for e in events}) == 250


def test_what_a_client_sent_is_echoed_safely_in_errors(world: WebWorld) -> None:
    client = world.client()
    headers = {**_auth(world.api_keys["ingest"]), "content-type": "application/json"}
    # a lone surrogate is valid JSON but not UTF-8: refused with its place named, echoed escaped (it was a 500)
    lone = b'{"userId": "\\ud800", "event": "E", "context": {"groupId": "ACC-web-0"}}'
    response = client.post("/v1/track", content=lone, headers=headers)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][:2] == ["body", "userId"] and "\\ud800" in response.text
    invalid = client.post("/v1/track", content=b'{"userId": "u", "timestamp": "x"}', headers=headers)
    assert invalid.status_code == 422
    detail = invalid.json()["detail"]
    assert detail[0]["loc"] == ["body", "timestamp"]  # a list, as the OpenAPI spec says
    too_long = client.post("/v1/track", json={"userId": "u" * 100_000, "event": "E"}, headers=headers)
    assert too_long.status_code == 422 and too_long.json()["detail"][0]["loc"][:2] == ["body", "userId"]
