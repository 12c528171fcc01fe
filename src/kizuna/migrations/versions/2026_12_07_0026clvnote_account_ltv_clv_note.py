"""account_ltv.clv_note: why an account has no Gamma-Gamma CLV

The CLV column was empty for every account of the demo and nothing said why (the demo's payments are the same
amount every month, which Gamma-Gamma cannot describe); the refresh now stores the reason.

Revision ID: 0026clvnote
Revises: 0025hsday
Create Date: 2026-12-07 16:05:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026clvnote"
down_revision: str | Sequence[str] | None = "0025hsday"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("account_ltv", schema=None) as batch_op:
        batch_op.add_column(sa.Column("clv_note", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("account_ltv", schema=None) as batch_op:
        batch_op.drop_column("clv_note")
