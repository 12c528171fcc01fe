"""the expansion pipeline reads the open opportunities largest first from an index

Its page (50 of the 30,000 open expansion opportunities of the 50,000-account demo, by expected MRR) sorted every
opportunity on each request: two thirds of its 220 ms.

Revision ID: 0029oppamt
Revises: 0028sbgprof
Create Date: 2026-12-07 18:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029oppamt"
down_revision: str | Sequence[str] | None = "0028sbgprof"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_opportunities_stage_amount", "opportunities", ["stage", sa.text("amount_minor DESC"), "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_opportunities_stage_amount", table_name="opportunities")
