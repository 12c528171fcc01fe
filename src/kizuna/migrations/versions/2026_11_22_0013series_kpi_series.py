"""KPI series: one row per monthly series (its points as JSON) replaces kpi_values' row per point

A 50,000-account snapshot was 344,000 rows a day in kpi_values (most of the refresh's write time, and 125 million
rows a year of daily refreshes); it is ~9,600 rows in kpi_series. Stored snapshots are carried over.

Revision ID: 0013series
Revises: 0012idx
Create Date: 2026-11-22 19:05:00
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import groupby
from typing import Any

import sqlalchemy as sa
from alembic import op

import kizuna.db

revision: str = "0013series"
down_revision: str | Sequence[str] | None = "0012idx"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = ("as_of", "metric", "currency", "dimension", "dimension_value")
_BATCH = 5_000


def _values_table() -> sa.TableClause:
    return sa.table(
        "kpi_values",
        *(sa.column(c) for c in KEY),
        sa.column("month", sa.Date()),
        sa.column("value", sa.Float()),
        sa.column("computed_at", kizuna.db.UTCDateTime(timezone=True)),
    )


def _series_table() -> sa.TableClause:
    return sa.table(
        "kpi_series",
        *(sa.column(c) for c in KEY),
        sa.column("points", sa.JSON()),
        sa.column("computed_at", kizuna.db.UTCDateTime(timezone=True)),
    )


def upgrade() -> None:
    op.create_table(
        "kpi_series",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("metric", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("dimension", sa.String(length=32), nullable=False),
        sa.Column("dimension_value", sa.String(length=200), nullable=False),
        sa.Column("points", sa.JSON(), nullable=False),
        sa.Column("computed_at", kizuna.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kpi_series")),
        sa.UniqueConstraint("as_of", "metric", "currency", "dimension", "dimension_value", name="uq_kpi_series_key"),
    )
    op.create_index("ix_kpi_series_dimension_metric", "kpi_series", ["as_of", "dimension", "metric"])
    bind = op.get_bind()
    values, series = _values_table(), _series_table()
    rows = bind.execute(sa.select(values).order_by(*(values.c[k] for k in KEY), values.c.month)).mappings()
    batch: list[dict[str, Any]] = []
    for key, points in groupby(rows, key=lambda r: tuple(r[k] for k in KEY)):
        listed = list(points)
        batch.append(
            {
                **dict(zip(KEY, key, strict=True)),
                "points": {p["month"].isoformat(): _finite(p["value"]) for p in listed},
                "computed_at": listed[0]["computed_at"],
            }
        )
        if len(batch) >= _BATCH:
            bind.execute(series.insert(), batch)
            batch = []
    if batch:
        bind.execute(series.insert(), batch)
    op.drop_table("kpi_values")


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else value


def downgrade() -> None:
    op.create_table(
        "kpi_values",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("metric", sa.String(length=64), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("dimension", sa.String(length=32), nullable=False),
        sa.Column("dimension_value", sa.String(length=200), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("computed_at", kizuna.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kpi_values")),
        sa.UniqueConstraint(
            "as_of", "metric", "month", "currency", "dimension", "dimension_value", name="uq_kpi_values_point"
        ),
    )
    op.create_index("ix_kpi_values_metric_dimension", "kpi_values", ["metric", "dimension", "as_of"])
    bind = op.get_bind()
    import datetime as dt

    values, series = _values_table(), _series_table()
    batch: list[dict[str, Any]] = []
    for row in bind.execute(sa.select(series)).mappings():
        for month, value in row["points"].items():
            batch.append(
                {
                    **{k: row[k] for k in KEY},
                    "month": dt.date.fromisoformat(month),
                    "value": value,
                    "computed_at": row["computed_at"],
                }
            )
        if len(batch) >= _BATCH:
            bind.execute(values.insert(), batch)
            batch = []
    if batch:
        bind.execute(values.insert(), batch)
    op.drop_table("kpi_series")
