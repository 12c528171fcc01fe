"""Why the hub's history cannot support a point-in-time analysis (the churn model, a scorecard backtest): one line
that names the cause, where "n=0" and NaN said nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

#: the first sample date of ``training_samples`` is this many days after the first subscription line starts
FIRST_SAMPLE_AFTER_DAYS = 90


def history_cause(tables: dict[str, Any], *, as_of: dt.date, horizon_days: int, samples: pd.DataFrame) -> str:
    """What is missing for labelled samples up to ``as_of`` with ``horizon_days`` of outcome, read from the hub
    ``tables`` (Ibis) and the ``samples`` that came out (``account_id``, ``as_of``, ``churned``)."""
    last_sample = as_of - dt.timedelta(days=horizon_days)
    accounts = tables["accounts"].select("created_at").to_pyarrow().to_pandas()
    if accounts.empty:
        return "the hub has no account yet: import accounts and their subscriptions"
    starts = tables["subscriptions"].select("start_date").to_pyarrow().to_pandas()
    if starts.empty:
        return f"none of the {len(accounts):,} accounts has a subscription line: import subscriptions"
    first = pd.to_datetime(starts["start_date"]).min().date()
    needed = first + dt.timedelta(days=FIRST_SAMPLE_AFTER_DAYS + horizon_days)
    if needed > as_of:
        return (
            f"the history starts on {first} (the first subscription line): samples begin {FIRST_SAMPLE_AFTER_DAYS} "
            f"days into it and need {horizon_days} days of outcome, so the data must run to {needed} (it runs to "
            f"{as_of})"
        )
    created = pd.to_datetime(accounts["created_at"], utc=True).dt.date
    if (created > last_sample).all():
        return (
            f"every account is dated after {last_sample}, the last date with {horizon_days} days of outcome (the "
            f"earliest created_at is {created.min()}): accounts imported without created_at are dated by their "
            "first subscription line or event, so import those"
        )
    if samples.empty:
        return f"no account was in force on a sample date between {first} and {last_sample}"
    churned = int(samples["churned"].astype(bool).sum())
    if churned == 0:
        return (
            f"none of the {samples['account_id'].nunique():,} accounts in force between {first} and {last_sample} "
            f"churned within {horizon_days} days: there is no churn to learn from yet"
        )
    if churned == len(samples):
        return f"every account in force between {first} and {last_sample} churned: there is no retained account"
    return f"{len(samples):,} samples from {first} to {last_sample}"
