"""Residual LTV per account under its plan's sBG (Fader & Hardie 2010): MRR x margin x DERL given the months stayed."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from kizuna.analytics.ltv.portfolio import residual_values
from kizuna.analytics.ltv.shifted_beta_geometric import ShiftedBetaGeometric


def test_residual_value_is_mrr_times_margin_times_derl_of_the_plan() -> None:
    tenures = pd.DataFrame(
        {
            "account_id": [1, 2, 3, 4],
            "plan": ["Pro", "Pro", "Solo", "Pro"],
            "tenure_months": [0, 24, 5, 7],
            "churn_date": [pd.NaT, pd.NaT, pd.NaT, pd.Timestamp(dt.date(2026, 1, 1))],
        }
    )
    mrr = pd.DataFrame({"account_id": [1, 2, 3], "currency": "JPY", "mrr_minor": [10_000, 10_000, 5_000]})
    # Fader & Hardie (2007)'s "regular" customers
    cohorts = pd.DataFrame({"cohort": ["Pro"], "alpha": [0.704], "beta": [1.182]})
    out = residual_values(tenures, mrr, cohorts, gross_margin=0.8, monthly_discount=0.01).set_index("account_id")
    assert 4 not in out.index  # churned: no residual value
    assert pd.isna(out.loc[3, "residual_ltv_minor"])  # no fit for its plan
    model = ShiftedBetaGeometric()
    model.params_ = pd.Series({"alpha": 0.704, "beta": 1.182})
    for account_id, months in ((1, 0), (2, 24)):
        derl = float(model.discounted_expected_residual_lifetime(0.01, months))
        assert out.loc[account_id, "residual_ltv_minor"] == pytest.approx(10_000 * 0.8 * derl, abs=1)
    # a customer who has stayed two years is worth more than a new one (retention rises with tenure under sBG)
    assert out.loc[2, "residual_ltv_minor"] > out.loc[1, "residual_ltv_minor"]
