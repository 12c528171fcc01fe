"""Saved churn-risk models (metadata; the fitted model itself is a joblib file under ``data_dir/models``) and
per-account risk scores with their drivers."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kizuna.db import Base, utcnow


class RiskModel(Base):
    """A trained churn-risk model: where its file is, what it was trained on, and how it backtested."""

    __tablename__ = "risk_models"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), default="churn_risk")
    file_name: Mapped[str] = mapped_column(String(300))  # relative to settings.models_dir
    trained_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    data_as_of: Mapped[dt.date] = mapped_column(Date)  # the end of the data it was trained on
    horizon_days: Mapped[int]
    train_start: Mapped[dt.date] = mapped_column(Date)  # first and last sample dates
    train_end: Mapped[dt.date] = mapped_column(Date)
    n_samples: Mapped[int]
    base_rate: Mapped[float]
    features: Mapped[list[Any]]
    params: Mapped[dict[str, Any]]
    metrics: Mapped[dict[str, Any]]  # the time-split backtest (model vs health score vs baseline)
    active: Mapped[bool] = mapped_column(default=True)
    trained_by: Mapped[str] = mapped_column(String(200))


class RiskScore(Base):
    """One account's churn probability from one model as of one day, with its band and top drivers."""

    __tablename__ = "risk_scores"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("risk_models.id", ondelete="CASCADE"), index=True)
    as_of: Mapped[dt.date] = mapped_column(Date)
    probability: Mapped[float]
    band: Mapped[str] = mapped_column(String(16))
    drivers: Mapped[list[Any]]  # [{feature, value, contribution (log-odds)}], strongest first
    computed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("account_id", "model_id", "as_of", name="uq_risk_scores_account_model_as_of"),
        Index("ix_risk_scores_as_of_band", "as_of", "band"),
        # the risk page: a model's newest day, its band counts and its riskiest accounts from the index alone
        Index("ix_risk_scores_model_as_of_probability", "model_id", "as_of", "probability", "band", "account_id"),
    )
