"""health distribution index: a day's red / yellow / green and mean score of one scorecard from the index alone

The health pages count one scorecard's bands on its newest day; with (scorecard, as_of) only, every row of the day
was read from the table.

Revision ID: 0020hsidx
Revises: 0019mdl
Create Date: 2026-12-07 12:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0020hsidx"
down_revision: str | Sequence[str] | None = "0019mdl"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("health_scores", schema=None) as batch_op:
        batch_op.create_index(
            "ix_health_scores_scorecard_as_of_band_score", ["scorecard", "as_of", "band", "score"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("health_scores", schema=None) as batch_op:
        batch_op.drop_index("ix_health_scores_scorecard_as_of_band_score")
