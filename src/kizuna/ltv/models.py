"""Stored LTV results: one fit per cohort (sBG) and one value per account, per refresh date."""

from __future__ import annotations

import datetime as dt
from typing import Any

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
    #: 95 % profile-likelihood intervals (Venzon & Moolgavkar 1988); an upper bound is empty when the data set none
    #: (a degenerate fit: the profile never falls by the critical amount), the lower one is then still known
    alpha_lower: Mapped[float | None]
    alpha_upper: Mapped[float | None]
    beta_lower: Mapped[float | None]
    beta_upper: Mapped[float | None]
    churn_rate_lower: Mapped[float | None]  # mean churn per month, alpha / (alpha + beta)
    churn_rate_upper: Mapped[float | None]
    n_customers: Mapped[int]
    n_periods: Mapped[int]
    expected_lifetime_months: Mapped[float]  # over a 10-year horizon
    arpa_minor: Mapped[int]  # mean MRR of the cohort's active accounts
    currency: Mapped[str] = mapped_column(String(3))
    ltv_minor: Mapped[int]  # discounted expected lifetime x ARPA x gross margin
    computed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("as_of", "cohort_kind", "cohort", name="uq_ltv_cohort_fits_as_of"),)


class AccountLtv(Base):
    """Per account: BG/NBD probability alive and expected payments, Gamma-Gamma spend, 12-month CLV, and the residual
    lifetime value of its contract under its plan's sBG."""

    __tablename__ = "account_ltv"

    id: Mapped[int] = mapped_column(primary_key=True)
    as_of: Mapped[dt.date] = mapped_column(Date, index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    probability_alive: Mapped[float]
    expected_payments_12m: Mapped[float]
    expected_payment_minor: Mapped[int | None]
    clv_12m_minor: Mapped[int | None]
    #: why clv_12m_minor is empty (kizuna.analytics.ltv.portfolio.GAMMA_GAMMA_NOTES), None when it is not
    clv_note: Mapped[str | None] = mapped_column(String(32))
    currency: Mapped[str] = mapped_column(String(3))
    plan: Mapped[str | None] = mapped_column(String(200))  # the first base plan (the sBG cohort)
    residual_ltv_minor: Mapped[int | None]  # MRR x margin x DERL under the plan's sBG (Fader & Hardie 2010)

    __table_args__ = (UniqueConstraint("as_of", "account_id", name="uq_account_ltv_as_of"),)


class SurvivalFit(Base):
    """Survival of the customer base as of a refresh: Kaplan–Meier curves by one segmentation (``kind =
    "kaplan_meier"``, ``segment_by`` plan / touch_tier / all) or the Cox model (``kind = "cox"``).

    ``result``: for Kaplan–Meier ``{"curves": [{segment, days, survival, ci_lower, ci_upper}], "summary": [...],
    "logrank_p"}`` (curves thinned to the steps a chart needs); for Cox ``{"summary": [{covariate, hazard_ratio,
    hr_lower, hr_upper, p}], "concordance", "n", "events"}``.
    """

    __tablename__ = "ltv_survival_fits"

    id: Mapped[int] = mapped_column(primary_key=True)
    as_of: Mapped[dt.date] = mapped_column(Date, index=True)
    kind: Mapped[str] = mapped_column(String(32))
    segment_by: Mapped[str] = mapped_column(String(64))
    result: Mapped[dict[str, Any]]
    computed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("as_of", "kind", "segment_by", name="uq_ltv_survival_fits_as_of"),)
