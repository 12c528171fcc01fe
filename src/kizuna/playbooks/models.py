"""Playbooks (versioned YAML), their runs and per-account run log, the pending-work queue and lifecycle history."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kizuna.db import Base, utcnow


class Playbook(Base):
    """A playbook; its definition lives in :class:`PlaybookVersion` (every imported YAML is kept)."""

    __tablename__ = "playbooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    trigger_type: Mapped[str] = mapped_column(String(64), index=True)
    enabled: Mapped[bool] = mapped_column(default=False)
    current_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PlaybookVersion(Base):
    __tablename__ = "playbook_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    playbook_id: Mapped[int] = mapped_column(ForeignKey("playbooks.id", ondelete="CASCADE"), index=True)
    version: Mapped[int]
    yaml_text: Mapped[str] = mapped_column(Text)
    definition: Mapped[dict[str, Any]]  # the validated definition, as JSON
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("playbook_id", "version", name="uq_playbook_versions_playbook_version"),)


class RunMode(enum.StrEnum):
    dry_run = "dry_run"
    live = "live"


class PlaybookRun(Base):
    """One evaluation of one playbook."""

    __tablename__ = "playbook_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    playbook_id: Mapped[int] = mapped_column(ForeignKey("playbooks.id", ondelete="CASCADE"), index=True)
    version: Mapped[int]
    mode: Mapped[str] = mapped_column(String(16), default=RunMode.live)
    status: Mapped[str] = mapped_column(String(16), default="running")  # running, done, failed, skipped
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    finished_at: Mapped[dt.datetime | None]
    signals: Mapped[int] = mapped_column(default=0)  # accounts the trigger fired for
    matched: Mapped[int] = mapped_column(default=0)  # ... that also met the conditions
    queued: Mapped[int] = mapped_column(default=0)  # ... that got new work queued (the rest: already acted)
    note: Mapped[str | None] = mapped_column(Text)  # e.g. why a trigger was skipped (its data is missing)
    actor: Mapped[str] = mapped_column(String(200), default="system")


class RunOutcome(enum.StrEnum):
    queued = "queued"  # new: its actions were queued
    already_acted = "already_acted"  # the same signal was acted on before (idempotency)
    excluded = "excluded"  # the trigger fired but a condition did not hold
    history = "history"  # back-fill mode: before the watermark (kizuna.hub.watermark), recorded, not acted on


class PlaybookRunAccount(Base):
    """The run log: one row per account a run looked at, with the reason and the outcome."""

    __tablename__ = "playbook_run_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("playbook_runs.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    firing_key: Mapped[str] = mapped_column(String(300))
    reason: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str | None] = mapped_column(Text)


class JobStatus(enum.StrEnum):
    pending = "pending"
    running = "running"  # claimed until lease_until; reclaimed by anyone after that
    done = "done"
    failed = "failed"  # gave up after max_attempts


class PendingJob(Base):
    """Pending work kept in the database: one playbook action (or one step of a sequence) for one account.

    ``idempotency_key`` is unique: evaluating a playbook twice queues nothing new, and the action runs in the same
    transaction that marks the job done, so a crash either loses the whole action (it is retried) or nothing.
    """

    __tablename__ = "pending_jobs"
    # the worker claims the earliest due job of a status: an index range, not a sort (see OutboundMessage)
    __table_args__ = (Index("ix_pending_jobs_status_run_after_id", "status", "run_after", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(300), unique=True)
    kind: Mapped[str] = mapped_column(String(32))  # "action"
    playbook_id: Mapped[int | None] = mapped_column(ForeignKey("playbooks.id", ondelete="CASCADE"), index=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("playbook_runs.id", ondelete="SET NULL"), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.pending, index=True)
    run_after: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=5)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    done_at: Mapped[dt.datetime | None]
