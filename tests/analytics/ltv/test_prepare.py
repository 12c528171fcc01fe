"""From subscription history to tenures and survival tables, checked by hand."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from kizuna.analytics.ltv.portfolio import account_mrr, monthly_rate
from kizuna.analytics.ltv.prepare import account_tenures, contract_survival_table

PLANS = pd.DataFrame({"id": [1, 2], "name": ["Pro", "API連携"], "is_addon": [False, True]})


def _subs(rows: list[tuple[int, int, str, str | None, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "account_id": a,
                "plan_id": p,
                "start_date": pd.Timestamp(s),
                "status": st,
                "mrr_minor": 1000,
                "currency": "JPY",
                "end_date": pd.Timestamp(e) if e else pd.NaT,
            }
            for a, p, s, e, st in rows
        ]
    )


def test_tenures_ignore_trials_and_add_ons_for_the_plan() -> None:
    subs = _subs(
        [
            (1, 1, "2025-01-15", "2025-02-15", "trial"),  # trial: not a paid start
            (1, 1, "2025-02-15", "2025-08-15", "churned"),  # 6 months, churned
            (1, 2, "2025-03-01", "2025-08-15", "churned"),  # add-on does not set the plan
            (2, 1, "2025-01-01", None, "active"),  # active since January
            (3, 1, "2026-12-01", None, "active"),  # starts after as_of: not known yet
        ]
    )
    tenures = account_tenures(subs, PLANS, as_of=dt.date(2026, 1, 1)).set_index("account_id")
    assert list(tenures.index) == [1, 2]
    assert tenures.loc[1, "start_date"] == pd.Timestamp("2025-02-15")
    assert tenures.loc[1, "churn_date"] == pd.Timestamp("2025-08-15")
    assert tenures.loc[1, "tenure_months"] == 6
    assert tenures.loc[1, "plan"] == "Pro"
    assert pd.isna(tenures.loc[2, "churn_date"]) and tenures.loc[2, "tenure_months"] == 12


def test_survival_table_uses_only_fully_observed_accounts() -> None:
    tenures = pd.DataFrame(
        {
            "account_id": [1, 2, 3, 4, 5],
            "start_date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-02-01", "2024-03-01", "2025-12-01"]),
            "churn_date": pd.to_datetime(["2024-03-01", None, "2024-03-01", None, None]),
            "plan": ["Pro"] * 5,
            "tenure_months": [2, 24, 1, 22, 1],
        }
    )
    table = contract_survival_table(tenures, as_of=dt.date(2026, 1, 1), horizon_months=3)
    # account 5 started less than 3 months before as_of: left out. Of 1..4, #3 leaves after 1 month, #1 after 2.
    assert table["alive"].tolist() == [4, 4, 3, 2]
    assert table["period"].tolist() == [0, 1, 2, 3]


def test_account_mrr_counts_lines_covering_the_day_only() -> None:
    subs = _subs(
        [
            (1, 1, "2025-01-01", "2025-06-01", "churned"),
            (1, 2, "2025-01-01", None, "active"),
            (2, 1, "2025-01-01", None, "trial"),
        ]
    )
    mrr = account_mrr(subs, as_of=dt.date(2025, 7, 1))
    assert mrr.to_dict("records") == [{"account_id": 1, "currency": "JPY", "mrr_minor": 1000}]


def test_monthly_rate_compounds_to_the_annual_one() -> None:
    assert abs((1 + monthly_rate(0.10)) ** 12 - 1.10) < 1e-12
