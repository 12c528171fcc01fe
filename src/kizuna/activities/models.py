"""CS activities for the account timeline."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kizuna.db import Base


class ActivityKind(enum.StrEnum):
    meeting = "meeting"
    call = "call"
    email = "email"
    note = "note"
    qbr = "qbr"


class Activity(Base):
    __tablename__ = "activities"
    # an account's latest rows (customer 360): without it PostgreSQL walked the whole occurred_at index
    __table_args__ = (Index("ix_activities_account_id_occurred_at", "account_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(128), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("team_members.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(500))
    body: Mapped[str | None] = mapped_column(Text)
    occurred_at: Mapped[dt.datetime] = mapped_column(index=True)
