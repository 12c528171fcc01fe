"""The playbooks pages through the real app: the run log (what every playbook did, with its jobs) is paged."""

from __future__ import annotations

import datetime as dt

from kizuna import models as m
from kizuna.auth.deps import LANGUAGE_COOKIE
from kizuna.playbooks.service import import_playbook
from tests.web.fixtures import WebWorld, _world_template, world  # noqa: F401

PLAYBOOK = """key: call-back
name: {ja: 折り返し, en: Call back}
trigger: {type: nps_detractor}
actions:
  - {type: create_task, title: 電話}
"""


def test_the_run_log_is_paged_with_its_total(world: WebWorld) -> None:  # noqa: F811
    with world.runtime.transaction() as session:
        playbook, _ = import_playbook(session, actor="test", yaml_text=PLAYBOOK)
        run = m.PlaybookRun(playbook_id=playbook.id, version=1, mode="live", started_at=dt.datetime.now(dt.UTC))
        session.add(run)
        session.flush()
        for i in range(120):
            session.add(
                m.PlaybookRunAccount(
                    run_id=run.id,
                    account_id=world.account_id,
                    reason=f"理由-{i:03}",
                    outcome="queued",
                    firing_key=f"call-back:{world.account_id}:{i}",
                )
            )
    client = world.client("viewer")
    for path in ("/playbooks", "/playbooks/call-back"):
        first = client.get(path)
        assert "理由-119" in first.text and "理由-069" not in first.text and "全120件" in first.text
        last = client.get(path, params={"page": 3})
        assert "理由-019" in last.text and "理由-020" not in last.text and "3 / 3 ページ" in last.text
        assert f'href="{path}?page=2"' in last.text
    client.cookies.set(LANGUAGE_COOKIE, "en")
    assert "120 in all" in client.get("/playbooks", params={"page": 2}).text


def test_the_api_gives_the_run_log_a_page_at_a_time(world: WebWorld) -> None:  # noqa: F811
    with world.runtime.transaction() as session:
        playbook, _ = import_playbook(session, actor="test", yaml_text=PLAYBOOK)
        run = m.PlaybookRun(playbook_id=playbook.id, version=1, mode="live", started_at=dt.datetime.now(dt.UTC))
        session.add(run)
        session.flush()
        for i in range(3):
            firing = f"call-back:{world.account_id}:{i}"
            session.add(
                m.PlaybookRunAccount(
                    run_id=run.id, account_id=world.account_id, reason=f"理由-{i}", outcome="queued", firing_key=firing
                )
            )
            session.add(
                m.PendingJob(
                    idempotency_key=f"{firing}:a0",
                    kind="action",
                    account_id=world.account_id,
                    payload={"action": {"type": "create_task"}},
                    status="done" if i else "pending",
                )
            )
    client = world.client()
    read = {"authorization": f"Bearer {world.api_keys['read']}"}
    first = client.get("/api/v1/playbooks/runs", params={"per_page": 2}, headers=read).json()
    assert (first["total"], first["page"], first["per_page"]) == (3, 1, 2)
    assert [r["reason"] for r in first["items"]] == ["理由-2", "理由-1"]
    assert first["items"][0]["actions"] == [{"type": "create_task", "status": "done", "result": None, "error": None}]
    last = client.get("/api/v1/playbooks/runs", params={"per_page": 2, "page": 2, "key": "call-back"}, headers=read)
    assert [(r["reason"], r["actions"][0]["status"]) for r in last.json()["items"]] == [("理由-0", "pending")]
    assert client.get("/api/v1/playbooks/runs", params={"key": "nope"}, headers=read).json()["total"] == 0
