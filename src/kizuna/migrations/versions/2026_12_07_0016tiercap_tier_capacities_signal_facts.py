"""tier capacities (accounts per CSM for each touch tier) and the facts of expansion signals

Coverage measured every CSM against one number of accounts whatever their tiers; a high-touch account takes far
more of a CSM's time than a tech-touch one. Expansion signals kept only an English sentence; ``facts`` keeps the
values, which the pages put into words in either language.

Revision ID: 0016tiercap
Revises: 0015audit
Create Date: 2026-12-07 11:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kizuna.db

revision: str = "0016tiercap"
down_revision: str | Sequence[str] | None = "0015audit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tier_capacities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tier", sa.String(length=16), nullable=False),
        sa.Column("accounts_per_csm", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", kizuna.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tier_capacities")),
        sa.UniqueConstraint("tier", name=op.f("uq_tier_capacities_tier")),
    )
    with op.batch_alter_table("expansion_signals") as batch:
        batch.add_column(sa.Column("facts", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("expansion_signals") as batch:
        batch.drop_column("facts")
    op.drop_table("tier_capacities")
