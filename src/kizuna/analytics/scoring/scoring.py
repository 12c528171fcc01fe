"""Scoring accounts on a scorecard, with per-measure contributions, and explaining a change between two scores.

The score of an account is

.. math:: S = \\sum_i w_i' p_i, \\qquad w_i' = \\frac{w_i [x_i \\text{ known}]}{\\sum_j w_j [x_j \\text{ known}]}

where :math:`p_i \\in [0, 100]` are the points of measure *i* and :math:`w_i` its weight: the weight of a measure
whose input is missing is redistributed over the known ones in proportion to their weights. The contribution of a
measure is :math:`w_i' p_i`, so the contributions add up to the score exactly, and the change of a score between two
dates is exactly the sum of the changes of the contributions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kizuna.analytics.scoring.scorecard import Scorecard
from kizuna.errors import InvalidInput

CONTRIBUTION_COLUMNS = [
    "account_id",
    "measure",
    "source",
    "value",
    "points",
    "weight",
    "effective_weight",
    "contribution",
    "missing",
]


def score_accounts(measures: pd.DataFrame, scorecard: Scorecard) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score every account of a measure frame on ``scorecard``.

    Parameters
    ----------
    measures
        One row per account with an ``account_id`` column and the measure columns named by the scorecard's
        ``source`` fields. A source column that is absent counts as missing for every account.
    scorecard
        The scorecard.

    Returns
    -------
    scores
        One row per account: ``account_id``, ``score`` (0–100, NaN if no input is known), ``band``
        (red/yellow/green, None if unknown), ``known_weight`` (share 0–1 of the nominal weight whose input was known)
        and ``missing`` (names of the measures whose weight was redistributed).
    contributions
        One row per account and measure: ``value``, ``points`` (0–100), nominal ``weight`` (share 0–1),
        ``effective_weight`` after redistribution, ``contribution`` (points × effective weight; they sum to the
        score) and ``missing``.
    """
    if "account_id" not in measures.columns:
        raise InvalidInput("measure frame has no 'account_id' column", column="account_id")
    n = len(measures)
    account_ids = measures["account_id"].to_numpy()
    values, points, known, weights, known_weight, effective, contribution, score = _score(measures, scorecard)
    names = [m.name for m in scorecard.measures]
    scores = pd.DataFrame(
        {
            "account_id": account_ids,
            "score": score,
            "band": pd.Series(scorecard.band(score), dtype=object),
            "known_weight": known_weight,
            "missing": [[names[j] for j in np.flatnonzero(~row)] for row in known],
        }
    )
    k = len(names)
    contributions = pd.DataFrame(
        {
            "account_id": np.repeat(account_ids, k),
            "measure": np.tile(names, n),
            "source": np.tile([m.source for m in scorecard.measures], n),
            "value": values.reshape(-1),
            "points": points.reshape(-1),
            "weight": np.tile(weights, n),
            "effective_weight": effective.reshape(-1),
            "contribution": contribution.reshape(-1),
            "missing": ~known.reshape(-1),
        },
        columns=CONTRIBUTION_COLUMNS,
    )
    return scores, contributions


def _score(measures: pd.DataFrame, scorecard: Scorecard) -> tuple[np.ndarray, ...]:
    """Row by row (each account's score depends on its own row only): the measure values, their points, which are
    known, the nominal weights, the known share of the weight, the effective weights, the contributions, the score."""
    n = len(measures)
    weights = np.array([m.weight for m in scorecard.measures], dtype=float)
    weights = weights / weights.sum()
    values = (
        np.column_stack(
            [
                pd.to_numeric(measures[m.source], errors="coerce").to_numpy(dtype=float)
                if m.source in measures.columns
                else np.full(n, np.nan)
                for m in scorecard.measures
            ]
        )
        if n
        else np.empty((0, len(scorecard.measures)))
    )
    points = np.column_stack([m.points(values[:, i]) for i, m in enumerate(scorecard.measures)]) if n else values
    known = ~np.isnan(points)
    known_weight = (known * weights).sum(axis=1) if n else np.empty(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        effective = np.where(known, weights, 0.0) / known_weight[:, None] if n else values
    effective[~np.isfinite(effective)] = 0.0
    contribution = np.where(known, np.nan_to_num(points) * effective, 0.0)
    score = np.where(known_weight > 0, contribution.sum(axis=1), np.nan) if n else np.empty(0)
    return values, points, known, weights, known_weight, effective, contribution, score


def score_values(measures: pd.DataFrame, scorecard: Scorecard) -> pd.DataFrame:
    """The scores of :func:`score_accounts` alone (``account_id``, ``score``, ``band``, ``known_weight``), for many
    rows at once (a history of many dates): no per-measure contributions, no list of missing measures."""
    if "account_id" not in measures.columns:
        raise InvalidInput("measure frame has no 'account_id' column", column="account_id")
    *_, known_weight, _effective, _contribution, score = _score(measures, scorecard)
    return pd.DataFrame(
        {
            "account_id": measures["account_id"].to_numpy(),
            "score": score,
            "band": pd.Series(scorecard.band(score), dtype=object),
            "known_weight": known_weight,
        }
    )


def explain_change(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Which measures moved a score between two dates, and by how many points.

    Parameters
    ----------
    before, after
        Contribution frames (as returned by :func:`score_accounts`) of the same scorecard at two dates; they may
        hold many accounts.

    Returns
    -------
    pandas.DataFrame
        One row per account and measure: value, points and contribution before and after, and ``delta`` (the change
        of the contribution, in score points). Per account the deltas add up to the change of the score. Sorted by
        account, then by the size of the delta (largest first). A measure whose input became missing (or known)
        shows the redistribution of its weight as deltas of the other measures.
    """
    cols = ["account_id", "measure", "value", "points", "effective_weight", "contribution", "missing"]
    merged = before[cols].merge(after[cols], on=["account_id", "measure"], how="outer", suffixes=("_before", "_after"))
    merged["contribution_before"] = merged["contribution_before"].fillna(0.0)
    merged["contribution_after"] = merged["contribution_after"].fillna(0.0)
    merged["delta"] = merged["contribution_after"] - merged["contribution_before"]
    merged["abs_delta"] = merged["delta"].abs()
    merged = merged.sort_values(["account_id", "abs_delta"], ascending=[True, False]).drop(columns="abs_delta")
    return merged.reset_index(drop=True)


def score_trend(history: pd.DataFrame, *, days: int = 30) -> pd.DataFrame:
    """Trend of each account's score: the change over the last ``days`` days and the least-squares slope.

    Parameters
    ----------
    history
        Columns ``account_id``, ``as_of`` (date) and ``score``.
    days
        The window, in days, ending at each account's latest score.

    Returns
    -------
    pandas.DataFrame
        ``account_id``, ``latest`` score, ``change`` (latest minus the earliest score inside the window),
        ``slope_per_30d`` (least-squares slope in points per 30 days; NaN with fewer than two scores) and
        ``direction`` (up / down / flat; flat when the change is under 2 points).
    """
    rows = []
    for account_id, grp in history.dropna(subset=["score"]).groupby("account_id", sort=True):
        grp = grp.sort_values("as_of")
        last_day = pd.Timestamp(grp["as_of"].iloc[-1])
        window = grp[pd.to_datetime(grp["as_of"]) >= last_day - pd.Timedelta(days=days)]
        x = (pd.to_datetime(window["as_of"]) - last_day).dt.days.to_numpy(dtype=float)
        y = window["score"].to_numpy(dtype=float)
        slope = float(np.polyfit(x, y, 1)[0]) * 30 if len(window) >= 2 and np.ptp(x) > 0 else np.nan
        change = float(y[-1] - y[0])
        rows.append(
            {
                "account_id": account_id,
                "latest": float(y[-1]),
                "change": change,
                "slope_per_30d": slope,
                "direction": "up" if change >= 2 else "down" if change <= -2 else "flat",
            }
        )
    return pd.DataFrame(rows, columns=["account_id", "latest", "change", "slope_per_30d", "direction"])
