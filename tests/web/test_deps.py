"""The request's session: what a POST wrote is committed before its response (a redirect) leaves the server."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from kizuna import models as m
from tests.web.fixtures import WebWorld, csrf_of


def test_a_form_post_is_committed_before_its_redirect_is_sent(world: WebWorld) -> None:
    # A browser follows the 303 at once; were the commit after the response, its GET could show the page without
    # the new task (a real failure of the browser journey under load).
    tasks_when_sent: list[int] = []
    app = world.app

    async def probe(scope: dict[str, Any], receive: Any, send: Any) -> None:
        async def watched_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start" and scope.get("method") == "POST":
                with world.runtime.transaction() as session:
                    tasks_when_sent.append(session.scalar(select(func.count()).select_from(m.Task)) or 0)
            await send(message)

        await app(scope, receive, watched_send)

    world.app = probe
    client = world.client("csm")
    page = client.get(f"/accounts/{world.account_id}")
    response = client.post(
        f"/accounts/{world.account_id}/tasks",
        data={"title": "更新前の利用状況レビュー", "priority": "high", "csrf_token": csrf_of(page.text)},
    )
    assert response.status_code == 303
    assert tasks_when_sent == [1]
