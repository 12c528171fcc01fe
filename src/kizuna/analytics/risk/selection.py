"""Choosing the churn model's features by their backtested value, and calibrating its probabilities, on a time split
inside the training samples.

Both need data the booster did not learn from, and both must not peek at what comes later: the training samples are
split by date once more (:func:`inner_split`): the booster learns from the samples whose horizon ended before the
last 30 % of the sample dates began, and is judged on those dates.

* **Selection** (:func:`permutation_value`): a feature *family* (every column of one event type, the all-types
  columns, or one other measure) is worth keeping when shuffling its columns together across the held-out samples
  lowers the held-out ROC-AUC (Breiman 2001, "Random forests", Machine Learning 45:5–32, section 10; permuting a
  family at once keeps correlated columns — a count and the same count per seat — from hiding each other).
* **Calibration** (:class:`Calibrator`): Platt scaling (Platt 1999, "Probabilistic outputs for support vector
  machines", a logistic regression on the booster's log-odds) or isotonic regression (Zadrozny & Elkan 2002) fitted on
  the held-out samples' outcomes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from kizuna.analytics.risk.behaviour import ALL_PREFIX, PAIR_PREFIX, behaviour_event

#: share of the training sample dates held out for selection and calibration
INNER_SHARE = 0.3
#: the held-out ROC-AUC a family must cost when shuffled to be kept: a tenth of a point; smaller drops are within what
#: reshuffling alone moves the ROC-AUC of a few thousand samples
MIN_AUC_DROP = 0.001
#: fewest churned samples in each part of the inner split for it to judge anything
MIN_POSITIVES = 10


def family(feature: str) -> str:
    """The family a feature is kept or dropped with: its event type, ``events:all``, ``events:mix`` (the pairwise
    ratios) or the feature itself."""
    event = behaviour_event(feature)
    if event is not None:
        return f"events:{event}"
    if feature.startswith(ALL_PREFIX):
        return "events:all"
    if feature.startswith(PAIR_PREFIX):
        return "events:mix"
    return feature


@dataclass(frozen=True)
class InnerSplit:
    """The samples a booster learns from (``fit``) and those it is judged on (``held_out``), from ``held_from``."""

    fit: pd.DataFrame
    held_out: pd.DataFrame
    held_from: dt.date


def inner_split(samples: pd.DataFrame, *, horizon_days: int, share: float = INNER_SHARE) -> InnerSplit | None:
    """Split ``samples`` by date (see the module docstring); None when a part lacks churned or retained samples."""
    if "as_of" not in samples.columns:
        return None
    as_of = pd.to_datetime(samples["as_of"])
    dates = sorted(as_of.unique())
    if len(dates) < 4:
        return None
    held_from = pd.Timestamp(dates[min(len(dates) - 1, int(len(dates) * (1 - share)))])
    fit = samples[as_of + pd.Timedelta(days=horizon_days) <= held_from]
    held = samples[as_of >= held_from]
    for part in (fit, held):
        y = part["churned"].astype(int)
        if y.sum() < MIN_POSITIVES or (len(y) - y.sum()) < MIN_POSITIVES:
            return None
    return InnerSplit(fit=fit, held_out=held, held_from=held_from.date())


def permutation_value(
    predict: Callable[[Any], npt.NDArray[np.float64]],
    held_out: pd.DataFrame,
    features: Sequence[str],
    *,
    repeats: int = 3,
    random_state: int = 0,
    matrix: npt.NDArray[np.float64] | None = None,
) -> pd.DataFrame:
    """Held-out ROC-AUC lost when each feature family is shuffled (mean over ``repeats``), per family.

    ``matrix``: the held-out rows' ``features`` as a numeric matrix (columns in the order of ``features``); then
    ``predict`` takes such a matrix, and a shuffle permutes the family's columns of a copy of it instead of a copy
    of the frame, which the predictor would convert again (the same numbers: the conversion is per value). A
    third of the churn model's training time on the 2,000-account demo was that conversion.

    Returns ``family``, ``features`` (its columns), ``auc_drop`` (positive = the family carries information the
    model uses on later dates), largest first.
    """
    from sklearn.metrics import roc_auc_score

    y = held_out["churned"].to_numpy(dtype=int)
    base = float(roc_auc_score(y, predict(held_out if matrix is None else matrix)))
    groups: dict[str, list[str]] = {}
    for f in features:
        groups.setdefault(family(f), []).append(f)
    position = {f: i for i, f in enumerate(features)}
    rng = np.random.default_rng(random_state)
    rows = []
    for name, cols in groups.items():
        drops = []
        for _ in range(repeats):
            order = rng.permutation(len(held_out))
            if matrix is None:
                shuffled = held_out.copy()
                shuffled[cols] = held_out[cols].to_numpy()[order]
                drops.append(base - float(roc_auc_score(y, predict(shuffled))))
                continue
            at = np.array([position[c] for c in cols], dtype=np.int64)
            permuted = matrix.copy()
            permuted[:, at] = matrix[np.ix_(order, at)]
            drops.append(base - float(roc_auc_score(y, predict(permuted))))
        rows.append({"family": name, "features": list(cols), "auc_drop": float(np.mean(drops))})
    out = pd.DataFrame(rows, columns=["family", "features", "auc_drop"])
    return out.sort_values("auc_drop", ascending=False, kind="stable").reset_index(drop=True)


class Calibrator:
    """Maps the booster's raw probability to a calibrated one: ``method`` ``"platt"`` or ``"isotonic"``.

    Attributes
    ----------
    params_ : dict
        Platt: ``slope`` and ``intercept`` on the log-odds; isotonic: the fitted thresholds' count.
    """

    def __init__(self, method: str = "platt") -> None:
        if method not in ("platt", "isotonic"):
            from kizuna.errors import InvalidInput

            raise InvalidInput(f"calibration {method!r} is not one of: platt, isotonic", method=method)
        self.method = method

    @staticmethod
    def _logit(p: npt.ArrayLike) -> npt.NDArray[np.float64]:
        q = np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
        return np.asarray(np.log(q / (1 - q)), dtype=float)

    def fit(self, raw: npt.ArrayLike, churned: npt.ArrayLike) -> Calibrator:
        y = np.asarray(churned, dtype=int)
        if self.method == "platt":
            from sklearn.linear_model import LogisticRegression

            lr = LogisticRegression(C=1e6, max_iter=1000).fit(self._logit(raw)[:, None], y)
            self.params_: dict[str, Any] = {"slope": float(lr.coef_[0, 0]), "intercept": float(lr.intercept_[0])}
        else:
            from sklearn.isotonic import IsotonicRegression

            self.isotonic_ = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(
                np.asarray(raw, dtype=float), y
            )
            self.params_ = {"thresholds": len(self.isotonic_.X_thresholds_)}
        return self

    def transform(self, raw: npt.ArrayLike) -> npt.NDArray[np.float64]:
        if self.method == "platt":
            z = self.params_["slope"] * self._logit(raw) + self.params_["intercept"]
            return np.asarray(1.0 / (1.0 + np.exp(-z)), dtype=float)
        return np.asarray(self.isotonic_.predict(np.asarray(raw, dtype=float)), dtype=float)
