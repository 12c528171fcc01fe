"""connectors: sync runs, vendor events received once, incremental cursors

Revision ID: 0022conn
Revises: 0021fx
Create Date: 2026-12-07 14:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kizuna.db

revision: str = "0022conn"
down_revision: str | Sequence[str] | None = "0021fx"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "connector_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vendor", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", kizuna.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", kizuna.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("rejects", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connector_runs")),
    )
    with op.batch_alter_table("connector_runs", schema=None) as batch_op:
        batch_op.create_index("ix_connector_runs_vendor_started_at", ["vendor", "started_at"], unique=False)
    op.create_table(
        "connector_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vendor", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("event_type", sa.String(length=128), nullable=False),
        sa.Column("occurred_at", kizuna.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("received_at", kizuna.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connector_events")),
        sa.UniqueConstraint("vendor", "event_id", name="uq_connector_events_vendor_event_id"),
    )
    op.create_table(
        "connector_cursors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vendor", sa.String(length=32), nullable=False),
        sa.Column("stream", sa.String(length=64), nullable=False),
        sa.Column("position", sa.String(length=512), nullable=True),
        sa.Column("updated_at", kizuna.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connector_cursors")),
        sa.UniqueConstraint("vendor", "stream", name="uq_connector_cursors_vendor_stream"),
    )


def downgrade() -> None:
    op.drop_table("connector_cursors")
    op.drop_table("connector_events")
    op.drop_table("connector_runs")
