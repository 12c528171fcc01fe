"""Tasks (calls to action): what a CSM should do for an account, why, by when."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Date, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from kizuna.db import Base, utcnow


class TaskStatus(enum.StrEnum):
    open = "open"
    snoozed = "snoozed"
    done = "done"
    cancelled = "cancelled"


class TaskPriority(enum.StrEnum):
    low = "low"
    normal = "normal"
    high = "high"
    urgent = "urgent"


# A dedupe key is unique among the tasks that are still live (open or snoozed): the same playbook cannot open a
# second task for the same account and reason, but may open a new one after the first is done.
LIVE_TASK = "status IN ('open', 'snoozed')"


class Task(Base):
    __tablename__ = "tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("team_members.id", ondelete="SET NULL"), index=True)
    title: Mapped[str] = mapped_column(String(500))
    reason: Mapped[str | None] = mapped_column(Text)
    priority: Mapped[str] = mapped_column(String(16), default=TaskPriority.normal)
    status: Mapped[str] = mapped_column(String(16), default=TaskStatus.open, index=True)
    due_on: Mapped[dt.date | None] = mapped_column(Date, index=True)
    snoozed_until: Mapped[dt.date | None] = mapped_column(Date)
    dedupe_key: Mapped[str | None] = mapped_column(String(300))
    source: Mapped[str | None] = mapped_column(String(200))  # e.g. "playbook:renewal-90"
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[dt.datetime | None]
    outcome: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index(
            "uq_tasks_live_dedupe_key",
            "dedupe_key",
            unique=True,
            sqlite_where=text(LIVE_TASK),
            postgresql_where=text(LIVE_TASK),
        ),
    )
