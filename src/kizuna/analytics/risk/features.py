"""Point-in-time training samples for the churn-risk model: features at many past dates, labelled with what followed.

A sample is one account on one date *t* (every ``every_days`` days): features from
:func:`kizuna.analytics.scoring.measures.account_measures` as of *t* (data known then only), label = churn in
``(t, t + horizon]``. Only accounts in force on *t* that had not given notice are sampled (an account that has already
cancelled is known to be leaving; the model is about the ones not yet known). Samples whose horizon runs past the end
of the data are left out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from kizuna.analytics.churn.labels import churn_events, churn_labels, read_subscriptions, sample_dates
from kizuna.analytics.risk.sampling import MAX_SAMPLES, stratified_cap
from kizuna.analytics.scoring.measures import measures_over_time

#: Candidate model features (measure columns); those never known in training are dropped at fit time.
RISK_FEATURES = (
    "tenure_days",
    "mrr_minor",
    "mrr_change_90d",
    "contract_seats",
    "days_to_renewal",
    "dau",
    "wau",
    "mau",
    "seat_utilisation",
    "stickiness",
    "features_used_30d",
    "adoption_breadth",
    "logins_30d",
    "days_since_last_login",
    "usage_trend",
    "tickets_90d",
    "severe_tickets_90d",
    "nps_latest",
    "csat_latest",
    "onboarding_progress",
    "onboarding_overdue",
    "failed_payments_90d",
    "days_since_csm_touch",
    "voc_sentiment",
)


#: Features that describe the contract and the account rather than its behaviour: they weigh in the model (a renewal
#: close at hand or a young account does raise the odds of churn) but a CSM cannot change them, so a driver among
#: them is shown as context, never as the reason to act.
CONTEXT_FEATURES = frozenset({"tenure_days", "mrr_minor", "contract_seats", "days_to_renewal"})


#: Values at which a behaviour cannot be the reason an account is at risk, whatever a tree made of it (a promoter's
#: NPS, growing usage, no ticket at all): ``(feature, lowest reassuring value)`` for measures where more is better and
#: ``(feature, highest reassuring value)`` for counts of trouble. A driver with such a value is not shown as a signal.
REASSURING_FROM = {
    "usage_trend": 0.0,
    "mrr_change_90d": 0.0,
    "nps_latest": 9.0,
    "csat_latest": 4.0,
    "voc_sentiment": 0.2,
    "onboarding_progress": 1.0,
}
REASSURING_UP_TO = {
    "tickets_90d": 0.0,
    "severe_tickets_90d": 0.0,
    "failed_payments_90d": 0.0,
    "onboarding_overdue": 0.0,
}


def reassuring(feature: str, value: float) -> bool:
    """True when ``value`` of ``feature`` is good news (see :data:`REASSURING_FROM`); False for a missing value."""
    if value != value:  # NaN
        return False
    if feature.endswith(("__trend30", "__trend90", "__recent7", "__vs_base", "__vs_life", "__breadth_change")):
        return value >= 0.0  # behaviour holding up or growing is never the reason to act
    if feature in REASSURING_FROM:
        return value >= REASSURING_FROM[feature]
    if feature in REASSURING_UP_TO:
        return value <= REASSURING_UP_TO[feature]
    return False


def reassuring_values(feature: str, values: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """:func:`reassuring` of every value of ``feature`` in ``values`` at once (False where missing)."""
    values = np.asarray(values, dtype=float)
    with np.errstate(invalid="ignore"):
        if feature.endswith(("__trend30", "__trend90", "__recent7", "__vs_base", "__vs_life", "__breadth_change")):
            return values >= 0.0
        if feature in REASSURING_FROM:
            return values >= REASSURING_FROM[feature]
        if feature in REASSURING_UP_TO:
            return values <= REASSURING_UP_TO[feature]
    return np.zeros(values.shape, dtype=bool)


def in_population(measures: pd.DataFrame) -> pd.Series:
    """Accounts a churn prediction is about: in force and without notice given."""
    return measures["active"].astype(bool) & ~measures["notice_given"].astype(bool)


def first_sample_date(tables: dict[str, Any], *, warmup_days: int = 90) -> dt.date | None:
    """The first subscription start plus ``warmup_days`` (so that 90-day windows have history), or None."""
    subs = tables["subscriptions"]
    lo = subs.aggregate(lo=subs.start_date.min()).to_pandas()["lo"].iloc[0]
    if lo is None or pd.isna(lo):
        return None
    first: dt.date = pd.Timestamp(lo).date()
    return first + dt.timedelta(days=warmup_days)


def training_samples(
    tables: dict[str, Any],
    *,
    observed_until: dt.date,
    horizon_days: int = 90,
    every_days: int = 30,
    start: dt.date | None = None,
    voc_scores: pd.DataFrame | None = None,
    usage_months: Any = None,
    behaviour: bool = True,
    measures_of: Callable[[list[dt.date]], pd.DataFrame] | None = None,
    max_samples: int | None = MAX_SAMPLES,
    random_state: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Labelled samples from many past dates.

    Parameters
    ----------
    tables
        Hub tables (Ibis).
    observed_until
        The end of the data (usually today): the last sample date is ``observed_until - horizon_days``.
    horizon_days
        The churn horizon in days.
    every_days
        Days between sample dates.
    start
        First sample date (default: 90 days after the first subscription start).
    voc_scores
        Optional per-text VoC sentiment (``account_id``, ``date``, ``score``; stored by the VoC domain), weighted
        at each date by :func:`kizuna.analytics.text.account_voc_sentiment`.
    usage_months
        Optional monthly usage rollups (see :func:`~kizuna.analytics.scoring.measures.measures_over_time`).
    measures_of
        Gives :func:`~kizuna.analytics.scoring.measures.measures_over_time` of the sample dates (with the VoC
        sentiment) when the caller has them already (the refresh computes each date once); else they are computed.
    behaviour
        Add the behaviour columns of every event type in the store
        (:func:`kizuna.analytics.risk.behaviour.behaviour_features`).
    max_samples, random_state
        A larger book keeps a seeded share of each date's churned and retained samples
        (:func:`~kizuna.analytics.risk.sampling.stratified_cap`), before its behaviour columns are counted.

    Returns
    -------
    samples
        ``account_id``, ``as_of``, the measure columns, ``churned`` and ``churned_on``.
    churns
        The churn events seen up to ``observed_until`` (``account_id``, ``churned_on``).
    """
    start = start or first_sample_date(tables)
    last = observed_until - dt.timedelta(days=horizon_days)
    dates = sample_dates(start, last, every_days=every_days) if start else []
    if measures_of is not None:
        measures = measures_of(dates)
    else:
        measures = measures_over_time(tables, dates, voc_scores=voc_scores, usage_months=usage_months)
    churns = churn_events(read_subscriptions(tables), observed_until=observed_until)
    population = measures[in_population(measures)]
    samples = churn_labels(population, churns, horizon_days=horizon_days, observed_until=observed_until)
    samples = stratified_cap(samples, max_samples, random_state=random_state)
    if behaviour and not samples.empty:
        from kizuna.analytics.risk.behaviour import behaviour_features

        samples = behaviour_features(tables, samples)
    return samples.reset_index(drop=True), churns
