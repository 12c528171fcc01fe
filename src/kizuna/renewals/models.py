"""Renewals (one row per contract and renewal date: the CSM's call, the model's probability, the outcome) and
expansion signals (which turn into upsell / cross-sell rows of ``opportunities``)."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import BigInteger, Date, Float, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kizuna.db import Base, utcnow


class ForecastCall(enum.StrEnum):
    commit = "commit"
    likely = "likely"
    at_risk = "at_risk"
    lost = "lost"


class RenewalOutcome(enum.StrEnum):
    renewed = "renewed"
    downgraded = "downgraded"
    expanded = "expanded"
    churned = "churned"


class Renewal(Base):
    """A contract coming up for renewal on ``renewal_date`` with the ARR at stake (minor units)."""

    __tablename__ = "renewals"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    contract_id: Mapped[str] = mapped_column(String(128))
    renewal_date: Mapped[dt.date] = mapped_column(Date, index=True)
    arr_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="JPY")
    csm_call: Mapped[str | None] = mapped_column(String(16))
    csm_note: Mapped[str | None] = mapped_column(Text)
    called_by: Mapped[str | None] = mapped_column(String(200))
    called_at: Mapped[dt.datetime | None]
    model_probability: Mapped[float | None] = mapped_column(Float)  # P(renews), 1 - churn probability
    outcome: Mapped[str | None] = mapped_column(String(16))
    outcome_arr_minor: Mapped[int | None] = mapped_column(BigInteger)
    outcome_recorded_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (UniqueConstraint("contract_id", "renewal_date", name="uq_renewals_contract_date"),)


class ExpansionSignal(Base):
    """An expansion signal seen for an account (``signal``: seat_utilisation, usage_growth, plan_limit,
    addon_interest); ``opportunity_id`` is the upsell / cross-sell opportunity opened for it."""

    __tablename__ = "expansion_signals"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    signal: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(String(500))
    # what the signal saw, as values the pages put into words ({"utilisation": 0.93, "seats": 14}, ...)
    facts: Mapped[dict[str, Any] | None]
    strength: Mapped[float] = mapped_column(Float, default=0.0)
    first_seen_on: Mapped[dt.date] = mapped_column(Date)
    last_seen_on: Mapped[dt.date] = mapped_column(Date)
    opportunity_id: Mapped[int | None] = mapped_column(ForeignKey("opportunities.id", ondelete="SET NULL"))

    __table_args__ = (UniqueConstraint("account_id", "signal", name="uq_expansion_signals_account_signal"),)
