"""health backtests, survival fits and residual LTV per account: stored by the refresh so that the health, churn-risk and LTV pages read them

Revision ID: 0019mdl
Revises: 0018task
Create Date: 2026-12-07 11:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kizuna.db

revision: str = "0019mdl"
down_revision: str | Sequence[str] | None = "0018task"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "health_backtests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scorecard", sa.String(length=64), nullable=False),
        sa.Column("scorecard_version", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("horizon_days", sa.Integer(), nullable=False),
        sa.Column("every_days", sa.Integer(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("by_band", sa.JSON(), nullable=False),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.Column("computed_at", kizuna.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_health_backtests")),
    )
    with op.batch_alter_table("health_backtests", schema=None) as batch_op:
        batch_op.create_index("ix_health_backtests_scorecard_as_of", ["scorecard", "as_of"], unique=False)
    op.create_table(
        "ltv_survival_fits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("segment_by", sa.String(length=64), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("computed_at", kizuna.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ltv_survival_fits")),
        sa.UniqueConstraint("as_of", "kind", "segment_by", name="uq_ltv_survival_fits_as_of"),
    )
    with op.batch_alter_table("ltv_survival_fits", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ltv_survival_fits_as_of"), ["as_of"], unique=False)
    with op.batch_alter_table("account_ltv", schema=None) as batch_op:
        batch_op.add_column(sa.Column("plan", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("residual_ltv_minor", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("account_ltv", schema=None) as batch_op:
        batch_op.drop_column("residual_ltv_minor")
        batch_op.drop_column("plan")
    with op.batch_alter_table("ltv_survival_fits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ltv_survival_fits_as_of"))
    op.drop_table("ltv_survival_fits")
    with op.batch_alter_table("health_backtests", schema=None) as batch_op:
        batch_op.drop_index("ix_health_backtests_scorecard_as_of")
    op.drop_table("health_backtests")
