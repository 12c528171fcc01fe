"""Survival curves and the Cox model, against the published analyses of Freireich et al.'s 6-MP leukaemia trial
(Gehan 1965): Kaplan–Meier for the 6-MP arm (Kalbfleisch & Prentice; Klein & Moeschberger table 4.1A) and the Cox
estimate for treatment with Efron ties (Kleinbaum & Klein, "Survival Analysis", 3rd ed., ch. 3: coef 1.572,
HR 4.817, se 0.412)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kizuna.analytics.survival import cox_model, kaplan_meier, lifetimes_table
from tests.analytics.risk.simulated import END, shared_tables

# weeks of remission; "+" = censored
SIX_MP = [
    "6",
    "6",
    "6",
    "6+",
    "7",
    "9+",
    "10",
    "10+",
    "11+",
    "13",
    "16",
    "17+",
    "19+",
    "20+",
    "22",
    "23",
    "25+",
    "32+",
    "32+",
    "34+",
    "35+",
]
PLACEBO = [
    "1",
    "1",
    "2",
    "2",
    "3",
    "4",
    "4",
    "5",
    "5",
    "8",
    "8",
    "8",
    "8",
    "11",
    "11",
    "12",
    "12",
    "15",
    "17",
    "22",
    "23",
]


def gehan() -> pd.DataFrame:
    rows = [(float(t.rstrip("+")), not t.endswith("+"), "6-MP") for t in SIX_MP]
    rows += [(float(t), True, "placebo") for t in PLACEBO]
    return pd.DataFrame(rows, columns=["duration_days", "churned", "plan"])


def test_kaplan_meier_reproduces_the_published_6mp_estimates() -> None:
    km = kaplan_meier(gehan(), by="plan", at_days=(10,))
    curve = km.curves[km.curves.segment == "6-MP"].set_index("days")["survival"]
    published = {6: 0.857, 7: 0.807, 10: 0.753, 13: 0.690, 16: 0.627, 22: 0.538, 23: 0.448}
    for t, s in published.items():
        assert curve.loc[t] == pytest.approx(s, abs=5e-4)
    summary = km.summary.set_index("segment")
    assert summary.loc["6-MP", "median_days"] == 23
    assert summary.loc["placebo", "median_days"] == 8
    assert (summary.loc["6-MP", "accounts"], summary.loc["6-MP", "churned"]) == (21, 9)
    assert km.logrank_p < 0.001  # chi-square 16.8 on 1 df in the literature


def test_cox_model_reproduces_the_published_treatment_effect() -> None:
    model = cox_model(gehan(), categorical=("plan",), numeric=(), penalizer=0.0, min_level_accounts=1)
    row = model.summary.iloc[0]
    assert abs(row["coef"]) == pytest.approx(1.572, abs=1e-3)
    assert row["se"] == pytest.approx(0.412, abs=1e-3)
    hr = row["hazard_ratio"] if row["coef"] > 0 else 1 / row["hazard_ratio"]
    assert hr == pytest.approx(4.817, abs=5e-3)
    assert (model.n, model.events) == (42, 30)


def test_lifetimes_from_the_hub_and_curves_by_segment() -> None:
    lifetimes = lifetimes_table(shared_tables(), as_of=END)
    assert lifetimes["account_id"].is_unique and (lifetimes["duration_days"] > 0).all()
    assert 0 < lifetimes["churned"].mean() < 1
    for by in ("plan", "industry", "touch_tier"):
        km = kaplan_meier(lifetimes, by=by)
        assert set(km.curves.columns) == {"segment", "days", "survival", "ci_lower", "ci_upper", "at_risk"}
        for _, curve in km.curves.groupby("segment"):
            assert np.all(np.diff(curve["survival"].to_numpy()) <= 1e-12)  # never rises
    model = cox_model(lifetimes)
    assert 0.5 < model.concordance <= 1.0
    assert {"covariate", "hazard_ratio", "p"} <= set(model.summary.columns)


def test_a_cox_model_without_a_comparable_pair_says_so() -> None:
    """Found by the thin-data property test: the only churn is the longest lifetime, so no pair of accounts can be
    ordered and lifelines' concordance divided by zero; the LTV step now skips the Cox fit with this reason."""
    from kizuna.analytics.survival import cox_model
    from kizuna.errors import NotEnoughData

    lifetimes = pd.DataFrame({"duration_days": [10.0, 20.0, 30.0], "churned": [False, False, True], "plan": "a"})
    with pytest.raises(NotEnoughData, match="churned before another account's observed end"):
        cox_model(lifetimes)
