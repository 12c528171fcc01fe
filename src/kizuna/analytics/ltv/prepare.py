"""From subscription history and payments to the inputs of the LTV models (pure pandas).

``account_tenures`` turns contract-line versions into one row per account (start, churn, first plan);
``contract_survival_table`` turns tenures into the tidy survival table that :func:`fit_sbg_by_cohort` fits.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from kizuna.analytics.ltv._validation import InvalidInput

TENURE_COLUMNS = ("account_id", "start_date", "end_date", "status", "plan_id")


def account_tenures(subscriptions: pd.DataFrame, plans: pd.DataFrame, *, as_of: dt.date) -> pd.DataFrame:
    """One row per paying account: first paid start, churn date (or NaT while active) and the first base plan.

    Parameters
    ----------
    subscriptions : pandas.DataFrame
        Contract-line versions with ``account_id, plan_id, start_date, end_date, status`` (``[start, end)``).
        Trial lines are ignored; lines starting after ``as_of`` are not yet known.
    plans : pandas.DataFrame
        ``id, name, is_addon``.
    as_of : datetime.date
        The observation date. An account is churned when no paid line covers ``as_of``; its churn date is then
        the latest end of its lines.

    Returns
    -------
    pandas.DataFrame
        ``account_id, start_date, churn_date (NaT if active), plan, tenure_months`` (whole months, floor).
    """
    missing = [c for c in TENURE_COLUMNS if c not in subscriptions.columns]
    if missing:
        raise InvalidInput(f"subscriptions frame lacks column(s) {missing}", column=missing[0])
    as_of_ts = pd.Timestamp(as_of)
    lines = subscriptions.loc[subscriptions["status"] != "trial"].copy()
    lines["start_date"] = pd.to_datetime(lines["start_date"])
    lines["end_date"] = pd.to_datetime(lines["end_date"])
    lines = lines.loc[lines["start_date"] <= as_of_ts]
    if lines.empty:
        return pd.DataFrame(columns=["account_id", "start_date", "churn_date", "plan", "tenure_months"])
    lines["open"] = lines["end_date"].isna() | (lines["end_date"] > as_of_ts)
    base_plans = plans.loc[~plans["is_addon"].astype(bool), ["id", "name"]].rename(columns={"id": "plan_id"})
    first_base = (
        lines.merge(base_plans, on="plan_id").sort_values(["account_id", "start_date"]).drop_duplicates("account_id")
    )
    per_account = lines.groupby("account_id").agg(
        start_date=("start_date", "min"), last_end=("end_date", "max"), any_open=("open", "any")
    )
    per_account["churn_date"] = per_account["last_end"].where(~per_account["any_open"])
    out = per_account.reset_index().merge(
        first_base[["account_id", "name"]].rename(columns={"name": "plan"}), on="account_id", how="left"
    )
    until = out["churn_date"].fillna(as_of_ts)
    out["tenure_months"] = _whole_months(out["start_date"], until)
    return out[["account_id", "start_date", "churn_date", "plan", "tenure_months"]]


def _whole_months(start: pd.Series, end: pd.Series) -> np.ndarray:
    months = (end.dt.year - start.dt.year) * 12 + (end.dt.month - start.dt.month)
    months = months - (end.dt.day < start.dt.day).astype(int)
    whole: np.ndarray = np.maximum(months.to_numpy(), 0)
    return whole


def contract_survival_table(
    tenures: pd.DataFrame, *, as_of: dt.date, cohort_col: str = "plan", horizon_months: int = 12
) -> pd.DataFrame:
    """Survival table per cohort over ``horizon_months``, using only accounts observable for the whole horizon.

    An account enters its cohort's table only if it started at least ``horizon_months`` before ``as_of``, so no
    count is right-censored (the sBG likelihood of Fader & Hardie 2007 assumes a fully observed cohort).

    Returns
    -------
    pandas.DataFrame
        ``cohort, period, alive`` with periods ``0..horizon_months``.
    """
    if horizon_months < 1:
        raise InvalidInput("horizon_months must be at least 1", value=horizon_months)
    cutoff = pd.Timestamp(as_of) - pd.DateOffset(months=horizon_months)
    eligible = tenures.loc[pd.to_datetime(tenures["start_date"]) <= cutoff].dropna(subset=[cohort_col])
    rows: list[dict[str, Any]] = []
    periods = np.arange(horizon_months + 1)
    for cohort, group in eligible.groupby(cohort_col, sort=True):
        tenure = group["tenure_months"].to_numpy()
        churned = group["churn_date"].notna().to_numpy()
        # alive at the end of period k: still active, or churned after completing k months
        alive = [int(np.sum(~churned | (tenure >= k))) for k in periods]
        rows.extend({"cohort": cohort, "period": int(k), "alive": a} for k, a in zip(periods, alive, strict=True))
    return pd.DataFrame(rows, columns=["cohort", "period", "alive"])


def payment_transactions(payments: pd.DataFrame) -> pd.DataFrame:
    """Successful payments as a transaction log: ``account_id, paid_at, amount_minor`` (for BG/NBD and Gamma-Gamma)."""
    paid = payments.loc[payments["status"] == "succeeded", ["account_id", "attempted_at", "amount_minor"]]
    return paid.rename(columns={"attempted_at": "paid_at"}).reset_index(drop=True)
