"""Health scores per account × scorecard × date, with per-measure contributions, and CSM overrides.

A stored score keeps both what the scorecard computed (``computed_score`` / ``computed_band``) and what is in force
(``score`` / ``band``): the same unless a CSM override was active that day, in which case ``override_id`` says which.
A later computation re-applies an override until it expires or is revoked, so an override is never silently lost,
and the computed value is never thrown away either.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kizuna.db import Base, utcnow


class HealthOverride(Base):
    """A CSM's judgement that replaces a computed health band (and optionally score) until ``expires_on``."""

    __tablename__ = "health_overrides"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    scorecard: Mapped[str] = mapped_column(String(64))
    band: Mapped[str] = mapped_column(String(16))
    score: Mapped[float | None]
    reason: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(200))
    starts_on: Mapped[dt.date] = mapped_column(Date)
    expires_on: Mapped[dt.date] = mapped_column(Date)  # first day it no longer applies
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[dt.datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (Index("ix_health_overrides_account_scorecard", "account_id", "scorecard"),)

    def in_force(self, day: dt.date) -> bool:
        return self.revoked_at is None and self.starts_on <= day < self.expires_on


class HealthScore(Base):
    """One account's score on one scorecard on one day, with each measure's contribution."""

    __tablename__ = "health_scores"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    scorecard: Mapped[str] = mapped_column(String(64))
    scorecard_version: Mapped[int]
    as_of: Mapped[dt.date] = mapped_column(Date)
    computed_score: Mapped[float | None]
    computed_band: Mapped[str | None] = mapped_column(String(16))
    score: Mapped[float | None]  # in force: the override's if one applied, else the computed one
    band: Mapped[str | None] = mapped_column(String(16))
    override_id: Mapped[int | None] = mapped_column(ForeignKey("health_overrides.id", ondelete="SET NULL"))
    known_weight: Mapped[float]  # share (0-1) of the scorecard's weight whose input was known
    missing: Mapped[list[Any]]  # measures whose weight was redistributed
    contributions: Mapped[list[Any]]  # [{measure, value, points, weight, effective_weight, contribution}]
    computed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("account_id", "scorecard", "as_of", name="uq_health_scores_account_scorecard_as_of"),
        Index("ix_health_scores_scorecard_as_of", "scorecard", "as_of"),
        # the newest day of any scorecard (playbook conditions, the renewals' health column): a seek, not a scan
        Index("ix_health_scores_as_of", "as_of"),
        # covers a day's distribution of one scorecard (the health pages): no table row is read
        Index("ix_health_scores_scorecard_as_of_band_score", "scorecard", "as_of", "band", "score"),
    )


class HealthBacktest(Base):
    """A scorecard's backtest against real churn, stored by ``kizuna refresh`` (or ``kizuna health backtest
    --store``) so that pages read it instead of scoring the whole history on a request.

    ``metrics``: ROC-AUC, precision and recall of red, lead time... (:func:`~kizuna.analytics.scoring.backtest.
    backtest_scorecard`); ``by_band``: churn rate per band; ``history``: the portfolio at each sample date
    (``as_of``, ``accounts``, ``red``, ``yellow``, ``green``, ``mean_score``) scored point in time.
    """

    __tablename__ = "health_backtests"

    id: Mapped[int] = mapped_column(primary_key=True)
    scorecard: Mapped[str] = mapped_column(String(64))
    scorecard_version: Mapped[int]
    as_of: Mapped[dt.date] = mapped_column(Date)  # the end of the data
    horizon_days: Mapped[int]
    every_days: Mapped[int]
    metrics: Mapped[dict[str, Any]]
    by_band: Mapped[list[Any]]
    history: Mapped[list[Any]]
    computed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_health_backtests_scorecard_as_of", "scorecard", "as_of"),)
