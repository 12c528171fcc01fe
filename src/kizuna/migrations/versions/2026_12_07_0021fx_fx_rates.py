"""fx_rates: dated exchange rates to the base currency (KPIs in the base currency and per currency)

One row per (date, currency): from that date until the currency's next rate, one unit of the currency is worth
``rate`` units of the company's base currency. Subscriptions gain no column: a pause is a version with status
``paused`` and a notice is ``cancelled_at``.

Revision ID: 0021fx
Revises: 0020hsidx
Create Date: 2026-12-07 14:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021fx"
down_revision: str | Sequence[str] | None = "0020hsidx"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "fx_rates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("rate", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fx_rates")),
        sa.UniqueConstraint("date", "currency", name="uq_fx_rates_date_currency"),
    )


def downgrade() -> None:
    op.drop_table("fx_rates")
