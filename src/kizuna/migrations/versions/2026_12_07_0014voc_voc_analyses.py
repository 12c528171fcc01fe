"""voc_analyses: the VoC analyses of the latest refresh, stored for the pages

``/voc/analytics`` computed its text analyses per request (5-21 s on the 2,000-account demo); the refresh step now
computes them and the page reads one row per analysis.

Revision ID: 0014voc
Revises: 0013series
Create Date: 2026-12-07 11:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kizuna.db

revision: str = "0014voc"
down_revision: str | Sequence[str] | None = "0013series"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "voc_analyses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("n_entries", sa.Integer(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("computed_at", kizuna.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voc_analyses")),
        sa.UniqueConstraint("name", name=op.f("uq_voc_analyses_name")),
    )


def downgrade() -> None:
    op.drop_table("voc_analyses")
