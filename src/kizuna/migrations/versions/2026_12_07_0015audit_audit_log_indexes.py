"""audit log indexes: (actor, at), (action, at) and (entity, at) for the administrators' audit log page

The page filters by actor, action or target, newest first, and lists the actors, actions and targets found in the log;
with a million rows on SQLite an actor's filter scanned the table (0.4 s), a target's sorted a quarter of it (0.8 s)
and the three lists took 4 s.

Revision ID: 0015audit
Revises: 0014voc
Create Date: 2026-12-07 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0015audit"
down_revision: str | Sequence[str] | None = "0014voc"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("actor", "action", "entity")


def upgrade() -> None:
    for column in COLUMNS:
        op.create_index(f"ix_audit_log_{column}_at", "audit_log", [column, "at"])


def downgrade() -> None:
    for column in COLUMNS:
        op.drop_index(f"ix_audit_log_{column}_at", table_name="audit_log")
