"""Survival analysis of accounts: Kaplan–Meier retention curves by segment and a Cox model of time to churn.

An account's lifetime runs from its first paid subscription start to its first churn (the end of its first coverage
interval, see :mod:`kizuna.analytics.churn.labels`), censored at ``as_of`` while it is still in force. Curves are
returned as tidy data (one row per segment and event time) for charts, and summaries as tables.

Estimators: Kaplan & Meier (1958) product-limit estimator with Greenwood confidence intervals; Cox (1972)
proportional hazards with Efron ties, both as implemented by ``lifelines`` (Davidson-Pilon 2019).
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from kizuna.analytics.churn.labels import coverage_intervals
from kizuna.errors import InvalidInput, NotEnoughData

SEGMENTS = ("plan", "industry", "touch_tier")


def _relevant(caught: list[warnings.WarningMessage]) -> list[str]:
    """Warnings about the fit (convergence, collinearity), without library deprecation noise."""
    return [str(x.message) for x in caught if not issubclass(x.category, DeprecationWarning)]


def lifetimes_table(tables: dict[str, Any], *, as_of: dt.date) -> pd.DataFrame:
    """One row per account that ever started a paid subscription before ``as_of``.

    Returns ``account_id``, ``start`` (date), ``duration_days`` (to the first churn or to ``as_of``), ``churned``
    (bool), ``plan`` (the plan of the first subscription line), ``industry``, ``touch_tier``, ``mrr_minor`` and
    ``seats`` (summed over the lines that opened the account's first coverage).
    """
    subs = tables["subscriptions"]
    plans = tables["plans"].select(plan_id="id", plan="name")
    cols = ["account_id", "start_date", "end_date", "status", "plan_id", "mrr_minor", "quantity"]
    frame = subs.select(*cols).join(plans, "plan_id", how="left").to_pandas()
    frame = frame[pd.to_datetime(frame["start_date"]) < pd.Timestamp(as_of)]
    # versions ending after as_of were not known to end then
    ends = pd.to_datetime(frame["end_date"])
    frame.loc[ends >= pd.Timestamp(as_of), "end_date"] = None
    cov = coverage_intervals(frame)
    first = cov.sort_values("start").groupby("account_id", as_index=False).first()
    first["churned"] = first["end"].notna()
    stop = first["end"].fillna(pd.Timestamp(as_of))
    first["duration_days"] = (stop - first["start"]).dt.days.astype(float)
    paid = frame[frame["status"] != "trial"].copy()
    paid["start"] = pd.to_datetime(paid["start_date"])
    opening = paid.merge(first[["account_id", "start"]], on=["account_id", "start"])
    openers = opening.groupby("account_id").agg(
        plan=("plan", "first"), mrr_minor=("mrr_minor", "sum"), seats=("quantity", "sum")
    )
    accounts = tables["accounts"].select(account_id="id", industry="industry", touch_tier="touch_tier").to_pandas()
    out = first.merge(openers, on="account_id", how="left").merge(accounts, on="account_id", how="left")
    out["start"] = out["start"].dt.date
    out = out[
        ["account_id", "start", "duration_days", "churned", "plan", "industry", "touch_tier", "mrr_minor", "seats"]
    ]
    return out[out["duration_days"] > 0].reset_index(drop=True)


@dataclass
class KaplanMeierBySegment:
    """Kaplan–Meier curves of one segmentation: tidy curve data, a summary per segment and a log-rank test."""

    by: str
    curves: pd.DataFrame
    summary: pd.DataFrame
    logrank_p: float
    warnings: list[str] = field(default_factory=list)


def kaplan_meier(
    lifetimes: pd.DataFrame,
    *,
    by: str | None = None,
    at_days: Sequence[int] = (90, 180, 365, 730),
    min_accounts: int = 5,
) -> KaplanMeierBySegment:
    """Kaplan–Meier retention curves, overall or per value of ``by`` (e.g. ``plan``, ``industry``, ``touch_tier``).

    Parameters
    ----------
    lifetimes
        :func:`lifetimes_table` output (``duration_days``, ``churned`` and the segment column).
    by
        Segment column; None for one curve of all accounts. Missing values form the segment "(none)".
    at_days
        Durations (days) at which the summary reports the survival probability.
    min_accounts
        Segments with fewer accounts are left out (too few for a curve).

    Returns
    -------
    KaplanMeierBySegment
        ``curves``: ``segment``, ``days``, ``survival``, ``ci_lower``, ``ci_upper`` (95 %), ``at_risk``;
        ``summary``: ``segment``, ``accounts``, ``churned``, ``median_days`` (NaN if survival never falls to one
        half), ``survival_<d>d`` for each of ``at_days``; ``logrank_p``: p-value of the multivariate log-rank test
        that all segments share one survival curve (NaN for one segment).
    """
    from lifelines import KaplanMeierFitter
    from lifelines.statistics import multivariate_logrank_test

    for col in ("duration_days", "churned", *([by] if by else [])):
        if col not in lifetimes.columns:
            raise InvalidInput(f"lifetimes frame lacks column {col!r}", column=col)
    frame = lifetimes.copy()
    frame["segment"] = frame[by].fillna("(none)").astype(str) if by else "all"
    counts = frame["segment"].value_counts()
    frame = frame[frame["segment"].isin(counts[counts >= min_accounts].index)]
    curves, summary = [], []
    caught: list[str] = []
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        for segment, grp in frame.groupby("segment", sort=True):
            kmf = KaplanMeierFitter().fit(grp["duration_days"], grp["churned"].astype(bool), label=str(segment))
            sf = kmf.survival_function_.iloc[:, 0]
            ci = kmf.confidence_interval_survival_function_
            table = kmf.event_table
            curves.append(
                pd.DataFrame(
                    {
                        "segment": segment,
                        "days": sf.index.to_numpy(dtype=float),
                        "survival": sf.to_numpy(dtype=float),
                        "ci_lower": ci.iloc[:, 0].to_numpy(dtype=float),
                        "ci_upper": ci.iloc[:, 1].to_numpy(dtype=float),
                        "at_risk": table["at_risk"].reindex(sf.index).to_numpy(dtype=float),
                    }
                )
            )
            median = float(kmf.median_survival_time_)
            row: dict[str, Any] = {
                "segment": segment,
                "accounts": len(grp),
                "churned": int(grp["churned"].sum()),
                "median_days": median if np.isfinite(median) else np.nan,
            }
            for d in at_days:
                row[f"survival_{d}d"] = (
                    float(kmf.survival_function_at_times(d).iloc[0]) if d <= grp["duration_days"].max() else np.nan
                )
            summary.append(row)
        p = np.nan
        if frame["segment"].nunique() > 1:
            p = float(multivariate_logrank_test(frame["duration_days"], frame["segment"], frame["churned"]).p_value)
        caught = _relevant(w)
    return KaplanMeierBySegment(
        by=by or "all",
        curves=pd.concat(curves, ignore_index=True)
        if curves
        else pd.DataFrame(columns=["segment", "days", "survival", "ci_lower", "ci_upper", "at_risk"]),
        summary=pd.DataFrame(summary),
        logrank_p=p,
        warnings=caught,
    )


@dataclass
class CoxModel:
    """A fitted Cox proportional-hazards model of time to churn."""

    summary: pd.DataFrame
    concordance: float
    n: int
    events: int
    covariates: list[str]
    warnings: list[str] = field(default_factory=list)
    model: Any = field(default=None, repr=False)


def _comparable_pairs(frame: pd.DataFrame) -> bool:
    """Whether some account churned strictly before another one's duration ended (a pair the concordance counts)."""
    churned = frame.loc[frame["churned"] == 1, "duration_days"]
    return bool(len(churned)) and bool((frame["duration_days"] > churned.min()).any())


def cox_model(
    lifetimes: pd.DataFrame,
    *,
    categorical: Sequence[str] = SEGMENTS,
    numeric: Sequence[str] = ("mrr_minor", "seats"),
    penalizer: float = 0.05,
    min_level_accounts: int = 10,
) -> CoxModel:
    """Cox proportional-hazards model of the time to first churn.

    Numeric covariates enter as ``log1p`` (money and seat counts are skewed); categorical ones as indicators against
    their most common level, with levels under ``min_level_accounts`` accounts pooled into "other". A small ridge
    ``penalizer`` keeps the fit stable when a level has few churns.

    Returns
    -------
    CoxModel
        ``summary``: ``covariate``, ``coef``, ``hazard_ratio``, ``se``, ``p``, ``hr_lower``, ``hr_upper`` (95 %);
        ``concordance`` (Harrell's C on the fitted data).
    """
    from lifelines import CoxPHFitter

    frame = pd.DataFrame({"duration_days": lifetimes["duration_days"], "churned": lifetimes["churned"].astype(int)})
    for col in numeric:
        if col in lifetimes.columns and lifetimes[col].notna().any():
            values = pd.to_numeric(lifetimes[col], errors="coerce").astype(float)
            frame[f"log1p_{col}"] = np.log1p(values.fillna(values.median()).clip(lower=0))
    for col in categorical:
        if col not in lifetimes.columns:
            continue
        level = lifetimes[col].fillna("(none)").astype(str)
        counts = level.value_counts()
        level = level.where(level.map(counts) >= min_level_accounts, "other")
        if level.nunique() < 2:
            continue
        reference = level.value_counts().index[0]
        for value in sorted(set(level) - {reference}):
            frame[f"{col}={value}"] = (level == value).astype(float)
    frame = frame.loc[:, frame.nunique() > 1] if len(frame) else frame
    if "duration_days" not in frame or "churned" not in frame or frame["churned"].sum() == 0:
        raise InvalidInput("a Cox model needs accounts with churn and varying covariates")
    if not _comparable_pairs(frame):
        # lifelines' concordance divides by the pairs and raises ZeroDivisionError (found on small random hubs)
        raise NotEnoughData("a Cox model needs an account that churned before another account's observed end")
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        cph = CoxPHFitter(penalizer=penalizer).fit(frame, duration_col="duration_days", event_col="churned")
        caught = _relevant(w)
    s = cph.summary
    summary = pd.DataFrame(
        {
            "covariate": s.index.astype(str),
            "coef": s["coef"].to_numpy(),
            "hazard_ratio": s["exp(coef)"].to_numpy(),
            "se": s["se(coef)"].to_numpy(),
            "p": s["p"].to_numpy(),
            "hr_lower": s["exp(coef) lower 95%"].to_numpy(),
            "hr_upper": s["exp(coef) upper 95%"].to_numpy(),
        }
    )
    return CoxModel(
        summary=summary,
        concordance=float(cph.concordance_index_),
        n=len(frame),
        events=int(frame["churned"].sum()),
        covariates=[c for c in frame.columns if c not in ("duration_days", "churned")],
        warnings=caught,
        model=cph,
    )
