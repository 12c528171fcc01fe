"""The churn-risk model: gradient-boosted trees (LightGBM) on point-in-time features, with per-account drivers.

Drivers are the trees' own additive feature contributions (TreeSHAP, Lundberg et al. 2020, "From local explanations
to global understanding with explainable AI for trees", Nature Machine Intelligence 2:56–67), as LightGBM computes
them with ``pred_contrib=True``: for each account the contributions (in log-odds) plus the bias add up to the logit of
its probability, so "+0.8 from days_since_last_login" means that feature alone moved the account's log-odds of churn
up by 0.8 from the average.

Behaviour: besides the measures of :data:`~kizuna.analytics.risk.features.RISK_FEATURES`, every behaviour column
of the samples (:mod:`kizuna.analytics.risk.behaviour`, one family per event type the store holds) is a candidate.
With ``select=True`` the families are kept by their backtested value on a time split inside the training samples,
and with ``calibration`` the probabilities are calibrated on that split's later dates
(:mod:`kizuna.analytics.risk.selection`); the booster itself is then refitted on all the training samples with the
kept features. Drivers stay in the booster's own log-odds (before calibration, which is monotone: it changes no
ranking and no sign).

The number of trees is chosen on that split too (``early_stopping``): the booster of the kept features learns from
the earlier dates with up to ``n_estimators`` trees, and the final booster gets the number of trees at which the
held-out ROC-AUC was highest. With a few thousand accounts the trees past that point learn the training dates' noise:
on four companies of two generators (``bench/models.py``) the full 200 trees ranked the test period worse than the
chosen 25-75 on every one (docs/risk.md, "Top-decile lift").

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

from kizuna.analytics.risk.behaviour import is_behaviour_feature
from kizuna.analytics.risk.features import RISK_FEATURES
from kizuna.analytics.risk.sampling import MAX_PERMUTATION_SAMPLES, MAX_SAMPLES, stratified_cap
from kizuna.errors import InvalidInput

RISK_BANDS = ("low", "medium", "high")
#: the numbers of trees early stopping chooses from: multiples of this (a finer grid chases the held-out dates' noise)
ROUNDS_STEP = 25


class ChurnRiskModel:
    """Probability of churn within the horizon, from point-in-time features.

    Parameters
    ----------
    features
        Candidate feature columns (default: :data:`~kizuna.analytics.risk.features.RISK_FEATURES` and every
        behaviour column of the training samples); columns with no known value in training are dropped.
    select
        Keep only the feature families that carry value on a time split inside the training samples.
    calibration
        ``"platt"``, ``"isotonic"`` or None: calibrate the probabilities on the later dates of that split.
    early_stopping
        Choose the number of trees on that split (the held-out ROC-AUC's best, at most ``n_estimators``).
    horizon_days
        The horizon the labels were built with (kept as metadata).
    n_estimators, learning_rate, num_leaves, min_child_samples
        LightGBM settings (``n_estimators``: the number of trees, or their maximum with ``early_stopping``); the
        defaults are deliberately conservative (shallow trees, many samples per leaf) so the
        model does not memorise a small book of business.
    max_samples
        Most samples the model learns from (:func:`~kizuna.analytics.risk.sampling.stratified_cap`: the same
        share of each sample date's churned and retained samples, seeded); None: all of them.
    random_state
        Seed of the booster and of the cap.

    Attributes
    ----------
    features_ : list of str
        The features the model uses.
    base_rate_ : float
        Churn rate of the training samples.
    band_thresholds_ : dict
        Probability thresholds of the bands (``medium`` = base rate, ``high`` = twice the base rate).
    booster_ : lightgbm.Booster
    selection_ : pandas.DataFrame or None
        Per feature family: ``family``, ``features``, ``auc_drop`` (held-out ROC-AUC lost when shuffled), ``kept``.
    calibrator_ : Calibrator or None
    rounds_ : int
        The number of trees of the final booster.
    fit_report_ : dict
        How the fit went: the inner split's date, candidate and kept feature counts, the number of trees chosen
        (``rounds``, with the held-out ROC-AUC at it and at ``n_estimators``), calibration figures (Brier of the
        held-out samples before and after, their reliability table), or why a step was skipped.
    """

    def __init__(
        self,
        features: Sequence[str] | None = None,
        *,
        select: bool = True,
        calibration: str | None = "platt",
        early_stopping: bool = True,
        horizon_days: int = 90,
        n_estimators: int = 200,
        learning_rate: float = 0.05,
        num_leaves: int = 15,
        min_child_samples: int = 40,
        max_samples: int | None = MAX_SAMPLES,
        random_state: int = 0,
    ) -> None:
        self.features = None if features is None else tuple(features)
        self.select = select
        self.calibration = calibration
        self.early_stopping = early_stopping
        self.horizon_days = horizon_days
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.max_samples = max_samples
        self.random_state = random_state

    def _matrix(self, frame: pd.DataFrame, columns: Sequence[str]) -> npt.NDArray[np.float64]:
        # a behaviour column of an event type the store no longer holds is unknown, not an error
        absent = [c for c in columns if c not in frame.columns and is_behaviour_feature(c)]
        if absent:
            frame = frame.assign(**dict.fromkeys(absent, np.nan))
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise InvalidInput(f"feature frame lacks column(s) {', '.join(missing)}", columns=missing)
        part = frame[list(columns)]
        # plain numpy numbers need no conversion (a copy of every column of a million samples); others are coerced
        coerce = [c for c in part.columns if not (isinstance(part[c].dtype, np.dtype) and part[c].dtype.kind in "biuf")]
        if coerce:
            part = part.assign(**{c: pd.to_numeric(part[c], errors="coerce") for c in coerce})
        matrix: npt.NDArray[np.float64] = part.to_numpy(dtype=float)
        return matrix

    def candidates(self, samples: pd.DataFrame) -> list[str]:
        """The candidate columns of ``samples``: the given features, or the measures plus every behaviour column."""
        wanted = self.features
        if wanted is None:
            wanted = (*RISK_FEATURES, *(c for c in samples.columns if is_behaviour_feature(c)))
        return [c for c in wanted if c in samples.columns and samples[c].notna().any()]

    def _params(self) -> dict[str, Any]:
        return {
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

    def _train(self, samples: pd.DataFrame, features: list[str], rounds: int | None = None) -> Any:
        import lightgbm as lgb

        y = samples["churned"].to_numpy(dtype=float)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            data = lgb.Dataset(self._matrix(samples, features), label=y, feature_name=features, free_raw_data=False)
            return lgb.train(self._params(), data, num_boost_round=rounds or self.n_estimators)

    @staticmethod
    def held_out_auc(
        booster: Any, matrix: npt.NDArray[np.float64], y: npt.NDArray[np.int_], *, step: int = ROUNDS_STEP
    ) -> dict[int, float]:
        """The held-out ROC-AUC of the first ``step``, ``2 * step`` ... trees of ``booster``, by number of trees."""
        from sklearn.metrics import roc_auc_score

        # the trees' log-odds summed a block at a time (a prediction per prefix would walk rounds² trees)
        raw = np.zeros(len(y))
        out: dict[int, float] = {}
        total = booster.current_iteration()
        for start in range(0, total, step):
            block = min(step, total - start)
            raw += booster.predict(matrix, raw_score=True, start_iteration=start, num_iteration=block)
            out[min(start + step, total)] = float(roc_auc_score(y, raw))
        return out

    def fit(self, samples: pd.DataFrame, churned: npt.ArrayLike | None = None) -> ChurnRiskModel:
        """Fit on a sample frame (features, ``as_of`` and, unless given apart, a ``churned`` column). Returns self."""
        from kizuna.analytics.churn.evaluation import calibration_table
        from kizuna.analytics.risk.selection import MIN_AUC_DROP, Calibrator, inner_split, permutation_value

        if churned is not None:
            samples = samples.assign(churned=np.asarray(churned))
        y = np.asarray(samples["churned"], dtype=float)
        if len(y) == 0 or y.min() == y.max():
            raise InvalidInput("training samples need both churned and retained accounts", n=len(y))
        n_samples = len(y)
        # a large book: a stratified share of the samples (each date's churn rate kept; see the sampling module)
        samples = stratified_cap(samples, self.max_samples, random_state=self.random_state)
        present = self.candidates(samples)
        report: dict[str, Any] = {"candidates": len(present)}
        if len(samples) < n_samples:
            report["samples_used"] = len(samples)
        self.selection_: pd.DataFrame | None = None
        self.calibrator_: Calibrator | None = None
        inner_steps = self.select or self.calibration or self.early_stopping
        split = inner_split(samples, horizon_days=self.horizon_days) if inner_steps else None
        if split is None and inner_steps:
            report["skipped"] = "too few dates or churned samples for a time split inside the training samples"
        kept = present
        rounds = self.n_estimators
        if split is not None:
            report["held_from"] = split.held_from.isoformat()
            report["inner_fit_samples"] = len(split.fit)
            report["held_out_samples"] = len(split.held_out)
            if self.select:
                inner = self._train(split.fit, present)
                judged = stratified_cap(split.held_out, MAX_PERMUTATION_SAMPLES, random_state=self.random_state)
                value = permutation_value(
                    lambda matrix: np.asarray(inner.predict(matrix), dtype=float),
                    judged,
                    present,
                    random_state=self.random_state,
                    matrix=self._matrix(judged, present),
                )
                value["kept"] = value["auc_drop"] >= MIN_AUC_DROP
                if not value["kept"].any():  # nothing helps on later dates: keep the best family rather than none
                    value.loc[0, "kept"] = True
                self.selection_ = value
                keep = {f for fs in value.loc[value["kept"], "features"] for f in fs}
                kept = [f for f in present if f in keep]
            if self.calibration or self.early_stopping:
                inner = self._train(split.fit, kept)
                held = self._matrix(split.held_out, kept)
                y_held = split.held_out["churned"].to_numpy(dtype=int)
            if self.early_stopping:
                auc = self.held_out_auc(inner, held, y_held)
                rounds = max(auc, key=lambda k: (auc[k], -k))  # the best; of equals, the fewest trees
                report["rounds"] = rounds
                report["rounds_auc"] = round(auc[rounds], 4)
                report["max_rounds"] = max(auc)
                report["max_rounds_auc"] = round(auc[max(auc)], 4)
            if self.calibration:
                raw = np.asarray(inner.predict(held, num_iteration=rounds), dtype=float)
                self.calibrator_ = Calibrator(self.calibration).fit(raw, y_held)
                calibrated = self.calibrator_.transform(raw)
                report["calibration"] = {
                    "method": self.calibration,
                    "params": self.calibrator_.params_,
                    "brier_before": float(np.mean((raw - y_held) ** 2)),
                    "brier_after": float(np.mean((calibrated - y_held) ** 2)),
                    "reliability": calibration_table(calibrated, y_held).to_dict(orient="records"),
                }
        report["kept"] = len(kept)
        self.booster_ = self._train(samples, kept, rounds)
        self.rounds_ = rounds
        self.features_ = kept
        self.base_rate_ = float(y.mean())
        self.n_samples_ = n_samples
        self.band_thresholds_ = {"medium": self.base_rate_, "high": min(1.0, 2 * self.base_rate_)}
        self.fit_report_ = report
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "booster_"):
            raise InvalidInput("the model is not fitted: call fit() first")

    def predict_proba(self, frame: pd.DataFrame) -> npt.NDArray[np.float64]:
        """Probability of churn within the horizon for each row (calibrated when the model was)."""
        raw = self.predict_raw(frame)
        calibrator = getattr(self, "calibrator_", None)
        return raw if calibrator is None else calibrator.transform(raw)

    def predict_raw(self, frame: pd.DataFrame) -> npt.NDArray[np.float64]:
        """The booster's own probability, before calibration (its log-odds are what :meth:`contributions` adds up)."""
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
