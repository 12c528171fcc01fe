"""refresh_runs (the back-fill watermark) and unknown seats: subscriptions.quantity may be null

Importing history fired today's playbooks for the past; every refresh is now recorded so that signals act only on
what is new since the previous one. A blank seat count was read as 1 seat (so one active user was 100 % seat
utilisation): an unknown count is now stored as null.

Revision ID: 0024bkfill
Revises: 0023claim
Create Date: 2026-12-07 14:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kizuna.db

revision: str = "0024bkfill"
down_revision: str | Sequence[str] | None = "0023claim"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "refresh_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("ran_at", kizuna.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("acted", sa.Boolean(), nullable=False),
        sa.Column("created_at", kizuna.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refresh_runs")),
    )
    with op.batch_alter_table("refresh_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_refresh_runs_ran_at"), ["ran_at"], unique=False)
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.alter_column("quantity", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    # the old schema had no unknown seat count: unknown becomes 1 again
    op.execute("UPDATE subscriptions SET quantity = 1 WHERE quantity IS NULL")
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.alter_column("quantity", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("refresh_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_refresh_runs_ran_at"))
    op.drop_table("refresh_runs")
