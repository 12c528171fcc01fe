"""claim indexes: the outbox and the job queue claim their earliest due row from an index range

On the 50,000-account demo (41,000 queued messages) each claim sorted every queued row under SQLite's write lock,
50 ms at a time, back to back: the web app's logins waited past the busy timeout.

Revision ID: 0023claim
Revises: 0022conn
Create Date: 2026-12-07 15:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0023claim"
down_revision: str | Sequence[str] | None = "0022conn"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbound_messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outbound_messages_status_next_attempt_at_id", ["status", "next_attempt_at", "id"], unique=False
        )
    with op.batch_alter_table("pending_jobs", schema=None) as batch_op:
        batch_op.create_index("ix_pending_jobs_status_run_after_id", ["status", "run_after", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("pending_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_pending_jobs_status_run_after_id")
    with op.batch_alter_table("outbound_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_outbound_messages_status_next_attempt_at_id")
