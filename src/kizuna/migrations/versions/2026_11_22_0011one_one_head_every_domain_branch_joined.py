"""one head: every domain branch joined

Revision ID: 0011one
Revises: 0004hrk, 0005pbk, 0005seg, 0007web, 0008voc, 0009ltv, 0010kpi
Create Date: 2026-11-22 15:08:30.252324
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0011one"
down_revision: str | Sequence[str] | None = (
    "0004hrk",
    "0005pbk",
    "0005seg",
    "0007web",
    "0008voc",
    "0009ltv",
    "0010kpi",
)
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
