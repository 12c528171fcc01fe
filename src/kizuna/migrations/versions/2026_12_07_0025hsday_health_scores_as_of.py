"""page indexes: the newest day of any health scorecard is a seek; the risk page reads a model's day from an index

``max(as_of)`` over every scorecard scanned the whole (scorecard, as_of) index: 85 ms on the 50,000-account demo's
557,000 scores, on every renewals page and playbook condition that reads the latest health. The risk page's newest
day, band counts and riskiest accounts of the active model read the table's rows.

Revision ID: 0025hsday
Revises: 0024bkfill
Create Date: 2026-12-07 15:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0025hsday"
down_revision: str | Sequence[str] | None = "0024bkfill"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("health_scores", schema=None) as batch_op:
        batch_op.create_index("ix_health_scores_as_of", ["as_of"], unique=False)
    with op.batch_alter_table("risk_scores", schema=None) as batch_op:
        batch_op.create_index(
            "ix_risk_scores_model_as_of_probability",
            ["model_id", "as_of", "probability", "band", "account_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("risk_scores", schema=None) as batch_op:
        batch_op.drop_index("ix_risk_scores_model_as_of_probability")
    with op.batch_alter_table("health_scores", schema=None) as batch_op:
        batch_op.drop_index("ix_health_scores_as_of")
