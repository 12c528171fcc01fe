"""Slack end to end: a playbook's message through the outbox to a loopback Slack Web API (429s waited out, errors
retried later, nothing posted twice), and signed button clicks that act back on the task once -- on SQLite and
PostgreSQL, through the real app."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import time
import warnings
from typing import Any
from urllib.parse import parse_qs, urlencode

import pytest
from sqlalchemy import func, select

from kizuna import models as m
from kizuna.auth.service import create_user
from kizuna.connectors import credentials
from kizuna.errors import InvalidInput
from kizuna.platform.outbox.models import MessageStatus
from kizuna.platform.outbox.service import DeliveryPolicy
from kizuna.playbooks.jobs import tick
from kizuna.playbooks.schemas import parse_playbook_yaml
from kizuna.playbooks.service import import_playbook
from kizuna.runtime import Runtime
from kizuna.web.app import create_app
from tests import factories
from tests.slack.slack_api import SlackPeer

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

FAST = DeliveryPolicy(backoff_seconds=0.0, requeue_seconds=0.0)
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
CSM_EMAIL = "sato@example.jp"

PLAYBOOK = """
key: new-account-slack
name: {ja: 新規アカウントをSlackで共有, en: New accounts to Slack}
enabled: true
trigger: {type: account_created, within_days: 3}
actions:
  - type: slack
    channel: CHANNEL
    dm_owner: true
    title: {ja: "キックオフ: {{ account.name }}", en: "Kick off {{ account.name }}"}
"""


def _hub(runtime: Runtime, api_base: str, *, channel: str = "C0KIZUNA") -> None:
    credentials.save(
        runtime.settings, "slack", {"bot_token": "xoxb-test-0001", "signing_secret": SECRET, "api_base": api_base}
    )
    with runtime.transaction() as session:
        owner = factories.team_member(session, name="佐藤", email=CSM_EMAIL)
        factories.account(session, name="株式会社きずな<&>", owner_id=owner.id, created_at=dt.datetime.now(dt.UTC))
        create_user(session, actor="t", email=CSM_EMAIL, name="佐藤", password="pw-0123456789", role="csm")
        import_playbook(session, actor="t", yaml_text=PLAYBOOK.replace("CHANNEL", channel))


def _messages(runtime: Runtime) -> list[m.OutboundMessage]:
    with runtime.transaction() as session:
        return list(session.scalars(select(m.OutboundMessage).order_by(m.OutboundMessage.id)))


def _task(runtime: Runtime) -> m.Task:
    with runtime.transaction() as session:
        return session.scalars(select(m.Task)).one()


def test_a_playbook_posts_block_kit_to_the_channel_and_the_owners_dm_once(
    db_runtime: Runtime, slack_peer: tuple[SlackPeer, str]
) -> None:
    peer, api_base = slack_peer
    peer.users = {"U0SATO": CSM_EMAIL}
    peer.rate_limited = {"chat.postMessage": 1}  # Slack's 429 with Retry-After: waited out, then posted
    _hub(db_runtime, api_base)
    now = dt.datetime.now(dt.UTC)
    summary = tick(db_runtime, now=now, policy=FAST)
    assert summary["messages"]["sent"] == 2
    task = _task(db_runtime)
    assert task.status == "open" and task.title == "キックオフ: 株式会社きずな<&>"
    posts = peer.posts()
    assert [p["channel"] for p in posts] == ["C0KIZUNA", "C0KIZUNA", "D0SATO"]  # the first one answered 429
    [lookup] = [args for method, args in peer.calls if method == "users.lookupByEmail"]
    assert lookup["email"] == CSM_EMAIL
    blocks = posts[-1]["blocks"]
    assert "株式会社きずな&lt;&amp;&gt;" in blocks[0]["text"]["text"]
    assert f"/accounts/{task.account_id}" in blocks[0]["text"]["text"]
    buttons = blocks[-1]["elements"]
    assert [b.get("value") for b in buttons] == [f"snooze:{task.id}", f"done:{task.id}", f"assign:{task.id}", None]
    assert buttons[-1]["url"].endswith(f"/accounts/{task.account_id}")
    # the next round: the same firing acts on nothing again and posts nothing
    tick(db_runtime, now=now, policy=FAST)
    assert len(peer.posts()) == 3 and {msg.status for msg in _messages(db_runtime)} == {MessageStatus.sent}


def test_a_refused_post_is_retried_later_with_slacks_error(
    db_runtime: Runtime, slack_peer: tuple[SlackPeer, str]
) -> None:
    peer, api_base = slack_peer
    _hub(db_runtime, api_base, channel="C0GONE")
    tick(db_runtime, now=dt.datetime.now(dt.UTC), policy=FAST)
    to_channel, to_owner = _messages(db_runtime)  # no such channel; the owner's e-mail is no Slack user yet
    assert {to_channel.status, to_owner.status} == {MessageStatus.queued} and to_channel.attempts == 1
    assert "channel_not_found" in (to_channel.last_error or "") and "users_not_found" in (to_owner.last_error or "")
    assert peer.posts() and not [method for method, _ in peer.calls if method == "conversations.open"]
    peer.channels.add("C0GONE")  # the channel is created and the CSM joins Slack: the next round delivers
    peer.users = {"U0SATO": CSM_EMAIL}
    tick(db_runtime, now=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1), policy=FAST)
    assert [msg.status for msg in _messages(db_runtime)] == [MessageStatus.sent, MessageStatus.sent]
    assert [p["channel"] for p in peer.posts()] == ["C0GONE", "C0GONE", "D0SATO"]


def _signed(body: str, *, secret: str = SECRET, at: int | None = None) -> dict[str, str]:
    timestamp = str(at if at is not None else int(time.time()))
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": "application/x-www-form-urlencoded",
    }


def _click(verb: str, task_id: int, *, trigger: str = "13345224609.738474920.8088930838d88f008e0") -> str:
    payload: dict[str, Any] = {
        "type": "block_actions",
        "trigger_id": trigger,
        "user": {"id": "U0SATO", "username": "sato", "team_id": "T0KIZUNA"},
        "team": {"id": "T0KIZUNA"},
        "actions": [
            {
                "type": "button",
                "action_id": verb,
                "block_id": f"kizuna-task-{task_id}",
                "value": f"{verb}:{task_id}",
                "action_ts": "1700000123.456789",
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)})


def _audits(runtime: Runtime) -> list[tuple[str, str]]:
    with runtime.transaction() as session:
        rows = session.execute(
            select(m.AuditEntry.actor, m.AuditEntry.action).where(m.AuditEntry.entity == "task")
        ).all()
        return [(r.actor, r.action) for r in rows]


def test_signed_clicks_act_back_once_and_bad_signatures_change_nothing(
    db_runtime: Runtime, slack_peer: tuple[SlackPeer, str]
) -> None:
    peer, api_base = slack_peer
    peer.users = {"U0SATO": CSM_EMAIL}
    _hub(db_runtime, api_base)
    tick(db_runtime, now=dt.datetime.now(dt.UTC), policy=FAST)
    task = _task(db_runtime)
    before = _audits(db_runtime)
    with TestClient(create_app(db_runtime.settings), follow_redirects=False) as client:
        body = _click("snooze", task.id)
        refused = [
            client.post("/slack/actions", content=body, headers=_signed(body, secret="another-secret")),
            client.post("/slack/actions", content=body, headers=_signed(body, at=int(time.time()) - 301)),
            client.post("/slack/actions", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}),
            client.post("/slack/actions", content=body + "x", headers=_signed(body)),
        ]
        assert [r.status_code for r in refused] == [401, 401, 401, 401]
        assert _task(db_runtime).status == "open" and _audits(db_runtime) == before
        with db_runtime.transaction() as session:
            assert session.scalar(select(func.count()).select_from(m.ReceivedEvent)) == 0

        answer = client.post("/slack/actions", content=body, headers=_signed(body))
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"outcomes": ["snoozed"]}
        snoozed = _task(db_runtime)
        assert snoozed.status == "snoozed" and snoozed.snoozed_until == dt.date.today() + dt.timedelta(days=7)
        # Slack redelivers the same click: acknowledged, nothing done again
        again = client.post("/slack/actions", content=body, headers=_signed(body))
        assert again.json() == {"outcomes": ["duplicate"]}
        after_snooze = _audits(db_runtime)
        assert after_snooze[len(before) :] == [(after_snooze[-1][0], "snooze")]
        assert after_snooze[-1][0].startswith("user:") and CSM_EMAIL in after_snooze[-1][0]

        done = _click("done", task.id, trigger="99.88.77")
        assert client.post("/slack/actions", content=done, headers=_signed(done)).json() == {"outcomes": ["done"]}
        assert _task(db_runtime).status == "done"


def test_a_click_from_a_slack_user_without_a_kizuna_account_is_refused(
    db_runtime: Runtime, slack_peer: tuple[SlackPeer, str]
) -> None:
    peer, api_base = slack_peer
    peer.users = {"U0SATO": "stranger@example.com"}
    _hub(db_runtime, api_base)
    tick(db_runtime, now=dt.datetime.now(dt.UTC), policy=FAST)
    task = _task(db_runtime)
    with TestClient(create_app(db_runtime.settings), follow_redirects=False) as client:
        body = _click("done", task.id)
        answer = client.post("/slack/actions", content=body, headers=_signed(body))
    assert answer.status_code == 404 and "stranger@example.com" in answer.text
    assert _task(db_runtime).status == "open"


def test_a_slack_action_needs_somewhere_to_post() -> None:
    nowhere = PLAYBOOK.replace("    channel: CHANNEL\n    dm_owner: true\n", "")
    with pytest.raises(InvalidInput, match=r"<yaml>:7: actions.0.slack: .*a slack action needs a channel"):
        parse_playbook_yaml(nowhere)


def _click_on(verb: str, task_id: int, *, channel: str, ts: str, message: dict[str, Any], trigger: str) -> str:
    """A click as Slack sends it from a message: the container names the channel and the message's ts."""
    payload: dict[str, Any] = json.loads(parse_qs(_click(verb, task_id, trigger=trigger))["payload"][0])
    payload["container"] = {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": False}
    payload["channel"] = {"id": channel, "name": "cs-team"}
    payload["message"] = {"type": "message", "ts": ts, "text": message["text"], "blocks": message["blocks"]}
    payload["response_url"] = "https://hooks.slack.com/actions/T0KIZUNA/1/abc"
    return urlencode({"payload": json.dumps(payload)})


def test_a_click_updates_the_message_with_what_was_done_and_by_whom_once(
    db_runtime: Runtime, slack_peer: tuple[SlackPeer, str]
) -> None:
    peer, api_base = slack_peer
    peer.users = {"U0SATO": CSM_EMAIL}
    _hub(db_runtime, api_base)
    tick(db_runtime, now=dt.datetime.now(dt.UTC), policy=FAST)
    task = _task(db_runtime)
    [(channel, ts)] = [key for key in peer.messages if key[0] == "C0KIZUNA"]
    with TestClient(create_app(db_runtime.settings), follow_redirects=False) as client:
        snooze = _click_on("snooze", task.id, channel=channel, ts=ts, message=peer.messages[(channel, ts)], trigger="1")
        assert client.post("/slack/actions", content=snooze, headers=_signed(snooze)).json() == {
            "outcomes": ["snoozed"]
        }
        assert client.post("/slack/actions", content=snooze, headers=_signed(snooze)).json() == {
            "outcomes": ["duplicate"]
        }
        tick(db_runtime, now=dt.datetime.now(dt.UTC), policy=FAST)  # the worker sends the update after commit
        updates = [args for method, args in peer.calls if method == "chat.update"]
        assert [(u["channel"], u["ts"]) for u in updates] == [(channel, ts)]  # once, though Slack sent it twice
        blocks = peer.messages[(channel, ts)]["blocks"]
        until = (dt.date.today() + dt.timedelta(days=7)).isoformat()
        assert blocks[-1]["elements"][0]["text"] == f":zzz: 佐藤 さんが {until} までスヌーズしました"
        assert any(b["type"] == "actions" for b in blocks)  # a snoozed task can still be completed from here

        done = _click_on("done", task.id, channel=channel, ts=ts, message=peer.messages[(channel, ts)], trigger="2")
        assert client.post("/slack/actions", content=done, headers=_signed(done)).json() == {"outcomes": ["done"]}
        tick(db_runtime, now=dt.datetime.now(dt.UTC), policy=FAST)
    blocks = peer.messages[(channel, ts)]["blocks"]
    assert [b["type"] for b in blocks] == ["section", "section", "context", "context"]  # buttons gone, one status
    assert blocks[-1]["elements"][0]["text"] == ":white_check_mark: 佐藤 さんが完了しました"
    assert "株式会社きずな&lt;&amp;&gt;" in blocks[0]["text"]["text"]  # the rest of the message as it was
    sent = [msg for msg in _messages(db_runtime) if msg.recipient.startswith("update:")]
    assert [(msg.recipient, msg.status) for msg in sent] == [(f"update:{channel}/{ts}", MessageStatus.sent)] * 2
