"""Stored LTV results: one fit per cohort (sBG) and one value per account, per refresh date."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kizuna.db import Base, utcnow


class LtvCohortFit(Base):
    """A shifted-beta-geometric fit of one cohort's monthly survival (Fader & Hardie 2007) and what it implies."""

    __tablename__ = "ltv_cohort_fits"

    id: Mapped[int] = mapped_column(primary_key=True)
    as_of: Mapped[dt.date] = mapped_column(Date, index=True)
    cohort_kind: Mapped[str] = mapped_column(String(32))  # plan, signup_year
    cohort: Mapped[str] = mapped_column(String(200))
    alpha: Mapped[float]
    beta: Mapped[float]
    alpha_se: Mapped[float | None]
    beta_se: Mapped[float | None]
    n_customers: Mapped[int]
    n_periods: Mapped[int]
    expected_lifetime_months: Mapped[float]  # over a 10-year horizon
    arpa_minor: Mapped[int]  # mean MRR of the cohort's active accounts
    currency: Mapped[str] = mapped_column(String(3))
    ltv_minor: Mapped[int]  # discounted expected lifetime x ARPA x gross margin
    computed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("as_of", "cohort_kind", "cohort", name="uq_ltv_cohort_fits_as_of"),)


class AccountLtv(Base):
    """Per account: BG/NBD probability alive and expected payments, Gamma-Gamma spend, 12-month CLV."""

    __tablename__ = "account_ltv"

    id: Mapped[int] = mapped_column(primary_key=True)
    as_of: Mapped[dt.date] = mapped_column(Date, index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    probability_alive: Mapped[float]
    expected_payments_12m: Mapped[float]
    expected_payment_minor: Mapped[int | None]
    clv_12m_minor: Mapped[int | None]
    currency: Mapped[str] = mapped_column(String(3))

    __table_args__ = (UniqueConstraint("as_of", "account_id", name="uq_account_ltv_as_of"),)
