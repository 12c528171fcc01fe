"""Schemathesis against the OpenAPI spec the real app serves (a real SQLite data dir): a bounded number of generated
requests per operation; none may fail with a server error (5xx), answer a status code the spec does not document for
that operation, or a body (errors too) that does not match the documented schema."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.web.fixtures import WebWorld

MAX_EXAMPLES = 12
#: the documented status codes, content types and bodies (errors too) are what the app answers
CONFORMANCE = [status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.mark.slow
def test_no_server_errors(world: WebWorld) -> None:
    client = world.client()
    admin = {"authorization": f"Bearer {world.api_keys['admin']}"}
    spec = client.get("/api/openapi.json", headers=admin).json()
    schema = schemathesis.openapi.from_dict(spec)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    failures: list[str] = []

    def fuzz(operation: Any, auth: dict[str, str]) -> None:
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(data=st.data())
        def run(data: st.DataObject) -> None:
            case = data.draw(operation.as_strategy())
            kwargs = case.as_transport_kwargs(base_url="http://testserver")
            headers = {**(kwargs.get("headers") or {}), **auth}
            response = client.request(
                kwargs["method"],
                kwargs["url"],
                params=kwargs.get("params"),
                headers=headers,
                content=kwargs.get("data") if isinstance(kwargs.get("data"), bytes | str) else None,
                json=kwargs.get("json"),
                cookies=None,
            )
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:200]}")
                return
            try:
                case.validate_response(response, checks=CONFORMANCE)
            except Exception as exc:  # schemathesis raises a group of its check failures
                failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: {str(exc)[:300]}")

        run()

    for operation in operations:
        ingest = operation.path.startswith("/v1/")
        fuzz(operation, {"authorization": f"Bearer {world.api_keys['ingest']}"} if ingest else admin)
    assert not failures, "\n".join(failures[:20])
