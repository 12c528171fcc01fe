"""Gamma-gamma spend model and discounted CLV against Fader, Hardie & Lee (2005) and Fader & Hardie (2013)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import gammaln

from kizuna.analytics.ltv import BetaGeoNBD, GammaGamma, InvalidInput, NotFittedError
from kizuna.analytics.ltv.gamma_gamma import _fit_data, _negative_log_likelihood


@pytest.fixture(scope="module")
def spend_model(cdnow_with_spend: pd.DataFrame) -> GammaGamma:
    return GammaGamma().fit(cdnow_with_spend)


def test_reproduces_published_estimates_on_cdnow(spend_model: GammaGamma) -> None:
    # Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary Value": p = 6.25, q = 3.74, v = 15.44 on the
    # 946 CDNOW customers with repeat purchases. The data set here rounds each mean spend to the cent, which
    # moves v in the third decimal (15.448), hence the tolerance of 0.01.
    expected = {"p": 6.25, "q": 3.74, "v": 15.44}
    for name, value in expected.items():
        assert spend_model.params_[name] == pytest.approx(value, abs=0.01), name
    assert spend_model.n_customers_ == 946
    assert spend_model.n_skipped_ == 2357 - 946
    p, q, v = spend_model.params_
    assert spend_model.population_mean_spend() == pytest.approx(p * v / (q - 1))


def test_standard_errors_agree_with_lifetimes(spend_model: GammaGamma) -> None:
    # lifetimes 0.11.3 GammaGammaFitter.summary on the same customers.
    np.testing.assert_allclose(spend_model.standard_errors_.to_numpy(), [1.189687, 0.290166, 4.159994], rtol=1e-3)


def test_conditional_expected_spend_is_a_weighted_mean(spend_model: GammaGamma, cdnow_with_spend: pd.DataFrame) -> None:
    p, q, v = spend_model.params_
    expected = spend_model.predict_conditional_expected_average_profit(cdnow_with_spend)
    x = cdnow_with_spend["frequency"]
    m = cdnow_with_spend["monetary_value"]
    # FHL (2005, RFM and CLV) eq. 5: shrink the observed mean towards the population mean.
    weight = p * x / (p * x + q - 1)
    np.testing.assert_allclose(expected, (1 - weight) * p * v / (q - 1) + weight * m, rtol=1e-12)
    assert expected[x == 0].eq(spend_model.population_mean_spend()).all()
    assert expected.loc[1] == pytest.approx(24.6586, abs=1e-4)  # lifetimes 0.11.3 gives 24.658616


def test_clv_is_the_discounted_sum_of_monthly_purchases(
    spend_model: GammaGamma, cdnow_with_spend: pd.DataFrame
) -> None:
    transactions = BetaGeoNBD().fit(cdnow_with_spend)
    clv = spend_model.customer_lifetime_value(transactions, cdnow_with_spend, time=12, discount_rate=0.01, freq="W")
    # lifetimes 0.11.3 customer_lifetime_value with the same arguments gives 36.278496 for customer 1.
    assert clv.loc[1] == pytest.approx(36.2785, abs=1e-4)
    # By hand for customer 1: months of 4.345 weeks, discounted monthly.
    row = cdnow_with_spend.loc[[1]]
    cumulative = [transactions.predict_purchases(row, t=4.345 * k).iloc[0] for k in range(13)]
    value = spend_model.predict_conditional_expected_average_profit(row).iloc[0]
    by_hand = sum(value * (cumulative[k] - cumulative[k - 1]) / 1.01**k for k in range(1, 13))
    assert clv.loc[1] == pytest.approx(by_hand, rel=1e-12)
    # The array form gives the same figures, and batching does not change them.
    arrays = spend_model.customer_lifetime_value(
        transactions,
        cdnow_with_spend["frequency"],
        cdnow_with_spend["recency"],
        cdnow_with_spend["T"],
        cdnow_with_spend["monetary_value"],
        freq="W",
        batch_size=100,
    )
    np.testing.assert_allclose(arrays.to_numpy(), clv.to_numpy(), rtol=1e-12)
    assert arrays.index.equals(clv.index)


def test_clv_grows_with_horizon_and_falls_with_discounting(
    spend_model: GammaGamma, cdnow_with_spend: pd.DataFrame
) -> None:
    transactions = BetaGeoNBD().fit(cdnow_with_spend)
    head = cdnow_with_spend.iloc[:50]
    short = spend_model.customer_lifetime_value(transactions, head, time=6, freq="W")
    long = spend_model.customer_lifetime_value(transactions, head, time=24, freq="W")
    steep = spend_model.customer_lifetime_value(transactions, head, time=24, discount_rate=0.05, freq="W")
    assert np.all(long > short) and np.all(steep < long)


def _log_likelihood_printed(p: float, q: float, v: float, x: np.ndarray, m: np.ndarray) -> np.ndarray:
    # Fader & Hardie (2013) eq. 1.
    return np.asarray(
        gammaln(p * x + q)
        - gammaln(p * x)
        - gammaln(q)
        + q * np.log(v)
        + (p * x - 1) * np.log(m)
        + p * x * np.log(x)
        - (p * x + q) * np.log(v + x * m)
    )


@settings(max_examples=40, deadline=None)
@given(p=st.floats(0.2, 20), q=st.floats(0.2, 20), v=st.floats(0.5, 200))
def test_analytic_gradient_matches_finite_differences(p: float, q: float, v: float) -> None:
    rng = np.random.default_rng(5)
    x = rng.integers(1, 20, 30).astype(float)
    m = rng.gamma(2.0, 20.0, 30)
    w = rng.integers(1, 3, 30).astype(float)
    data = _fit_data(x, m, w)
    params = np.array([p, q, v])
    value, gradient = _negative_log_likelihood(params, data)
    assert value == pytest.approx(-float(w @ _log_likelihood_printed(p, q, v, x, m)), rel=1e-10)
    for j in range(3):
        h = 1e-6 * params[j]
        up, down = params.copy(), params.copy()
        up[j] += h
        down[j] -= h
        numeric = (_negative_log_likelihood(up, data)[0] - _negative_log_likelihood(down, data)[0]) / (2 * h)
        # a central difference of a sum near |value| carries a rounding error of about eps * |value| / h (1.2e-6
        # for q = 0.2, where h = 2e-7): allowed on top of the tolerance
        rounding = 4 * np.finfo(float).eps * abs(value) / h
        assert gradient[j] == pytest.approx(numeric, rel=1e-5, abs=1e-6 + rounding)


def test_input_errors(cdnow_with_spend: pd.DataFrame, spend_model: GammaGamma) -> None:
    with pytest.raises(InvalidInput, match="no column 'monetary_value'"):
        GammaGamma().fit(cdnow_with_spend.drop(columns="monetary_value"))
    with pytest.raises(InvalidInput, match="no customer with a repeat transaction"):
        GammaGamma().fit(cdnow_with_spend[cdnow_with_spend["frequency"] == 0])
    bad = cdnow_with_spend.copy()
    bad.loc[1, "monetary_value"] = 0.0
    with pytest.raises(InvalidInput, match=r"must be > 0 .*row 1"):
        GammaGamma().fit(bad)
    with pytest.raises(InvalidInput, match="freq must be one of"):
        spend_model.customer_lifetime_value(BetaGeoNBD().fit(cdnow_with_spend), cdnow_with_spend, freq="Y")
    with pytest.raises(NotFittedError):
        GammaGamma().predict_conditional_expected_average_profit(cdnow_with_spend)


def test_the_book_says_why_gamma_gamma_cannot_value_it() -> None:
    from kizuna.analytics.ltv.portfolio import gamma_gamma_unfit

    rng = np.random.default_rng(3)
    rows = [(a, k, 10_000 * (1 + a % 7)) for a in range(40) for k in range(1 + a % 5)]
    invoices = pd.DataFrame(rows, columns=["account_id", "k", "amount_minor"])
    counts = invoices.groupby("account_id").agg(frequency=("k", "size"), monetary_value=("amount_minor", "mean"))
    counts["frequency"] -= 1
    repeaters = counts.loc[counts["frequency"] > 0]
    # a subscription book: every account pays its own same amount every month
    assert gamma_gamma_unfit(invoices, repeaters) == "constant_amounts"
    assert gamma_gamma_unfit(invoices, repeaters.head(10)) == "too_few_repeaters"
    # spend that varies around each account's own mean, independent of how often it pays: valid
    varied = invoices.assign(amount_minor=invoices["amount_minor"] * rng.gamma(20.0, 1 / 20.0, len(invoices)))
    varied_repeaters = repeaters.assign(
        monetary_value=varied.groupby("account_id")["amount_minor"].mean().loc[repeaters.index]
    )
    assert gamma_gamma_unfit(varied, varied_repeaters) is None
