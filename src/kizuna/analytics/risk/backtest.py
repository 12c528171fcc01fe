"""Time-split backtest of the churn-risk model, next to the health score and a simple baseline.

Samples (account × date, see :func:`kizuna.analytics.risk.features.training_samples`) are split by date: the model
is trained on the samples whose whole horizon ended before ``test_from`` (their outcome was known then) and tested on
the samples dated on or after ``test_from``. Nothing of the test period reaches training, labels included.

Compared on the same test samples:

* ``model`` — :class:`~kizuna.analytics.risk.model.ChurnRiskModel` (behaviour features selected by their value,
  calibrated probabilities);
* ``previous`` — the model as it was before behaviour features: the same trees on the measures of
  :data:`~kizuna.analytics.risk.features.RISK_FEATURES` only, uncalibrated, all ``n_estimators`` trees;
* ``health`` — the scorecard's score (risk = −score; for the Brier score and calibration, the score is mapped to a
  probability by a one-feature logistic regression fitted on the training samples);
* ``baseline`` — logistic regression on per-event-type behaviour metrics (30-day events per seat and their trend for
  every event type, active days, breadth) and, where the hub has them, ``usage_trend``,
  ``days_since_last_login`` and ``severe_tickets_90d`` (median imputation, standardised).
"""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from kizuna.analytics.churn.evaluation import calibration_table, ranking_metrics
from kizuna.analytics.risk.behaviour import ALL_PREFIX, PREFIX
from kizuna.analytics.risk.features import RISK_FEATURES
from kizuna.analytics.risk.model import ChurnRiskModel
from kizuna.analytics.scoring.scorecard import Scorecard
from kizuna.analytics.scoring.scoring import score_accounts
from kizuna.errors import InvalidInput

BASELINE_FEATURES = ("usage_trend", "days_since_last_login", "severe_tickets_90d")
#: behaviour columns of the baseline: per event type, and over all types
BASELINE_BEHAVIOUR = ("__per_seat30", "__trend30")
BASELINE_ALL = ("days30", "breadth30", "trend30")


def baseline_features(samples: pd.DataFrame) -> list[str]:
    """The baseline's columns present in ``samples`` with at least one known value."""
    cols = [c for c in samples.columns if c.startswith(PREFIX) and c.endswith(BASELINE_BEHAVIOUR)]
    cols += [ALL_PREFIX + s for s in BASELINE_ALL if ALL_PREFIX + s in samples.columns]
    cols += [c for c in BASELINE_FEATURES if c in samples.columns]
    return [c for c in cols if samples[c].notna().any()]


@dataclass
class RiskBacktest:
    """Result of :func:`time_split_backtest`: one row of figures per method and a calibration table each."""

    test_from: dt.date
    train_window: tuple[dt.date, dt.date]
    test_window: tuple[dt.date, dt.date]
    metrics: pd.DataFrame
    calibration: dict[str, pd.DataFrame]
    predictions: pd.DataFrame = field(repr=False)
    model_card: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "test_from": self.test_from.isoformat(),
            "train_window": [d.isoformat() for d in self.train_window],
            "test_window": [d.isoformat() for d in self.test_window],
            "metrics": self.metrics.to_dict(orient="records"),
            "calibration": {k: v.to_dict(orient="records") for k, v in self.calibration.items()},
            "model_card": self.model_card,
        }


def _logistic(train_x: np.ndarray, train_y: np.ndarray, random_state: int) -> Any:
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(
        SimpleImputer(strategy="median", keep_empty_features=True),
        StandardScaler(),
        LogisticRegression(max_iter=1000, random_state=random_state),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return model.fit(train_x, train_y)


def default_test_from(dates: pd.Series, *, test_share: float = 1 / 3) -> dt.date:
    """The sample date from which the last ``test_share`` of the sample dates are held out."""
    unique = sorted(pd.to_datetime(dates).dt.date.unique())
    if len(unique) < 2:
        raise InvalidInput("a time-split backtest needs samples from at least two dates", dates=len(unique))
    k = max(1, round(len(unique) * test_share))
    first_test: dt.date = unique[len(unique) - k]
    return first_test


def time_split_backtest(
    samples: pd.DataFrame,
    *,
    horizon_days: int = 90,
    test_from: dt.date | None = None,
    scorecard: Scorecard | None = None,
    model: ChurnRiskModel | None = None,
    previous: bool = True,
    random_state: int = 0,
) -> RiskBacktest:
    """Train on earlier sample dates, test on later ones; report the model, the health score and the baseline.

    Parameters
    ----------
    samples
        Labelled point-in-time samples (``account_id``, ``as_of``, features, ``churned``).
    horizon_days
        The label horizon; training uses only samples with ``as_of + horizon_days <= test_from``.
    test_from
        First test date (default: the last third of the sample dates).
    scorecard
        The scorecard to compare (default: none, no ``health`` row).
    model
        An unfitted model to use (default: ``ChurnRiskModel(random_state=random_state)``).
    previous
        Also report the previous model (trees on the measures only, uncalibrated).
    random_state
        Seed for the model and the baseline.

    Returns
    -------
    RiskBacktest
        ``metrics``: one row per method with ``n``, ``churned``, ``base_rate``, ``roc_auc``, ``pr_auc``,
        ``lift_top_decile`` and ``brier``; ``calibration``: per method, predicted vs observed by decile.
    """
    as_of = pd.to_datetime(samples["as_of"])
    test_from = test_from or default_test_from(samples["as_of"])
    cut = pd.Timestamp(test_from)
    train = samples[as_of + pd.Timedelta(days=horizon_days) <= cut]
    test = samples[as_of >= cut]
    if train.empty or test.empty:
        raise InvalidInput("the time split leaves no training or no test samples", test_from=str(test_from))
    y_train = train["churned"].to_numpy(dtype=int)
    y_test = test["churned"].to_numpy(dtype=int)
    model = model or ChurnRiskModel(random_state=random_state, horizon_days=horizon_days)
    model.fit(train)
    p_model = model.predict_proba(test)
    predictions = test[["account_id", "as_of", "churned"]].copy()
    predictions["model"] = p_model
    rows = [{"method": "model", **ranking_metrics(p_model, y_test, p_model)}]
    calibration = {"model": calibration_table(p_model, y_test)}
    card = model_card(model)

    if previous:
        old = ChurnRiskModel(
            RISK_FEATURES,
            select=False,
            calibration=None,
            early_stopping=False,
            random_state=random_state,
            horizon_days=horizon_days,
        )
        if old.candidates(train):
            p_old = old.fit(train).predict_proba(test)
            predictions["previous"] = p_old
            rows.append({"method": "previous", **ranking_metrics(p_old, y_test, p_old)})
            calibration["previous"] = calibration_table(p_old, y_test)

    cols = baseline_features(train)
    if not cols:
        raise InvalidInput("samples have none of the baseline's features", columns=list(BASELINE_FEATURES))
    base = _logistic(train[cols].to_numpy(dtype=float), y_train, random_state)
    p_base = base.predict_proba(test[cols].to_numpy(dtype=float))[:, 1]
    predictions["baseline"] = p_base
    rows.append({"method": "baseline", **ranking_metrics(p_base, y_test, p_base)})
    calibration["baseline"] = calibration_table(p_base, y_test)
    card["baseline_features"] = cols

    if scorecard is not None:
        train_score = score_accounts(train, scorecard)[0]["score"].to_numpy(dtype=float)
        test_score = score_accounts(test, scorecard)[0]["score"].to_numpy(dtype=float)
        # an account with no known input gets the middle of the scale rather than being dropped
        train_score = np.where(np.isnan(train_score), 50.0, train_score)
        test_score = np.where(np.isnan(test_score), 50.0, test_score)
        mapper = _logistic(train_score[:, None], y_train, random_state)
        p_health = mapper.predict_proba(test_score[:, None])[:, 1]
        predictions["health_score"] = test_score
        predictions["health"] = p_health
        rows.append(
            {
                "method": f"health ({scorecard.name} v{scorecard.version})",
                **ranking_metrics(-test_score, y_test, p_health),
            }
        )
        calibration["health"] = calibration_table(p_health, y_test)

    train_dates = pd.to_datetime(train["as_of"])
    test_dates = pd.to_datetime(test["as_of"])
    return RiskBacktest(
        test_from=test_from,
        train_window=(train_dates.min().date(), train_dates.max().date()),
        test_window=(test_dates.min().date(), test_dates.max().date()),
        metrics=pd.DataFrame(rows),
        calibration=calibration,
        predictions=predictions.reset_index(drop=True),
        model_card=card,
    )


def model_card(model: ChurnRiskModel) -> dict[str, Any]:
    """What a fitted model says about itself: features kept (with their families' held-out value) and calibration."""
    report = dict(getattr(model, "fit_report_", {}))
    selection = getattr(model, "selection_", None)
    out: dict[str, Any] = {"features": list(model.features_), "fit": report}
    if selection is not None:
        out["selection"] = [
            {"family": r.family, "auc_drop": round(float(r.auc_drop), 5), "kept": bool(r.kept), "n": len(r.features)}
            for r in selection.itertuples()
        ]
    return out
