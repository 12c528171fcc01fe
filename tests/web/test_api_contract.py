"""The REST API's contract, read from the OpenAPI spec the real app serves and checked against real calls.

* every operation documents its error answers (400, 401, 403, 404, 422; 409 on writes) with the JSON body the error
  handler sends;
* every text and whole number the API takes is bounded (an over-long text is a 422 naming the field on PostgreSQL
  too, never "a number in the request is out of range" from the database), and JSON bodies take strict types
  (``owner_id: true`` is not 1);
* every list that grows with time or customers answers one page of the same shape, asked the same way.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kizuna.migrations import upgrade
from kizuna.runtime import Runtime
from kizuna.settings import Settings
from kizuna.web.app import create_app
from tests.web.fixtures import WebWorld, seed_world

API = ("/api/", "/v1/")
WRITES = ("post", "put", "patch", "delete")
PAGE_FIELDS = {"items", "total", "page", "per_page"}

#: GET operations that answer a whole list: each is bounded by what it is about, not by time or customers
BOUNDED_LISTS = {
    "/api/v1/accounts/{account_id}/contacts": "one account's people",
    "/api/v1/accounts/{account_id}/subscriptions": "one account's contract lines",
    "/api/v1/accounts/{account_id}/mrr-history": "months (at most 120)",
    "/api/v1/accounts/{account_id}/health": "one score per scorecard",
    "/api/v1/accounts/{account_id}/stage-history": "one account's stage changes",
    "/api/v1/accounts/{account_id}/success-plan": "one account's goals",
    "/api/v1/health/scorecards": "the scorecards",
    "/api/v1/segments": "the saved segments",
    "/api/v1/coverage": "one row per CSM",
    "/api/v1/voc/requests": "themes (at most 100)",
    "/api/v1/kb/search": "the best hits (at most 100)",
}


def _spec(world: WebWorld) -> dict[str, Any]:
    admin = {"authorization": f"Bearer {world.api_keys['admin']}"}
    spec: dict[str, Any] = world.client().get("/api/openapi.json", headers=admin).json()
    return spec


def _operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, operations in spec["paths"].items():
        if path.startswith(API):
            for method, operation in operations.items():
                yield path, method, operation


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _leaves(spec: dict[str, Any], schema: dict[str, Any], where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every scalar schema inside ``schema`` with where it is (``body.owner_id``, ``body.account_ids[]``, ...)."""
    schema = _resolve(spec, schema)
    for key in ("anyOf", "oneOf", "allOf"):
        for part in schema.get(key, []):
            yield from _leaves(spec, part, where)
    kind = schema.get("type")
    if kind == "object":
        for name, field in schema.get("properties", {}).items():
            yield from _leaves(spec, field, f"{where}.{name}")
    elif kind == "array":
        yield from _leaves(spec, schema.get("items", {}), f"{where}[]")
    elif kind in ("string", "integer"):
        yield where, schema


def _inputs(spec: dict[str, Any], operation: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for parameter in operation.get("parameters", []):
        yield from _leaves(spec, parameter["schema"], f"{parameter['in']}.{parameter['name']}")
    for content in operation.get("requestBody", {}).get("content", {}).values():
        yield from _leaves(spec, content["schema"], "body")


def test_every_operation_documents_its_errors_with_their_bodies(world: WebWorld) -> None:
    spec = _spec(world)
    missing = []
    for path, method, operation in _operations(spec):
        expected = {"400", "401", "403", "422"}
        if path.startswith("/api/"):
            expected |= {"404"} | ({"409"} if method in WRITES else set())
        for code in sorted(expected):
            body = operation["responses"].get(code, {}).get("content", {}).get("application/json", {}).get("schema")
            wanted = "ValidationErrorBody" if code == "422" else "ErrorBody"
            if body != {"$ref": f"#/components/schemas/{wanted}"}:
                missing.append(f"{method.upper()} {path} {code}")
    assert not missing, missing
    assert set(spec["components"]["schemas"]["ErrorBody"]["required"]) == {"error", "message", "context"}
    assert all(not path.startswith(("/segments", "/kb", "/renewal-center")) for path in spec["paths"])  # pages


def test_every_text_and_number_the_api_takes_is_bounded(world: WebWorld) -> None:
    spec = _spec(world)
    unbounded = []
    for path, method, operation in _operations(spec):
        for where, schema in _inputs(spec, operation):
            if schema.get("enum") or schema.get("const") or schema.get("format") in ("date", "date-time"):
                continue
            if schema["type"] == "string" and "maxLength" not in schema:
                unbounded.append(f"{method.upper()} {path} {where}: text without maxLength")
            bounded = schema.get("maximum", 2**63) < 2**63 or schema.get("exclusiveMaximum", 2**64) <= 2**63
            if schema["type"] == "integer" and not bounded:
                unbounded.append(f"{method.upper()} {path} {where}: whole number without a 64-bit maximum")
    assert not unbounded, "\n".join(unbounded)


def test_every_growing_list_is_one_page_of_the_same_shape(world: WebWorld) -> None:
    spec = _spec(world)
    unpaged, misshapen = [], []
    for path, method, operation in _operations(spec):
        if method != "get":
            continue
        ok = operation["responses"]["200"].get("content", {}).get("application/json", {}).get("schema", {})
        answer = _resolve(spec, ok)
        names = {p["name"]: p for p in operation.get("parameters", [])}
        if answer.get("type") == "array" and path not in BOUNDED_LISTS:
            unpaged.append(path)
        if set(answer.get("properties", {})) >= PAGE_FIELDS or "page" in names:
            bounds = {n: (names[n]["schema"].get("maximum"), names[n]["schema"].get("default")) for n in names}
            if bounds.get("page") != (100_000, 1) or bounds.get("per_page") != (500, 50):
                misshapen.append(f"{path}: page/per_page {bounds.get('page')}, {bounds.get('per_page')}")
            if set(answer.get("required", [])) != PAGE_FIELDS:
                misshapen.append(f"{path}: answers {sorted(answer.get('properties', {}))}")
    assert not unpaged, f"lists answered whole (page them, or say in BOUNDED_LISTS why they stay small): {unpaged}"
    assert not misshapen, misshapen


def _bodies(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(method, path, body schema) of every operation that takes JSON, path ids filled with 1."""
    for path, method, operation in _operations(spec):
        schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
        if schema is not None:
            filled = path.replace("{account_id}", "1").replace("{key}", "x").replace("{kind}", "kickoff")
            filled = "/".join("1" if part.startswith("{") else part for part in filled.split("/"))
            yield method, filled, _resolve(spec, schema)


def _wrong_values(spec: dict[str, Any], body: dict[str, Any]) -> Iterator[tuple[str, object]]:
    """(field, a value it must refuse) for the top-level fields of a JSON body: text one character longer than its
    maxLength, and ``true`` for a whole number."""
    for name, field in body.get("properties", {}).items():
        parts = [_resolve(spec, part) for part in field.get("anyOf", [field])]
        for part in parts:
            if part.get("type") == "string" and "maxLength" in part and not part.get("format"):
                yield name, "x" * (part["maxLength"] + 1)
        if any(part.get("type") == "integer" for part in parts):
            yield name, True


def _refusals(world: WebWorld, spec: dict[str, Any]) -> list[str]:
    """Send every JSON body's text fields a character more than they hold and its whole-number fields ``true``: each
    must be a 422 whose detail names that very field, on this world's database."""
    client = world.client()
    wrong = []
    checked = 0
    for method, path, body in _bodies(spec):
        auth = world.api_keys["ingest" if path.startswith("/v1/") else "admin"]
        headers = {"authorization": f"Bearer {auth}"}
        for name, sent in _wrong_values(spec, body):
            response = client.request(method.upper(), path, json={name: sent}, headers=headers)
            checked += 1
            locs = [d["loc"] for d in response.json().get("detail", [])] if response.status_code == 422 else []
            if ["body", name] not in [loc[:2] for loc in locs]:
                wrong.append(f"{method.upper()} {path} {name}={str(sent)[:12]}: {response.status_code} {locs}")
    assert checked >= 40, checked
    return wrong


def test_json_bodies_refuse_wrong_types_and_over_long_text_naming_the_field(world: WebWorld) -> None:
    assert _refusals(world, _spec(world)) == []
    client = world.client()
    admin = {"authorization": f"Bearer {world.api_keys['admin']}"}
    for owner in (True, "1", 1.0):
        sent = {"title": "x", "owner_id": owner}
        response = client.post("/api/v1/tasks", json=sent, headers=admin)
        assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "owner_id"], owner
    for due in (20260401, "2026", True):
        response = client.post("/api/v1/tasks", json={"title": "x", "due_on": due}, headers=admin)
        assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "due_on"], due
    made = client.post("/api/v1/tasks", json={"title": "x", "owner_id": 1, "due_on": "2026-04-01"}, headers=admin)
    assert made.status_code == 201 and made.json()["due_on"] == "2026-04-01"
    ingest = {"authorization": f"Bearer {world.api_keys['ingest']}"}
    for user in ("u" * 100_000, True):
        response = client.post("/v1/track", json={"userId": user, "event": "E"}, headers=ingest)
        assert response.status_code == 422, response.text
        assert {tuple(d["loc"][:2]) for d in response.json()["detail"]} == {("body", "userId")}


@pytest.fixture
def postgres_world(scratch_postgres_url: str, tmp_path: Path) -> Iterator[WebWorld]:
    """The web test company on a PostgreSQL database of its own, served by the real app."""
    settings = Settings(
        data_dir=tmp_path / "kizuna-data", database_url=scratch_postgres_url, scheduler_in_process=False
    )
    settings.ensure_dirs()
    upgrade(settings.sqlalchemy_url)
    runtime = Runtime.open(settings)
    world = WebWorld(runtime=runtime, app=create_app(settings), **seed_world(runtime))
    try:
        yield world
    finally:
        for client in world.clients:
            client.__exit__(None, None, None)
        runtime.close()
        shutil.rmtree(tmp_path / "kizuna-data", ignore_errors=True)


@pytest.mark.postgres
def test_over_long_text_is_a_422_naming_the_field_on_postgresql(postgres_world: WebWorld) -> None:
    assert _refusals(postgres_world, _spec(postgres_world)) == []
    ingest = {"authorization": f"Bearer {postgres_world.api_keys['ingest']}"}
    client = postgres_world.client()
    response = client.post("/v1/track", json={"userId": "u" * 100_000, "event": "E"}, headers=ingest)
    assert response.status_code == 422 and "out of range" not in response.text
    assert response.json()["detail"][0]["loc"][:2] == ["body", "userId"]
