"""Figures for judging a churn ranking or probability: ROC-AUC, PR-AUC, top-decile lift, Brier score, calibration."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd


def lift_at(risk: npt.ArrayLike, churned: npt.ArrayLike, *, share: float = 0.1) -> float:
    """Churn rate among the ``share`` riskiest samples divided by the overall churn rate (ties broken by order)."""
    r = np.asarray(risk, dtype=float)
    y = np.asarray(churned, dtype=float)
    if len(y) == 0 or y.mean() == 0:
        return float("nan")
    k = max(1, int(np.ceil(share * len(y))))
    top = np.argsort(-r, kind="stable")[:k]
    return float(y[top].mean() / y.mean())


def calibration_table(probability: npt.ArrayLike, churned: npt.ArrayLike, *, bins: int = 10) -> pd.DataFrame:
    """Predicted vs observed churn by probability decile (quantile bins; fewer when probabilities tie).

    Returns ``bin``, ``n``, ``mean_predicted``, ``observed_rate``, ``churned``.
    """
    p = np.asarray(probability, dtype=float)
    y = np.asarray(churned, dtype=float)
    frame = pd.DataFrame({"p": p, "y": y})
    if frame.empty:
        return pd.DataFrame(columns=["bin", "n", "mean_predicted", "observed_rate", "churned"])
    frame["bin"] = pd.qcut(frame["p"].rank(method="first"), q=min(bins, len(frame)), labels=False) + 1
    out = frame.groupby("bin").agg(
        n=("y", "size"), mean_predicted=("p", "mean"), observed_rate=("y", "mean"), churned=("y", "sum")
    )
    out["churned"] = out["churned"].astype(int)
    return out.reset_index()


def ranking_metrics(
    risk: npt.ArrayLike, churned: npt.ArrayLike, probability: npt.ArrayLike | None = None
) -> dict[str, float]:
    """``roc_auc``, ``pr_auc`` (average precision), ``lift_top_decile`` and, given probabilities, ``brier``.

    ``risk`` only has to rank (higher = riskier); ``probability`` must be a calibrated probability for the Brier
    score. Figures are NaN when a sample holds only one class.
    """
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    r = np.asarray(risk, dtype=float)
    y = np.asarray(churned, dtype=int)
    both = len(np.unique(y)) == 2
    out = {
        "n": float(len(y)),
        "churned": float(y.sum()),
        "base_rate": float(y.mean()) if len(y) else float("nan"),
        "roc_auc": float(roc_auc_score(y, r)) if both else float("nan"),
        "pr_auc": float(average_precision_score(y, r)) if both else float("nan"),
        "lift_top_decile": lift_at(r, y, share=0.1),
    }
    if probability is not None:
        out["brier"] = float(brier_score_loss(y, np.asarray(probability, dtype=float))) if len(y) else float("nan")
    return out
