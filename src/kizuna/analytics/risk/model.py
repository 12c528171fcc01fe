"""The churn-risk model: gradient-boosted trees (LightGBM) on point-in-time features, with per-account drivers.

Drivers are the trees' own additive feature contributions (TreeSHAP, Lundberg et al. 2020, "From local explanations
to global understanding with explainable AI for trees", Nature Machine Intelligence 2:56–67), as LightGBM computes
them with ``pred_contrib=True``: for each account the contributions (in log-odds) plus the bias add up to the logit of
its probability, so "+0.8 from days_since_last_login" means that feature alone moved the account's log-odds of churn
up by 0.8 from the average.

Bands are relative to the base rate seen in training, so they mean the same on any book of business: ``high`` =
at least twice as likely to churn as the average account, ``medium`` = above average, ``low`` = at or below it.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from kizuna.analytics.risk.features import RISK_FEATURES
from kizuna.errors import InvalidInput

RISK_BANDS = ("low", "medium", "high")


class ChurnRiskModel:
    """Probability of churn within the horizon, from point-in-time features.

    Parameters
    ----------
    features
        Candidate feature columns (default :data:`~kizuna.analytics.risk.features.RISK_FEATURES`); columns with no
        known value in training are dropped.
    horizon_days
        The horizon the labels were built with (kept as metadata).
    n_estimators, learning_rate, num_leaves, min_child_samples
        LightGBM settings; the defaults are deliberately conservative (shallow trees, many samples per leaf) so the
        model does not memorise a small book of business.
    random_state
        Seed of the booster.

    Attributes
    ----------
    features_ : list of str
        The features the model uses.
    base_rate_ : float
        Churn rate of the training samples.
    band_thresholds_ : dict
        Probability thresholds of the bands (``medium`` = base rate, ``high`` = twice the base rate).
    booster_ : lightgbm.Booster
    """

    def __init__(
        self,
        features: Sequence[str] = RISK_FEATURES,
        *,
        horizon_days: int = 90,
        n_estimators: int = 200,
        learning_rate: float = 0.05,
        num_leaves: int = 15,
        min_child_samples: int = 40,
        random_state: int = 0,
    ) -> None:
        self.features = tuple(features)
        self.horizon_days = horizon_days
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.random_state = random_state

    def _matrix(self, frame: pd.DataFrame, columns: Sequence[str]) -> npt.NDArray[np.float64]:
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise InvalidInput(f"feature frame lacks column(s) {', '.join(missing)}", columns=missing)
        matrix: npt.NDArray[np.float64] = (
            frame[list(columns)].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
        )
        return matrix

    def fit(self, samples: pd.DataFrame, churned: npt.ArrayLike | None = None) -> ChurnRiskModel:
        """Fit on a sample frame (features and, unless given apart, a ``churned`` column). Returns self."""
        import lightgbm as lgb

        y = np.asarray(samples["churned"] if churned is None else churned, dtype=float)
        if len(y) == 0 or y.min() == y.max():
            raise InvalidInput("training samples need both churned and retained accounts", n=len(y))
        present = [c for c in self.features if c in samples.columns and samples[c].notna().any()]
        X = self._matrix(samples, present)
        params = {
            "objective": "binary",
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_child_samples,
            "feature_fraction": 0.9,
            "bagging_fraction": 0.9,
            "bagging_freq": 1,
            "lambda_l2": 1.0,
            "seed": self.random_state,
            "deterministic": True,
            "num_threads": 1,
            "verbose": -1,
        }
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            data = lgb.Dataset(X, label=y, feature_name=present, free_raw_data=False)
            self.booster_ = lgb.train(params, data, num_boost_round=self.n_estimators)
        self.features_ = present
        self.base_rate_ = float(y.mean())
        self.n_samples_ = len(y)
        self.band_thresholds_ = {"medium": self.base_rate_, "high": min(1.0, 2 * self.base_rate_)}
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "booster_"):
            raise InvalidInput("the model is not fitted: call fit() first")

    def predict_proba(self, frame: pd.DataFrame) -> npt.NDArray[np.float64]:
        """Probability of churn within the horizon for each row."""
        self._check_fitted()
        return np.asarray(self.booster_.predict(self._matrix(frame, self.features_)), dtype=float)

    def predict_band(self, frame: pd.DataFrame) -> npt.NDArray[np.object_]:
        return self.band(self.predict_proba(frame))

    def band(self, probability: npt.ArrayLike) -> npt.NDArray[np.object_]:
        p = np.asarray(probability, dtype=float)
        t = self.band_thresholds_
        return np.where(p >= t["high"], "high", np.where(p > t["medium"], "medium", "low")).astype(object)

    def contributions(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Per-row feature contributions in log-odds (TreeSHAP); column ``bias`` holds the expected value."""
        self._check_fitted()
        raw = self.booster_.predict(self._matrix(frame, self.features_), pred_contrib=True)
        return pd.DataFrame(np.asarray(raw), columns=[*self.features_, "bias"], index=frame.index)

    def drivers(self, frame: pd.DataFrame, *, top: int = 3) -> list[list[dict[str, Any]]]:
        """The ``top`` features that raise each row's risk most (positive contributions), with their values."""
        contrib = self.contributions(frame).drop(columns="bias")
        values = frame[self.features_]
        out: list[list[dict[str, Any]]] = []
        for i in range(len(contrib)):
            row = contrib.iloc[i]
            order = np.argsort(-row.to_numpy(), kind="stable")[:top]
            drivers = []
            for j in order:
                c = float(row.iloc[j])
                if c <= 0:
                    break
                v = values.iloc[i, j]
                drivers.append(
                    {
                        "feature": self.features_[j],
                        "value": None if pd.isna(v) else round(float(v), 4),
                        "contribution": round(c, 4),
                    }
                )
            out.append(drivers)
        return out

    def feature_importance(self) -> pd.DataFrame:
        """Total gain per feature, largest first."""
        self._check_fitted()
        gain = self.booster_.feature_importance(importance_type="gain")
        return (
            pd.DataFrame({"feature": self.features_, "gain": gain})
            .sort_values("gain", ascending=False)
            .reset_index(drop=True)
        )
