"""Health scores: scorecards as reviewable YAML, point-in-time measures, scores with per-measure contributions,
explanations of every change, and backtests against real churn."""

from kizuna.analytics.scoring.backtest import ScorecardBacktest, backtest_scorecard, score_history
from kizuna.analytics.scoring.measures import MEASURE_COLUMNS, account_measures, measures_over_time
from kizuna.analytics.scoring.scorecard import (
    BANDS,
    Measure,
    Scorecard,
    load_scorecard,
    load_scorecards,
    scorecard_from_dict,
)
from kizuna.analytics.scoring.scoring import explain_change, score_accounts, score_trend

__all__ = [
    "BANDS",
    "MEASURE_COLUMNS",
    "Measure",
    "Scorecard",
    "ScorecardBacktest",
    "account_measures",
    "backtest_scorecard",
    "explain_change",
    "load_scorecard",
    "load_scorecards",
    "measures_over_time",
    "score_accounts",
    "score_history",
    "score_trend",
    "scorecard_from_dict",
]
