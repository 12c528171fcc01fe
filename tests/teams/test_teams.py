"""Microsoft Teams end to end: a playbook's Adaptive Card through the outbox to a loopback Workflows webhook (429
waited out, 5xx retried later, posted exactly once per idempotency key) on SQLite and PostgreSQL; the card's signed
links acting once as the signed-in user, bad and expired signatures refused; /connectors/teams; kizuna connect teams."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select
from typer.testing import CliRunner

from kizuna import models as m
from kizuna.auth.deps import LANGUAGE_COOKIE
from kizuna.cli import build_app
from kizuna.connectors import credentials
from kizuna.platform.outbox.models import MessageStatus
from kizuna.platform.outbox.service import DeliveryPolicy
from kizuna.playbooks.jobs import tick
from kizuna.playbooks.service import import_playbook
from kizuna.runtime import Runtime
from kizuna.tasks.service import create_task
from kizuna.teams import service as teams
from tests import factories
from tests.teams.webhook_peer import TeamsWebhookPeer
from tests.web.fixtures import WebWorld, csrf_of
from tests.web.test_words import problems

FAST = DeliveryPolicy(backoff_seconds=0.0, requeue_seconds=0.0)
SECRET = "0YdT4m2v9Qk3pX7sL1nB8cR5wE6uJ0aZ-test"

PLAYBOOK = """
key: new-account-teams
name: {ja: 新規アカウントをTeamsで共有, en: New accounts to Teams}
enabled: true
trigger: {type: account_created, within_days: 3}
actions:
  - type: teams
    title: {ja: "キックオフ: {{ account.name }}", en: "Kick off {{ account.name }}"}
"""


def _hub(runtime: Runtime, webhook_url: str) -> None:
    credentials.save(runtime.settings, "teams", {"webhook_url": webhook_url, "link_secret": SECRET})
    with runtime.transaction() as session:
        owner = factories.team_member(session, name="佐藤", email="sato@example.jp")
        factories.account(session, name="株式会社きずな", owner_id=owner.id, created_at=dt.datetime.now(dt.UTC))
        import_playbook(session, actor="t", yaml_text=PLAYBOOK)


def _teams_messages(runtime: Runtime) -> list[m.OutboundMessage]:
    with runtime.transaction() as session:
        return list(
            session.scalars(
                select(m.OutboundMessage).where(m.OutboundMessage.channel == "teams").order_by(m.OutboundMessage.id)
            )
        )


def test_a_playbook_posts_one_adaptive_card_through_the_outbox_exactly_once(
    db_runtime: Runtime, teams_peer: tuple[TeamsWebhookPeer, str]
) -> None:
    peer, url = teams_peer
    peer.answers = [429, 500]  # Retry-After waited out inline, then a server error: left for the next round
    _hub(db_runtime, url)
    now = dt.datetime.now(dt.UTC)
    tick(db_runtime, now=now, policy=FAST)
    [message] = _teams_messages(db_runtime)
    assert message.status == MessageStatus.queued and "HTTP 500" in (message.last_error or "")
    assert message.recipient == "teams:default" and url not in str(message.payload)  # the URL is a credential
    assert peer.cards == []
    tick(db_runtime, now=now + dt.timedelta(minutes=1), policy=FAST)
    tick(db_runtime, now=now + dt.timedelta(minutes=2), policy=FAST)
    [message] = _teams_messages(db_runtime)
    assert message.status == MessageStatus.sent
    [card] = peer.cards  # once, however often the worker runs
    assert [status for status, _ in peer.requests] == [429, 500, 202]
    assert {key for _, key in peer.requests} == {message.idempotency_key}

    with db_runtime.transaction() as session:
        task = session.scalars(select(m.Task)).one()
    assert card["version"] == "1.4"
    assert card["body"][0]["text"] == "顧客: 株式会社きずな"
    assert card["body"][2]["text"] == f"タスク #{task.id}: キックオフ: 株式会社きずな"
    assert [a["type"] for a in card["actions"]] == ["Action.OpenUrl"] * 3
    assert [a["title"] for a in card["actions"]] == ["1週間スヌーズ", "完了", "顧客360を開く"]
    assert card["actions"][2]["url"].endswith(f"/accounts/{task.account_id}")
    for verb, action in zip(("snooze", "done"), card["actions"], strict=False):
        link = urlsplit(action["url"])
        assert link.path == "/teams/act"
        signed = teams.verify_link(SECRET.encode(), parse_qs(link.query)["token"][0], now=dt.datetime.now(dt.UTC))
        assert (signed.task_id, signed.verb) == (task.id, verb)
        assert (
            dt.timedelta(days=14) - dt.timedelta(seconds=1) <= signed.expires - now <= dt.timedelta(days=14, minutes=1)
        )

    # the same key queued again (a job run twice) is the same message: nothing more is posted
    with db_runtime.transaction() as session:
        account = session.get(m.Account, task.account_id)
        assert account is not None
        _again, created = teams.queue_post(
            session,
            settings=db_runtime.settings,
            idempotency_key=message.idempotency_key,
            webhook="default",
            account=account,
            task=task,
            reason="again",
            language="ja",
            source="test",
            now=now,
        )
    assert not created
    tick(db_runtime, now=now + dt.timedelta(minutes=3), policy=FAST)
    assert len(peer.cards) == 1


def test_signed_links_act_once_as_the_signed_in_user_and_bad_or_expired_ones_are_refused(world: WebWorld) -> None:
    credentials.save(world.runtime.settings, "teams", {"link_secret": SECRET})
    with world.runtime.transaction() as session:
        task, _ = create_task(
            session,
            actor="t",
            title="更新前の利用状況レビュー",
            account_id=world.account_id,
            owner_id=world.team_member_id,
        )
    now = dt.datetime.now(dt.UTC)
    secret = SECRET.encode()
    done = teams.sign_link(secret, task_id=task.id, verb="done", expires=now + dt.timedelta(days=1))
    client = world.client("csm")

    page = client.get("/teams/act", params={"token": done})
    assert page.status_code == 200 and "完了にする" in page.text and "更新前の利用状況レビュー" in page.text
    assert problems(page.text, "ja") == []
    forged = done[:-2] + ("AA" if not done.endswith("AA") else "BB")
    expired = teams.sign_link(secret, task_id=task.id, verb="done", expires=now - dt.timedelta(seconds=1))
    refused = [
        client.get("/teams/act", params={"token": forged}),
        client.get("/teams/act", params={"token": f"{task.id + 1}.{done.split('.', 1)[1]}"}),  # another task
        client.post("/teams/act", data={"token": expired, "csrf_token": csrf_of(page.text)}),
        client.get("/teams/act", params={"token": "1.delete.99999999999.x"}),
    ]
    assert [r.status_code for r in refused] == [403, 403, 403, 403]
    assert "signature does not verify" in refused[0].text and "expired" in refused[2].text
    with world.runtime.transaction() as session:
        assert session.get(m.Task, task.id).status == "open"  # type: ignore[union-attr]
    without = client.get("/teams/act")  # opened from the address bar: where the links come from, nothing to do
    assert without.status_code == 200 and 'id="teams-no-link"' in without.text
    assert 'action="/teams/act"' not in without.text

    acted = client.post("/teams/act", data={"token": done, "csrf_token": csrf_of(page.text)})
    assert acted.status_code == 200 and "完了にしました。" in acted.text
    again = client.post("/teams/act", data={"token": done, "csrf_token": csrf_of(page.text)})
    assert "このリンクは使用済みです" in again.text
    with world.runtime.transaction() as session:
        assert session.get(m.Task, task.id).status == "done"  # type: ignore[union-attr]
        actors = session.scalars(
            select(m.AuditEntry.actor).where(m.AuditEntry.entity == "task", m.AuditEntry.action == "complete")
        ).all()
    assert len(actors) == 1 and actors[0].endswith("(Teams link)") and actors[0].startswith("user:")

    client.cookies.set(LANGUAGE_COOKIE, "en")
    snooze = teams.sign_link(secret, task_id=task.id, verb="snooze", expires=now + dt.timedelta(days=1))
    english = client.get("/teams/act", params={"token": snooze})
    assert "Snooze a week" in english.text and "Done" in english.text
    assert problems(english.text, "en") == []
    anonymous = world.client()
    assert anonymous.post("/teams/act", data={"token": snooze}).status_code in (303, 401, 403)


def test_the_status_page_shows_the_teams_messages(world: WebWorld) -> None:
    credentials.save(
        world.runtime.settings, "teams", {"link_secret": SECRET, "webhook_url": "https://example.invalid/x"}
    )
    with world.runtime.transaction() as session:
        task, _ = create_task(session, actor="t", title="フォロー", account_id=world.account_id)
        account = session.get(m.Account, world.account_id)
        assert account is not None
        teams.queue_post(
            session,
            settings=world.runtime.settings,
            idempotency_key="test:teams:1",
            webhook="default",
            account=account,
            task=task,
            reason="利用が減っています",
            language="ja",
            source="test",
            now=dt.datetime.now(dt.UTC),
        )
    admin = world.client("admin")
    listed = admin.get("/connectors")
    assert "Microsoft Teams" in listed.text
    page = admin.get("/connectors/teams")
    assert page.status_code == 200 and "送信メッセージ" in page.text and "送信待ち 1" in page.text
    assert problems(page.text, "ja") == []


def test_connect_teams_keeps_the_url_secret_and_makes_a_link_secret(tmp_path: Path) -> None:
    app, data = build_app(), str(tmp_path / "data")
    assert CliRunner().invoke(app, ["--data-dir", data, "init"]).exit_code == 0
    url = "https://prod-01.japaneast.logic.azure.com/workflows/abc/triggers/manual/paths/invoke?sig=Zz0123456789"
    connected = CliRunner().invoke(app, ["--data-dir", data, "connect", "teams", "--webhook-url", url])
    assert connected.exit_code == 0, connected.output
    assert url not in connected.output and "…6789" in connected.output
    stored = credentials.load(credentials_settings(data), "teams")
    assert stored["webhook_url"] == url and len(stored["link_secret"]) >= 40
    refused = CliRunner().invoke(app, ["--data-dir", data, "connect", "teams", "--webhook-url", "http://x.example/"])
    assert refused.exit_code == 1 and "https://" in refused.output
    # a second channel keeps the first one's link secret
    CliRunner().invoke(app, ["--data-dir", data, "connect", "teams", "--webhook-url", url + "2", "--name", "cs-leads"])
    again = credentials.load(credentials_settings(data), "teams")
    assert again["link_secret"] == stored["link_secret"] and again["webhook_url_cs-leads"] == url + "2"


def credentials_settings(data: str):  # type: ignore[no-untyped-def]
    from kizuna.settings import Settings

    return Settings(data_dir=Path(data))
