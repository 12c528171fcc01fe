"""tasks: stakes, released_on and the waiting status (throttled playbook tasks); team members' daily task budget

Generated tasks wait beyond their owner's daily budget and are released in order of what is at stake; a waiting task
is live, so the unique dedupe index now covers 'waiting' too.

Revision ID: 0018task
Revises: 0017auth
Create Date: 2026-12-07 11:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018task"
down_revision: str | Sequence[str] | None = "0017auth"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_LIVE = "status IN ('open', 'snoozed')"
NEW_LIVE = "status IN ('waiting', 'open', 'snoozed')"


def _live_index(where: str) -> None:
    op.create_index(
        "uq_tasks_live_dedupe_key",
        "tasks",
        ["dedupe_key"],
        unique=True,
        sqlite_where=sa.text(where),
        postgresql_where=sa.text(where),
    )


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("stakes", sa.Float(), nullable=True))
        batch.add_column(sa.Column("released_on", sa.Date(), nullable=True))
        batch.create_index("ix_tasks_stakes", ["stakes"])
    op.drop_index("uq_tasks_live_dedupe_key", table_name="tasks")
    _live_index(NEW_LIVE)
    with op.batch_alter_table("team_members") as batch:
        batch.add_column(sa.Column("daily_task_budget", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("team_members") as batch:
        batch.drop_column("daily_task_budget")
    op.execute("UPDATE tasks SET status = 'open' WHERE status = 'waiting'")
    op.drop_index("uq_tasks_live_dedupe_key", table_name="tasks")
    _live_index(OLD_LIVE)
    with op.batch_alter_table("tasks") as batch:
        batch.drop_index("ix_tasks_stakes")
        batch.drop_column("released_on")
        batch.drop_column("stakes")
