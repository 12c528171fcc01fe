"""What the tracking API remembers besides the events themselves: seen message ids and who belongs to which account."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from kizuna.db import Base, utcnow


class TrackedMessage(Base):
    """A ``messageId`` already accepted; a second message with the same id is dropped (Segment's de-duplication)."""

    __tablename__ = "tracking_messages"

    message_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class TrackedIdentity(Base):
    """An end user seen through ``identify``/``group``: their traits and the account (``groupId``) they belong to."""

    __tablename__ = "tracking_identities"

    user_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    traits: Mapped[dict[str, Any] | None]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
