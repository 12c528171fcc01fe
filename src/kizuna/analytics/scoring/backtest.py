"""Backtest of a scorecard against what really happened: the score at each past date vs churn in the next 90 days.

For every sample date *t* (e.g. every 30 days over the history) the accounts in force on *t* that had not given
notice are scored from data known at *t*; each (account, *t*) is labelled with churn in ``(t, t + horizon]``.
Reported: ROC-AUC of the score (a lower score should mean more churn), precision and recall of "red", churn rate by
band (calibration), and the warning lead time: for each churn, how long before it the account had been red without
a break (measured at the sample dates).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from kizuna.analytics.churn.evaluation import ranking_metrics
from kizuna.analytics.churn.labels import churn_labels
from kizuna.analytics.scoring.scorecard import BANDS, Scorecard
from kizuna.analytics.scoring.scoring import score_values


@dataclass
class ScorecardBacktest:
    """Result of :func:`backtest_scorecard`."""

    scorecard: str
    version: int
    horizon_days: int
    metrics: dict[str, float]
    by_band: pd.DataFrame
    lead_times: pd.DataFrame
    samples: pd.DataFrame = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "scorecard": self.scorecard,
            "version": self.version,
            "horizon_days": self.horizon_days,
            "metrics": self.metrics,
            "by_band": self.by_band.to_dict(orient="records"),
        }


def score_history(measures: pd.DataFrame, scorecard: Scorecard) -> pd.DataFrame:
    """Score a stacked measure frame (``account_id``, ``as_of``, measures...): ``account_id``, ``as_of``, ``score``,
    ``band``, ``known_weight``, by date then in the frame's order (every date scored in one pass: a score reads its
    own row only)."""
    if measures.empty:
        return pd.DataFrame(columns=["account_id", "as_of", "score", "band", "known_weight"])
    ordered = measures.sort_values("as_of", kind="stable")
    scores = score_values(ordered, scorecard)
    scores.insert(1, "as_of", ordered["as_of"].to_numpy())
    return scores


def backtest_scorecard(
    measures: pd.DataFrame,
    scorecard: Scorecard,
    churns: pd.DataFrame,
    *,
    observed_until: dt.date,
    horizon_days: int = 90,
) -> ScorecardBacktest:
    """Backtest ``scorecard`` on point-in-time measures at many dates.

    Parameters
    ----------
    measures
        :func:`kizuna.analytics.scoring.measures.measures_over_time` output (``account_id``, ``as_of``, ``active``,
        ``notice_given`` and the measure columns).
    scorecard
        The scorecard to test.
    churns
        Churn events (``account_id``, ``churned_on``) from :func:`kizuna.analytics.churn.labels.churn_events`.
    observed_until
        The last day of data; samples whose horizon runs past it are left out (their outcome is unknown).
    horizon_days
        The outcome window after each sample date, in days.

    Returns
    -------
    ScorecardBacktest
        ``metrics``: ``roc_auc`` (of −score), ``pr_auc``, ``lift_top_decile``, ``red_precision`` (churn rate among
        red), ``red_recall`` (share of churners that were red), ``median_lead_days`` (median, over churns warned by
        red at the last sample date before them, of the days since the unbroken red run began),
        ``warned_share`` (share of churns so warned), ``n``, ``churned``, ``base_rate``; ``by_band``: ``band``,
        ``n``, ``churned``, ``churn_rate``, ``mean_score``; ``lead_times``: one row per churn event seen.
    """
    population = measures[measures["active"].astype(bool) & ~measures["notice_given"].astype(bool)]
    population = population[scorecard.applies(population)]
    scored = score_history(population, scorecard).dropna(subset=["score"])
    labelled = churn_labels(scored, churns, horizon_days=horizon_days, observed_until=observed_until)
    y = labelled["churned"].to_numpy(dtype=int)
    metrics = ranking_metrics(-labelled["score"].to_numpy(dtype=float), y)
    red = (labelled["band"] == "red").to_numpy()
    metrics["red_share"] = float(red.mean()) if len(red) else float("nan")
    metrics["red_precision"] = float(y[red].mean()) if red.any() else float("nan")
    metrics["red_recall"] = float(red[y == 1].mean()) if y.any() else float("nan")
    by_band = (
        labelled.groupby("band")
        .agg(n=("churned", "size"), churned=("churned", "sum"), mean_score=("score", "mean"))
        .reindex(list(BANDS))
        .fillna({"n": 0, "churned": 0})
        .reset_index()
    )
    by_band["churned"] = by_band["churned"].astype(int)
    by_band["n"] = by_band["n"].astype(int)
    by_band["churn_rate"] = np.where(by_band["n"] > 0, by_band["churned"] / by_band["n"].clip(lower=1), np.nan)
    lead = warning_lead_times(scored, churns, horizon_days=horizon_days)
    warned = lead["lead_days"].notna()
    metrics["warned_share"] = float(warned.mean()) if len(lead) else float("nan")
    metrics["median_lead_days"] = float(lead.loc[warned, "lead_days"].median()) if warned.any() else float("nan")
    return ScorecardBacktest(
        scorecard=scorecard.name,
        version=scorecard.version,
        horizon_days=horizon_days,
        metrics=metrics,
        by_band=by_band[["band", "n", "churned", "churn_rate", "mean_score"]],
        lead_times=lead,
        samples=labelled,
    )


def warning_lead_times(scored: pd.DataFrame, churns: pd.DataFrame, *, horizon_days: int = 90) -> pd.DataFrame:
    """For each churn with a score in the ``horizon_days`` before it: how long the account had been red.

    Returns ``account_id``, ``churned_on``, ``last_scored`` (the last sample date before the churn), ``red_since``
    (the first date of the unbroken red run ending at ``last_scored``; None if not red then) and ``lead_days``,
    one row per such churn in the order of ``churns``. Computed as one join of the churns to their accounts'
    scores (not a scan of the scores per churn).
    """
    columns = ["account_id", "churned_on", "last_scored", "red_since", "lead_days"]
    events = pd.DataFrame(
        {
            "churn": np.arange(len(churns)),
            "account_id": churns["account_id"].to_numpy(),
            "churned_on": churns["churned_on"].to_numpy(),
        }
    )
    pairs = events.merge(scored[["account_id", "as_of", "band"]], on="account_id", how="inner")
    pairs["churn_day"] = pd.to_datetime(pairs["churned_on"])
    pairs["day"] = pd.to_datetime(pairs["as_of"])
    # the scores before each churn, newest first
    pairs = pairs[pairs["day"] < pairs["churn_day"]].sort_values(["churn", "day"], ascending=[True, False])
    last = pairs.groupby("churn", sort=True).head(1)
    last = last[last["day"] >= last["churn_day"] - pd.Timedelta(days=horizon_days)]
    if last.empty:
        return pd.DataFrame(columns=columns)
    pairs = pairs[pairs["churn"].isin(last["churn"])]
    # walking back from the last score while the account stays red: the run is the leading reds of each churn
    red = (pairs["band"] == "red").astype(np.int64)
    in_run = red.groupby(pairs["churn"], sort=False).cumprod().astype(bool)
    run_start = pairs[in_run].groupby("churn", sort=False).tail(1).set_index("churn")
    red_since = run_start["as_of"].reindex(last["churn"].to_numpy())
    red_day = run_start["day"].reindex(last["churn"].to_numpy())
    lead = (last["churn_day"].to_numpy() - red_day.to_numpy()).astype("timedelta64[D]").astype(float)
    return pd.DataFrame(
        {
            "account_id": last["account_id"].to_numpy(),
            "churned_on": last["churned_on"].to_numpy(),
            "last_scored": last["as_of"].to_numpy(),
            "red_since": red_since.astype(object).where(red_since.notna(), None).to_numpy(),
            "lead_days": np.where(red_day.notna().to_numpy(), lead, np.nan),
        },
        columns=columns,
    )


def portfolio_history(scored: pd.DataFrame) -> pd.DataFrame:
    """The portfolio at each date of a :func:`score_history` frame: ``as_of``, ``accounts`` (scored), ``red``,
    ``yellow``, ``green`` (accounts per band) and ``mean_score``."""
    columns = ["as_of", "accounts", *BANDS, "mean_score"]
    known = scored.dropna(subset=["score"])
    if known.empty:
        return pd.DataFrame(columns=columns)
    counts = pd.crosstab(known["as_of"], known["band"]).reindex(columns=list(BANDS), fill_value=0)
    out = counts.astype(int)
    out["accounts"] = out[list(BANDS)].sum(axis=1)
    out["mean_score"] = known.groupby("as_of")["score"].mean()
    return out.reset_index()[columns]
