"""Churn risk (離脱予兆): point-in-time samples, labels, the gradient-boosted model with drivers, and backtests."""

from kizuna.analytics.churn.evaluation import calibration_table, lift_at, ranking_metrics
from kizuna.analytics.churn.labels import churn_events, churn_labels, coverage_intervals, sample_dates
from kizuna.analytics.risk.backtest import BASELINE_FEATURES, RiskBacktest, time_split_backtest
from kizuna.analytics.risk.features import CONTEXT_FEATURES, RISK_FEATURES, in_population, training_samples
from kizuna.analytics.risk.model import RISK_BANDS, ChurnRiskModel

__all__ = [
    "BASELINE_FEATURES",
    "CONTEXT_FEATURES",
    "RISK_BANDS",
    "RISK_FEATURES",
    "ChurnRiskModel",
    "RiskBacktest",
    "calibration_table",
    "churn_events",
    "churn_labels",
    "coverage_intervals",
    "in_population",
    "lift_at",
    "ranking_metrics",
    "sample_dates",
    "time_split_backtest",
    "training_samples",
]
