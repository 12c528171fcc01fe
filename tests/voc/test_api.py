"""The VoC REST API as the web app mounts it: entries with filters, feature requests ranked by ARR, authentication."""

from __future__ import annotations

from tests.web.fixtures import WebWorld, _world_template, world  # noqa: F401


def test_entries_filters_and_auth(world: WebWorld) -> None:  # noqa: F811
    anonymous = world.client()
    assert anonymous.get("/api/v1/voc/entries").status_code == 401
    client = world.client("viewer")
    everything = client.get("/api/v1/voc/entries").json()
    assert everything["total"] >= 1 and everything["items"][0]["text"]
    mine = client.get("/api/v1/voc/entries", params={"account_id": world.account_id}).json()
    assert mine["total"] >= 1 and {e["account_id"] for e in mine["items"]} == {world.account_id}
    other = client.get("/api/v1/voc/entries", params={"account_id": world.other_account_id}).json()
    assert other["total"] + mine["total"] <= everything["total"]
    assert client.get("/api/v1/voc/entries", params={"channel": "no-such-channel"}).json() == {
        "total": 0,
        "items": [],
        "page": 1,
        "per_page": 50,
    }
    assert client.get("/api/v1/voc/entries", params={"account_id": 2**63}).status_code == 422
    assert client.get("/api/v1/voc/entries", params={"per_page": 0}).status_code == 422


def test_feature_requests_are_ranked_by_arr_and_no_entries_is_a_400(world: WebWorld) -> None:  # noqa: F811
    client = world.client("viewer")
    assert world.client().get("/api/v1/voc/requests").status_code == 401
    response = client.get("/api/v1/voc/requests")
    assert response.status_code == 200, response.text
    arr = [r["arr_minor"] for r in response.json()]
    assert arr == sorted(arr, reverse=True)
    none = client.get("/api/v1/voc/requests", params={"channel": "no-such-channel"})
    assert none.status_code == 400 and none.json()["error"] == "InvalidInput"
