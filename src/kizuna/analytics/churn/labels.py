"""Churn events and point-in-time labels.

An account is *in force* on a day when a paid (non-trial) subscription version covers it (``start_date <= day <
end_date``, open-ended versions cover every later day). Its coverage is the union of those intervals; an account
*churns* on the day a coverage interval ends (the first uncovered day). An account may churn, come back and churn
again; every end counts. An interval that has not ended by the end of the data is censored.

For a sample date *t* the label is "churned within ``horizon_days`` after *t*": an end of coverage on a day in
``(t, t + horizon]``. Only samples whose horizon lies inside the observed data are labelled.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd


def coverage_intervals(subscriptions: pd.DataFrame) -> pd.DataFrame:
    """Merge each account's paid subscription versions into coverage intervals.

    Parameters
    ----------
    subscriptions
        Columns ``account_id``, ``start_date``, ``end_date`` (None: open-ended) and ``status``.

    Returns
    -------
    pandas.DataFrame
        ``account_id``, ``start`` and ``end`` (the first uncovered day; NaT while open), one row per interval.
    """
    subs = subscriptions[subscriptions["status"] != "trial"][["account_id", "start_date", "end_date"]].copy()
    subs["start"] = pd.to_datetime(subs["start_date"])
    subs["end"] = pd.to_datetime(subs["end_date"])
    subs = subs[subs["end"].isna() | (subs["end"] > subs["start"])]
    far = pd.Timestamp("2262-01-01")
    subs["end_f"] = subs["end"].fillna(far)
    subs = subs[subs["account_id"].notna()].sort_values(["account_id", "start"])
    # a version opens a new interval when it starts after every earlier version of the account has ended (the
    # running maximum of their ends); grouped without a Python loop per account
    by_account = subs.groupby("account_id", sort=False)["end_f"]
    covered_until = by_account.cummax().groupby(subs["account_id"], sort=False).shift()
    opens = covered_until.isna().to_numpy() | (subs["start"] > covered_until).to_numpy()
    interval = np.cumsum(opens)
    merged = subs.groupby(interval, sort=False).agg(
        account_id=("account_id", "first"), start=("start", "first"), end=("end_f", "max")
    )
    out = merged.reset_index(drop=True)[["account_id", "start", "end"]]
    out["start"] = pd.to_datetime(out["start"])
    out["end"] = pd.to_datetime(out["end"])
    out.loc[out["end"] >= far, "end"] = pd.NaT
    return out


def churn_events(subscriptions: pd.DataFrame, *, observed_until: dt.date) -> pd.DataFrame:
    """Each end of coverage on or before ``observed_until``: ``account_id``, ``churned_on`` (date)."""
    cov = coverage_intervals(subscriptions)
    ended = cov[cov["end"].notna() & (cov["end"] <= pd.Timestamp(observed_until))]
    return pd.DataFrame({"account_id": ended["account_id"].to_numpy(), "churned_on": ended["end"].dt.date.to_numpy()})


def read_subscriptions(tables: dict[str, Any]) -> pd.DataFrame:
    """The subscription columns labels need, from the Ibis hub tables."""
    subs = tables["subscriptions"]
    return subs.select("account_id", "start_date", "end_date", "status").to_pandas()


def churn_labels(
    samples: pd.DataFrame,
    churns: pd.DataFrame,
    *,
    horizon_days: int = 90,
    observed_until: dt.date,
) -> pd.DataFrame:
    """Label samples (``account_id``, ``as_of``) with churn in ``(as_of, as_of + horizon_days]``.

    Returns the samples whose horizon ends on or before ``observed_until`` with two new columns: ``churned``
    (bool) and ``churned_on`` (the first churn date in the horizon, or NaT).
    """
    out = samples.copy()
    as_of = pd.to_datetime(out["as_of"])
    out = out[(as_of + pd.Timedelta(days=horizon_days)) <= pd.Timestamp(observed_until)].copy()
    if out.empty:
        out["churned"] = pd.Series(dtype=bool)
        out["churned_on"] = pd.Series(dtype="datetime64[ns]")
        return out
    out["_t"] = pd.to_datetime(out["as_of"])
    ev = churns.assign(_c=pd.to_datetime(churns["churned_on"]))[["account_id", "_c"]]
    joined = out[["account_id", "_t"]].reset_index().merge(ev, on="account_id", how="left")
    hit = (joined["_c"] > joined["_t"]) & (joined["_c"] <= joined["_t"] + pd.Timedelta(days=horizon_days))
    first = joined[hit].groupby("index")["_c"].min()
    out["churned_on"] = first.reindex(out.index)
    out["churned"] = out["churned_on"].notna()
    return out.drop(columns="_t")


def sample_dates(start: dt.date, end: dt.date, *, every_days: int = 30) -> list[dt.date]:
    """Sample dates from ``start`` to ``end`` inclusive, every ``every_days`` days, counted back from ``end``."""
    if end < start:
        return []
    n = (end - start).days // every_days
    return [end - dt.timedelta(days=every_days * k) for k in range(n, -1, -1)]


def data_time_range(tables: dict[str, Any]) -> tuple[dt.date, dt.date]:
    """First subscription start and the last day any subscription or event record refers to (or today)."""
    subs = tables["subscriptions"]
    agg = subs.aggregate(lo=subs.start_date.min(), hi=subs.start_date.max()).to_pandas()
    lo = agg["lo"].iloc[0]
    hi = agg["hi"].iloc[0]
    if lo is None or pd.isna(lo):
        today = dt.datetime.now(dt.UTC).date()
        return today, today
    return pd.Timestamp(lo).date(), pd.Timestamp(hi).date()


def base_rate(labels: pd.Series) -> float:
    return float(np.mean(labels)) if len(labels) else float("nan")
