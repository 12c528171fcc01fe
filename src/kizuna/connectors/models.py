"""The connectors' tables: sync runs, received vendor events, and resumable cursors."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kizuna.db import Base, utcnow


class RunStatus(enum.StrEnum):
    running = "running"
    succeeded = "succeeded"
    partial = "partial"  # finished, with rejected records
    failed = "failed"


class ConnectorRun(Base):
    """One sync run of one vendor: a back-fill, an incremental pull, a push or a batch of webhook events."""

    __tablename__ = "connector_runs"
    __table_args__ = (Index("ix_connector_runs_vendor_started_at", "vendor", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    vendor: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))  # backfill, pull, push, webhook
    status: Mapped[str] = mapped_column(String(16), default=RunStatus.running)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)  # created, updated, unchanged, rejected, ...
    #: [{"record": the vendor's id, "field": ..., "value": ..., "reason": ...}]
    rejects: Mapped[list[Any]] = mapped_column(default=list)
    error: Mapped[str | None] = mapped_column(Text)


class ReceivedEvent(Base):
    """A vendor event already acted on: the same event id delivered again is acknowledged and ignored."""

    __tablename__ = "connector_events"
    __table_args__ = (UniqueConstraint("vendor", "event_id", name="uq_connector_events_vendor_event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    vendor: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(255))
    event_type: Mapped[str] = mapped_column(String(128))
    occurred_at: Mapped[dt.datetime | None]
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class SyncCursor(Base):
    """Where an incremental sync of one vendor's stream resumes: a modified-since instant or the vendor's page token."""

    __tablename__ = "connector_cursors"
    __table_args__ = (UniqueConstraint("vendor", "stream", name="uq_connector_cursors_vendor_stream"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    vendor: Mapped[str] = mapped_column(String(32))
    stream: Mapped[str] = mapped_column(String(64))
    position: Mapped[str | None] = mapped_column(String(512))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
