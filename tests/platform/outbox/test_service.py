from __future__ import annotations

from email.header import decode_header, make_header

import pytest
from sqlalchemy import select

from kizuna.platform.outbox.models import MessageStatus, OutboundMessage
from kizuna.platform.outbox.service import (
    DeliveryPolicy,
    deliver_queued,
    message_id,
    queue_email,
    queue_webhook,
    render_email,
)
from kizuna.runtime import Runtime
from tests.platform.outbox.loopback import SmtpServer, WebhookPeer

FAST = DeliveryPolicy(backoff_seconds=0.01, requeue_seconds=0.0)


def _with_smtp(runtime: Runtime, smtp: SmtpServer) -> None:
    runtime.settings = runtime.settings.model_copy(update={"smtp_host": smtp.host, "smtp_port": smtp.port})


def test_templates_render_in_japanese_and_english() -> None:
    context = {"account": {"name": "株式会社サンプル"}, "contact": {"name": "佐藤"}, "owner": {"name": "鈴木"}}
    subject_ja, body_ja = render_email("check_in", language="ja", context=context)
    subject_en, body_en = render_email("check_in", language="en", context=context)
    assert "株式会社サンプル 様" in subject_ja and "佐藤 様" in body_ja
    assert subject_en.startswith("How is it going") and "Hello 佐藤" in body_en


def test_email_is_sent_once_through_a_real_smtp_server(runtime: Runtime, smtp_server: SmtpServer) -> None:
    _with_smtp(runtime, smtp_server)
    with runtime.transaction() as session:
        _, created = queue_email(
            session, idempotency_key="k-1", to="taro@example.jp", subject="ご案内", body="本文です"
        )
        _, created_again = queue_email(session, idempotency_key="k-1", to="taro@example.jp", subject="x", body="y")
    assert created and not created_again
    assert smtp_server.messages == []  # queued, not sent, until delivery runs after commit
    report = deliver_queued(runtime.sessions, settings=runtime.settings, policy=FAST)
    again = deliver_queued(runtime.sessions, settings=runtime.settings, policy=FAST)
    assert (report.sent, again.sent) == (1, 0)
    [mail] = smtp_server.messages
    assert str(make_header(decode_header(mail["Subject"]))) == "ご案内"
    assert mail["Message-ID"] == message_id("k-1")
    assert smtp_server.recipients == [["taro@example.jp"]]
    with runtime.transaction() as session:
        assert session.scalars(select(OutboundMessage.status)).all() == [MessageStatus.sent]


def test_without_smtp_emails_go_to_the_outbox_directory(runtime: Runtime) -> None:
    with runtime.transaction() as session:
        queue_email(session, idempotency_key="k-2", to="hanako@example.jp", subject="件名", body="本文")
    report = deliver_queued(runtime.sessions, settings=runtime.settings, policy=FAST)
    assert report.outbox == 1
    [eml] = list(runtime.settings.outbox_dir.glob("*.eml"))
    assert b"hanako@example.jp" in eml.read_bytes()
    with runtime.transaction() as session:
        row = session.scalars(select(OutboundMessage)).one()
        assert row.status == MessageStatus.outbox and row.outbox_path == str(eml)


def test_a_failing_webhook_is_retried_with_back_off_and_sent_once(runtime: Runtime, webhook_peer: WebhookPeer) -> None:
    webhook_peer.script["/hook"] = [500]
    with runtime.transaction() as session:
        queue_webhook(session, idempotency_key="w-1", url=webhook_peer.url("/hook"), payload={"text": "解約リスク"})
    slept: list[float] = []
    policy = DeliveryPolicy(backoff_seconds=0.01, sleep=slept.append)
    report = deliver_queued(runtime.sessions, settings=runtime.settings, policy=policy)
    assert report.sent == 1
    calls = webhook_peer.calls("/hook")
    assert [c["status"] for c in calls] == [500, 200]
    assert calls[1]["json"] == {"text": "解約リスク"} and calls[1]["headers"]["Idempotency-Key"] == "w-1"
    assert slept == [0.01]
    deliver_queued(runtime.sessions, settings=runtime.settings, policy=policy)
    assert len(webhook_peer.calls("/hook")) == 2


def test_a_webhook_that_keeps_failing_is_requeued_then_given_up(runtime: Runtime, webhook_peer: WebhookPeer) -> None:
    webhook_peer.script["/down"] = [503] * 100
    with runtime.transaction() as session:
        message, _ = queue_webhook(session, idempotency_key="w-2", url=webhook_peer.url("/down"), payload={})
        message.max_attempts = 2
    policy = DeliveryPolicy(inline_retries=1, backoff_seconds=0.0, requeue_seconds=0.0)
    first = deliver_queued(runtime.sessions, settings=runtime.settings, policy=policy)
    second = deliver_queued(runtime.sessions, settings=runtime.settings, policy=policy)
    assert (first.retrying, second.failed) == (1, 1)
    assert len(webhook_peer.calls("/down")) == 4
    with runtime.transaction() as session:
        row = session.scalars(select(OutboundMessage)).one()
        assert row.status == MessageStatus.failed and "503" in (row.last_error or "")


@pytest.mark.parametrize("bad", ["not-an-address", ""])
def test_bad_addresses_are_refused(runtime: Runtime, bad: str) -> None:
    from kizuna.errors import InvalidInput

    with runtime.transaction() as session, pytest.raises(InvalidInput):
        queue_email(session, idempotency_key="k", to=bad, subject="s", body="b")


def test_a_dead_webhook_peer_does_not_hold_up_the_round(runtime: Runtime, webhook_peer: WebhookPeer) -> None:
    webhook_peer.script["/dead"] = [500] * 100
    with runtime.transaction() as session:
        for i in range(3):
            queue_webhook(session, idempotency_key=f"d-{i}", url=webhook_peer.url("/dead"), payload={"i": i})
        queue_webhook(session, idempotency_key="alive", url=webhook_peer.url("/alive"), payload={})
    policy = DeliveryPolicy(inline_retries=2, backoff_seconds=0.0, requeue_seconds=0.0)
    report = deliver_queued(runtime.sessions, settings=runtime.settings, policy=policy)
    assert (report.sent, report.retrying) == (1, 1)
    assert len(webhook_peer.calls("/dead")) == 3  # one message tried three times; the other two not at all
    with runtime.transaction() as session:
        untried = session.scalars(
            select(OutboundMessage.attempts).where(OutboundMessage.idempotency_key.in_(["d-1", "d-2"]))
        ).all()
    assert untried == [0, 0]  # not claimed this round: their attempts are not used up by another's failure


def test_messages_handed_back_after_a_failure_do_not_count_against_the_round(
    runtime: Runtime, webhook_peer: WebhookPeer
) -> None:
    webhook_peer.script["/dead"] = [500] * 100
    with runtime.transaction() as session:
        for i in range(3):
            queue_webhook(session, idempotency_key=f"d-{i}", url=webhook_peer.url("/dead"), payload={"i": i})
        queue_webhook(session, idempotency_key="alive", url=webhook_peer.url("/alive"), payload={})
    policy = DeliveryPolicy(inline_retries=0, backoff_seconds=0.0, requeue_seconds=0.0)
    report = deliver_queued(runtime.sessions, settings=runtime.settings, policy=policy, limit=2)
    assert (report.sent, report.retrying) == (1, 1)  # the failed one and the next one tried, as one claim at a time
