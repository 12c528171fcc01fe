"""Exactly one send per idempotency key: workers racing, a peer slower than the lease, a database that is busy.

The peer is a real HTTP server on loopback that counts POSTs per ``Idempotency-Key``; the workers are threads with
their own names and connections, as separate processes would be.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
import time

from sqlalchemy import func, select

from kizuna.platform.outbox.models import MessageStatus, OutboundMessage
from kizuna.platform.outbox.service import DeliveryPolicy, deliver_queued, queue_email, queue_webhook
from kizuna.runtime import Runtime
from tests.platform.outbox.loopback import SmtpServer, WebhookPeer

LEASE = dt.timedelta(seconds=0.4)


def _queue_webhooks(runtime: Runtime, peer: WebhookPeer, n: int) -> list[str]:
    keys = [f"hook-{i}" for i in range(n)]
    with runtime.transaction() as session:
        for i, key in enumerate(keys):
            queue_webhook(session, idempotency_key=key, url=peer.url("/hook"), payload={"i": i})
    return keys


def _unfinished(runtime: Runtime) -> int:
    with runtime.transaction() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(OutboundMessage)
                .where(OutboundMessage.status.in_([MessageStatus.queued, MessageStatus.sending]))
            )
            or 0
        )


def _race(runtime: Runtime, workers: int, policy: DeliveryPolicy, *, deadline: float = 90.0) -> list[BaseException]:
    """``workers`` threads each deliver round after round until nothing is queued or being sent."""
    errors: list[BaseException] = []
    stop = time.monotonic() + deadline

    def work(name: str) -> None:
        try:
            while time.monotonic() < stop:
                deliver_queued(runtime.sessions, settings=runtime.settings, policy=policy, worker=name, limit=1000)
                if _unfinished(runtime) == 0:
                    return
                time.sleep(0.02)
        except BaseException as exc:  # a worker that dies is what the test looks for
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(f"worker-{i}",)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_two_workers_and_a_peer_slower_than_the_lease_send_each_webhook_once(
    db_runtime: Runtime, webhook_peer: WebhookPeer
) -> None:
    # every seventh answer takes three leases' time: without renewal, the other worker takes the message over
    webhook_peer.slow = lambda payload: 1.2 if payload["i"] % 7 == 0 else 0.02
    keys = _queue_webhooks(db_runtime, webhook_peer, 30)
    policy = DeliveryPolicy(lease=LEASE, backoff_seconds=0.01, requeue_seconds=0.0)
    errors = _race(db_runtime, 2, policy)
    assert errors == []
    posts = webhook_peer.posts_per_key()
    assert {k: n for k, n in posts.items() if n != 1} == {}
    assert sorted(posts) == sorted(keys)
    with db_runtime.transaction() as session:
        assert set(session.scalars(select(OutboundMessage.status))) == {MessageStatus.sent}
        assert set(session.scalars(select(OutboundMessage.attempts))) == {1}


def test_emails_and_webhooks_raced_by_three_workers_go_out_once_each(
    db_runtime: Runtime, webhook_peer: WebhookPeer, smtp_server: SmtpServer
) -> None:
    db_runtime.settings = db_runtime.settings.model_copy(
        update={"smtp_host": smtp_server.host, "smtp_port": smtp_server.port}
    )
    webhook_peer.slow = lambda payload: 0.6 if payload["i"] % 5 == 0 else 0.0
    hooks = _queue_webhooks(db_runtime, webhook_peer, 20)
    with db_runtime.transaction() as session:
        for i in range(20):
            queue_email(session, idempotency_key=f"mail-{i}", to=f"c{i}@example.jp", subject="ご案内", body=f"{i}")
    errors = _race(db_runtime, 3, DeliveryPolicy(lease=LEASE, backoff_seconds=0.01, requeue_seconds=0.0))
    assert errors == []
    assert sorted(webhook_peer.posts_per_key().values()) == [1] * len(hooks)
    mail_keys = [m["X-Kizuna-Idempotency-Key"] for m in smtp_server.messages]
    assert sorted(mail_keys) == sorted(f"mail-{i}" for i in range(20))


def test_a_sqlite_lock_while_recording_a_delivery_waits_instead_of_sending_again(
    runtime: Runtime, webhook_peer: WebhookPeer
) -> None:
    # a short busy timeout stands for a long write elsewhere (an import, a refresh) holding the lock past it
    runtime.settings = runtime.settings.model_copy(update={"sqlite_busy_timeout": 0.2})
    runtime.close()
    runtime = Runtime.open(runtime.settings)
    path = runtime.settings.data_dir / "kizuna.sqlite3"
    holder = sqlite3.connect(path, timeout=10, isolation_level=None, check_same_thread=False)
    released = threading.Event()

    def take_the_write_lock_for_a_second(_payload: object) -> None:
        holder.execute("BEGIN IMMEDIATE")  # while the peer answers, another writer holds the database

        def release() -> None:
            holder.execute("COMMIT")
            released.set()

        threading.Timer(1.0, release).start()

    webhook_peer.on_post = take_the_write_lock_for_a_second
    _queue_webhooks(runtime, webhook_peer, 1)
    policy = DeliveryPolicy(lease=dt.timedelta(seconds=30), backoff_seconds=0.0, requeue_seconds=0.0)
    try:
        report = deliver_queued(runtime.sessions, settings=runtime.settings, policy=policy, worker="first")
        assert released.wait(10)
        webhook_peer.on_post = None
        # another worker, after the first one's lease would have ended
        later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
        again = deliver_queued(runtime.sessions, settings=runtime.settings, policy=policy, worker="second", now=later)
    finally:
        holder.close()
        runtime.close()
    assert (report.sent, again.sent) == (1, 0)
    assert webhook_peer.posts_per_key() == {"hook-0": 1}


def test_a_result_is_not_written_under_a_lost_claim(db_runtime: Runtime, webhook_peer: WebhookPeer) -> None:
    """The fencing token: a worker whose claim was taken over writes nothing (the new owner's result stands)."""
    from kizuna.platform.outbox.service import _record_result

    _queue_webhooks(db_runtime, webhook_peer, 1)
    with db_runtime.transaction() as session:
        message = session.scalars(select(OutboundMessage)).one()
        message.status, message.lease_owner, message.attempts = MessageStatus.sending, "new-owner", 2
    policy = DeliveryPolicy()
    with db_runtime.transaction() as session:
        stale = _record_result(
            session, message=message, token=1, worker="old-owner", error=None, outbox_path=None, policy=policy
        )
        current = _record_result(
            session, message=message, token=2, worker="new-owner", error="HTTP 500", outbox_path=None, policy=policy
        )
    assert (stale, current) == (None, "retrying")
    with db_runtime.transaction() as session:
        row = session.scalars(select(OutboundMessage)).one()
    assert row.status == MessageStatus.queued and row.sent_at is None and row.last_error == "HTTP 500"


def test_a_claimed_message_taken_over_before_its_turn_is_not_sent(
    db_runtime: Runtime, webhook_peer: WebhookPeer
) -> None:
    """A round claims its messages in batches: one whose claim another worker took over while the messages before
    it were sent (its lease ran out) is left to that worker, not sent a second time."""
    keys = _queue_webhooks(db_runtime, webhook_peer, 3)

    def take_over_the_second(payload: dict[str, int]) -> None:
        if payload["i"] != 0:
            return
        with db_runtime.transaction() as session:  # the other worker's claim after the lease ended
            second = session.scalars(select(OutboundMessage).where(OutboundMessage.idempotency_key == keys[1])).one()
            second.lease_owner, second.attempts = "other-worker", second.attempts + 1
            second.lease_until = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)

    webhook_peer.on_post = take_over_the_second
    webhook_peer.slow = lambda payload: 0.6 if payload["i"] == 0 else 0.0  # the keeper renews (and sees) meanwhile
    policy = DeliveryPolicy(lease=dt.timedelta(seconds=0.3), backoff_seconds=0.0, requeue_seconds=0.0)
    report = deliver_queued(db_runtime.sessions, settings=db_runtime.settings, policy=policy, worker="first")
    assert report.sent == 2
    assert webhook_peer.posts_per_key() == {keys[0]: 1, keys[2]: 1}
    with db_runtime.transaction() as session:
        second = session.scalars(select(OutboundMessage).where(OutboundMessage.idempotency_key == keys[1])).one()
    assert (second.status, second.lease_owner, second.attempts) == (MessageStatus.sending, "other-worker", 2)
