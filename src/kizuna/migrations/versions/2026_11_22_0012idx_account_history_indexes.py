"""account history indexes: (account_id, time) on invoices, tickets, survey responses, VoC entries, activities

The customer 360 reads an account's latest rows of each; on the 50,000-account demo PostgreSQL answered
``WHERE account_id = ? ORDER BY issued_on DESC LIMIT 12`` by walking the whole ``issued_on`` index (170 ms).

Revision ID: 0012idx
Revises: 0011one
Create Date: 2026-11-22 17:25:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0012idx"
down_revision: str | Sequence[str] | None = "0011one"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ("invoices", "issued_on"),
    ("tickets", "opened_at"),
    ("survey_responses", "responded_at"),
    ("voc_entries", "recorded_at"),
    ("activities", "occurred_at"),
)


def upgrade() -> None:
    for table, column in INDEXES:
        op.create_index(f"ix_{table}_account_id_{column}", table, ["account_id", column])


def downgrade() -> None:
    for table, column in INDEXES:
        op.drop_index(f"ix_{table}_account_id_{column}", table_name=table)
