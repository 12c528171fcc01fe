"""Tasks (calls to action): what a CSM should do for an account, why, by when, and what is at stake.

Tasks a playbook generates are throttled to what a CSM can do: they are created ``waiting`` and released to ``open``
each day in order of what is at stake (``stakes``), up to the owner's daily budget (``TeamMember.daily_task_budget``,
:data:`DEFAULT_DAILY_TASK_BUDGET` when unset); see ``kizuna.tasks.service.release_waiting`` and docs/playbooks.md.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Date, Float, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from kizuna.db import Base, utcnow


class TaskStatus(enum.StrEnum):
    waiting = "waiting"  # generated, beyond its owner's daily budget: released in order of stakes
    open = "open"
    snoozed = "snoozed"
    done = "done"
    cancelled = "cancelled"


class TaskPriority(enum.StrEnum):
    low = "low"
    normal = "normal"
    high = "high"
    urgent = "urgent"


# A dedupe key is unique among the tasks that are still live (waiting, open or snoozed): the same playbook cannot open a
# second task for the same account and reason, but may open a new one after the first is done.
LIVE_TASK = "status IN ('waiting', 'open', 'snoozed')"

#: new generated tasks a CSM is given a day when their team-member row sets no budget of its own
DEFAULT_DAILY_TASK_BUDGET = 8


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
    # what is at stake: churn risk x ARR (minor units) x urgency; the waiting queue and the cockpit sort on it
    stakes: Mapped[float | None] = mapped_column(Float, index=True)
    released_on: Mapped[dt.date | None] = mapped_column(Date)  # the day it became open (throttled tasks: released)
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
