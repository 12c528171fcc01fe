"""Snapshots of the KPI layer, written by ``kizuna refresh`` and read by pages, health scores and playbooks.

* ``kpi_series``: monthly KPI series, one row per (as-of date, metric, currency, breakdown, breakdown value) with
  every month's value in one JSON object. Totals have ``dimension = ''`` and ``dimension_value = ''``. One row per
  line of a chart: a 50,000-account snapshot is ~9,600 rows, where a row per point was 344,000 a day (most of the
  refresh's write time, and 125 million rows a year of daily refreshes).
* ``kpi_tables``: tabular KPI results that are not a monthly series (cohort matrices, churn by tenure, funnel,
  velocity, untouched leads, source quality, renewals, CAC by channel), one JSON list of records per (as-of, name).
* ``account_metrics``: the latest per-account metrics (one row per account, replaced on every refresh): MRR, seats,
  usage, onboarding, voice and support. Past dates: call the KPI library (``kizuna.analytics.kpi``) directly.

These are derived tables: they carry no ``external_id`` (nothing imports into them).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kizuna.db import Base, utcnow


class KpiSeries(Base):
    """One monthly KPI series of a snapshot: a metric (per currency) in total or for one breakdown value, with its
    points as JSON ``{"2026-01-01": value, ...}`` (first days of months; null = undefined)."""

    __tablename__ = "kpi_series"

    id: Mapped[int] = mapped_column(primary_key=True)
    as_of: Mapped[dt.date] = mapped_column(Date)
    metric: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3), default="")  # '' for metrics that are not per currency
    dimension: Mapped[str] = mapped_column(String(32), default="")  # '' = total; else plan, industry, region, ...
    dimension_value: Mapped[str] = mapped_column(String(200), default="")
    points: Mapped[dict[str, Any]]
    computed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("as_of", "metric", "currency", "dimension", "dimension_value", name="uq_kpi_series_key"),
        Index("ix_kpi_series_dimension_metric", "as_of", "dimension", "metric"),
    )


class KpiTable(Base):
    __tablename__ = "kpi_tables"

    id: Mapped[int] = mapped_column(primary_key=True)
    as_of: Mapped[dt.date] = mapped_column(Date)
    name: Mapped[str] = mapped_column(String(64))
    rows: Mapped[list[Any]]
    computed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("as_of", "name", name="uq_kpi_tables_as_of_name"),)


class AccountMetrics(Base):
    """Latest per-account metrics as of ``as_of`` (definitions: docs/metrics.md)."""

    __tablename__ = "account_metrics"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), unique=True)
    as_of: Mapped[dt.date] = mapped_column(Date)
    currency: Mapped[str | None] = mapped_column(String(3))
    mrr_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    arr_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    mrr_movement: Mapped[str | None] = mapped_column(String(16))  # this month's: new, expansion, ..., flat
    mrr_change_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    plan_id: Mapped[int | None]
    cohort_month: Mapped[dt.date | None] = mapped_column(Date)
    tenure_months: Mapped[int | None]
    seats: Mapped[int] = mapped_column(default=0)
    dau: Mapped[int] = mapped_column(default=0)
    wau: Mapped[int] = mapped_column(default=0)
    mau: Mapped[int] = mapped_column(default=0)
    active_users_30d: Mapped[int] = mapped_column(default=0)
    avg_dau_30d: Mapped[float | None]
    seat_utilisation: Mapped[float | None]
    stickiness: Mapped[float | None]
    features_used_30d: Mapped[int] = mapped_column(default=0)
    adoption_breadth: Mapped[float | None]
    events_30d: Mapped[int] = mapped_column(default=0)
    logins_30d: Mapped[int] = mapped_column(default=0)
    days_since_last_login: Mapped[int | None]
    usage_trend: Mapped[float | None]
    onboarding_completion_rate: Mapped[float | None]
    onboarding_complete: Mapped[bool | None]
    time_to_value_days: Mapped[int | None]
    nps_score: Mapped[int | None]
    nps_category: Mapped[str | None] = mapped_column(String(16))
    csat_mean_90d: Mapped[float | None]
    ces_mean_90d: Mapped[float | None]
    tickets_30d: Mapped[int] = mapped_column(default=0)
    tickets_90d: Mapped[int] = mapped_column(default=0)
    open_tickets: Mapped[int] = mapped_column(default=0)
    escalated_90d: Mapped[int] = mapped_column(default=0)
    computed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
