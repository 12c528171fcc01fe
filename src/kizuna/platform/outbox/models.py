"""The outbound message table: every email and webhook call, with an idempotency key so nothing is sent twice.

The table is also the outbox: a service inserts a ``queued`` row inside the caller's transaction; the delivery loop
(:func:`kizuna.platform.outbox.service.deliver_queued`) sends it only after that transaction has committed.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kizuna.db import Base, utcnow


class MessageChannel(enum.StrEnum):
    email = "email"
    webhook = "webhook"
    slack = "slack"  # a Slack Web API chat.postMessage (recipient: a channel, or dm:<e-mail>)
    teams = "teams"  # an Adaptive Card to a Teams channel's webhook (recipient: teams:<webhook name>)


class MessageStatus(enum.StrEnum):
    queued = "queued"  # waiting for delivery (or for a retry at next_attempt_at)
    sending = "sending"  # claimed by a worker until lease_until
    sent = "sent"  # delivered to the SMTP server / the webhook answered 2xx
    outbox = "outbox"  # no SMTP configured: written to data_dir/outbox/*.eml for review
    failed = "failed"  # gave up after max_attempts


class OutboundMessage(Base):
    __tablename__ = "outbound_messages"
    # the delivery loop claims the earliest due message of a status: an index range, not a sort of every queued row
    # (41,000 queued on the 50,000-account demo made each claim a 50 ms write lock that starved the web app's logins)
    __table_args__ = (Index("ix_outbound_messages_status_next_attempt_at_id", "status", "next_attempt_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(300), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=MessageStatus.queued, index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    recipient: Mapped[str] = mapped_column(String(2000))  # an email address, a webhook URL or a Slack channel
    subject: Mapped[str | None] = mapped_column(String(500))
    body: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any] | None]  # webhook JSON body
    source: Mapped[str | None] = mapped_column(String(200))
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=5)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    outbox_path: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None]
