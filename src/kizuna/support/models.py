"""Support tickets."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kizuna.db import Base


class TicketPriority(enum.StrEnum):
    low = "low"
    normal = "normal"
    high = "high"
    urgent = "urgent"


class TicketChannel(enum.StrEnum):
    email = "email"
    phone = "phone"
    web = "web"
    chat = "chat"


class Ticket(Base):
    __tablename__ = "tickets"
    # an account's latest rows (customer 360): without it PostgreSQL walked the whole opened_at index
    __table_args__ = (Index("ix_tickets_account_id_opened_at", "account_id", "opened_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(128), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    subject: Mapped[str] = mapped_column(String(500))
    body: Mapped[str | None] = mapped_column(Text)
    priority: Mapped[str] = mapped_column(String(16), default=TicketPriority.normal)
    channel: Mapped[str] = mapped_column(String(16), default=TicketChannel.email)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open, pending, closed
    escalated: Mapped[bool] = mapped_column(default=False)
    opened_at: Mapped[dt.datetime] = mapped_column(index=True)
    first_response_at: Mapped[dt.datetime | None]
    closed_at: Mapped[dt.datetime | None]
    csat: Mapped[int | None]  # 1..5 after close
