"""kizuna's MCP server through the SDK's own client (in-process transport), on the web test company: the tools an
assistant sees, what they answer, writes that land and are audited, a read-only key refused, and ``kizuna mcp`` over
stdio as Claude Desktop starts it."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from sqlalchemy import select

from kizuna.activities.models import Activity
from kizuna.assistants.server import build_server, principal_of
from kizuna.audit.models import AuditEntry
from kizuna.auth import service as auth_service
from kizuna.errors import NotAuthenticated
from kizuna.tasks.models import Task
from tests.web.fixtures import WebWorld, refresh_metrics


def _write_key(world: WebWorld) -> str:
    with world.runtime.transaction() as session:
        _, secret = auth_service.create_api_key(session, actor="test", name="assistant", scopes=["write"])
    return secret


def _call(world: WebWorld, secret: str, tool: str, arguments: dict[str, Any]) -> tuple[bool, Any]:
    """(is_error, the answer: structured or text) of one tool call."""
    server = build_server(world.runtime, principal_of(world.runtime, secret))

    async def go() -> tuple[bool, Any]:
        async with Client(server) as client:
            result = await client.call_tool(tool, arguments)
            text = "".join(getattr(c, "text", "") for c in result.content)
            if result.is_error:
                return True, text
            structured = result.structured_content
            if isinstance(structured, dict) and set(structured) == {"result"}:
                return False, structured["result"]
            return False, structured if structured is not None else json.loads(text)

    return asyncio.run(go())


def test_the_tools_an_assistant_sees(world: WebWorld) -> None:
    server = build_server(world.runtime, principal_of(world.runtime, world.api_keys["read"]))

    async def names() -> list[str]:
        async with Client(server) as client:
            return sorted(t.name for t in (await client.list_tools()).tools)

    assert asyncio.run(names()) == [
        "account_360",
        "add_note",
        "create_task",
        "kpis",
        "log_activity",
        "search_accounts",
        "search_knowledge",
        "upcoming_renewals",
    ]


def test_read_tools_answer_from_the_hub_and_the_snapshot(world: WebWorld) -> None:
    refresh_metrics(world)
    key = world.api_keys["read"]
    error, found = _call(world, key, "search_accounts", {"query": "サクラ"})
    assert not error and [a["external_id"] for a in found] == ["ACC-web-0"]
    error, story = _call(world, key, "account_360", {"account": "ACC-web-0"})
    assert not error, story
    assert story["name"] == "株式会社サクラ商事" and story["csm"] == "佐藤 花子"
    assert story["mrr"]["currency"] == "JPY" and story["mrr"]["amount_minor"] > 0
    error, by_name = _call(world, key, "account_360", {"account": "サクラ"})
    assert not error and by_name["id"] == story["id"]
    error, kpis = _call(world, key, "kpis", {"names": ["mrr_minor", "customers"]})
    assert not error and set(kpis["kpis"]) == {"mrr_minor (JPY)", "customers (JPY)"}
    error, message = _call(world, key, "kpis", {"names": ["no_such_kpi"]})
    assert error and "unknown KPI no_such_kpi" in message
    error, message = _call(world, key, "account_360", {"account": "存在しない会社"})
    assert error and "no account matches" in message


def test_writes_need_the_write_scope_land_once_and_are_audited(world: WebWorld) -> None:
    error, message = _call(world, world.api_keys["read"], "create_task", {"account": "ACC-web-1", "title": "QBR準備"})
    assert error and "may only read" in message
    key = _write_key(world)
    error, task = _call(world, key, "create_task", {"account": "ACC-web-1", "title": "QBR準備", "due_on": "2026-12-20"})
    assert not error, task
    error, note = _call(world, key, "add_note", {"account": "ACC-web-1", "text": "決裁者が交代予定\n詳細は次回"})
    assert not error, note
    error, message = _call(world, key, "log_activity", {"account": "ACC-web-1", "kind": "party", "subject": "x"})
    assert error and "unknown activity kind" in message
    with world.runtime.transaction() as session:
        stored = session.get(Task, task["id"])
        assert stored is not None and stored.account_id == world.other_account_id and str(stored.due_on) == "2026-12-20"
        activity = session.get(Activity, note["id"])
        assert activity is not None and activity.kind == "note" and activity.subject == "決裁者が交代予定"
        actors = set(session.scalars(select(AuditEntry.actor).where(AuditEntry.entity.in_(["task", "activity"]))))
        assert any(a.startswith("api_key:") and a.endswith(":assistant") for a in actors)


def test_an_unknown_key_or_an_ingest_key_cannot_serve(world: WebWorld) -> None:
    with pytest.raises(NotAuthenticated):
        principal_of(world.runtime, "not-a-key")
    with pytest.raises(Exception, match="may not read"):
        principal_of(world.runtime, world.api_keys["ingest"])


def test_kizuna_mcp_over_stdio(world: WebWorld) -> None:
    """The command Claude Desktop runs: ``kizuna mcp`` with KIZUNA_API_KEY, spoken to over stdin/stdout."""
    settings = world.runtime.settings
    params = StdioServerParameters(
        command=str(Path(sys.executable).parent / "kizuna"),
        args=["--data-dir", str(settings.data_dir), "mcp"],
        env={**os.environ, "KIZUNA_API_KEY": world.api_keys["read"], "KIZUNA_DATABASE_URL": settings.sqlalchemy_url},
    )

    async def go() -> Any:
        async with Client(params) as client:
            result = await client.call_tool("search_accounts", {"query": "Acme"})
            return result.structured_content

    answer = asyncio.run(go())
    assert [a["external_id"] for a in answer["result"]] == ["ACC-web-1"]
