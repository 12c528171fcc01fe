"""ltv_cohort_fits: 95 % profile-likelihood intervals of alpha, beta and the mean churn rate

A degenerate sBG fit (alpha = 226,879, beta = 14.6 M on the demo) has Wald intervals that cross zero; the profile
likelihood says what the data do bound (the mean churn rate) and what they do not (alpha and beta upwards).

Revision ID: 0028sbgprof
Revises: 0027crmlink
Create Date: 2026-12-07 17:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028sbgprof"
down_revision: str | Sequence[str] | None = "0027crmlink"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("alpha_lower", "alpha_upper", "beta_lower", "beta_upper", "churn_rate_lower", "churn_rate_upper")


def upgrade() -> None:
    with op.batch_alter_table("ltv_cohort_fits", schema=None) as batch_op:
        for name in COLUMNS:
            batch_op.add_column(sa.Column(name, sa.Double(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ltv_cohort_fits", schema=None) as batch_op:
        for name in reversed(COLUMNS):
            batch_op.drop_column(name)
