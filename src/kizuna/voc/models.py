"""Voice of the customer: what customers said, from every channel."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kizuna.db import Base


class VocChannel(enum.StrEnum):
    call_center = "call_center"
    web_inquiry = "web_inquiry"
    sales_hearing = "sales_hearing"
    seminar = "seminar"  # seminars and exhibitions
    user_group = "user_group"
    survey = "survey"
    cancellation_survey = "cancellation_survey"


class VocEntry(Base):
    __tablename__ = "voc_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(128), unique=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(8), default="ja")
    author: Mapped[str | None] = mapped_column(String(200))
    recorded_at: Mapped[dt.datetime] = mapped_column(index=True)
