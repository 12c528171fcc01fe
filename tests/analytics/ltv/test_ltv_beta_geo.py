"""BG/NBD against Fader, Hardie & Lee (2005), "Counting your customers the easy way", on CDNOW."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import betaln, gammaln, hyp2f1

from kizuna.analytics.ltv import BetaGeoNBD, ConvergenceWarning, InvalidInput, NotFittedError
from kizuna.analytics.ltv.beta_geo import _fit_data


@pytest.fixture(scope="module")
def fitted(cdnow_summary: pd.DataFrame) -> BetaGeoNBD:
    return BetaGeoNBD().fit(cdnow_summary)


def _with_params(r: float, alpha: float, a: float, b: float) -> BetaGeoNBD:
    model = BetaGeoNBD()
    model.params_ = pd.Series({"r": r, "alpha": alpha, "a": a, "b": b})
    return model


def test_reproduces_published_estimates_on_cdnow(fitted: BetaGeoNBD) -> None:
    # FHL (2005), section 4: r = 0.243, alpha = 4.414, a = 0.793, b = 2.426; LL = -9582.4.
    expected = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for name, value in expected.items():
        assert fitted.params_[name] == pytest.approx(value, abs=5e-4), name
    assert fitted.log_likelihood_ == pytest.approx(-9582.4, abs=0.05)
    assert fitted.converged_
    assert fitted.n_customers_ == 2357


def test_standard_errors_agree_with_lifetimes(fitted: BetaGeoNBD) -> None:
    # Printed by lifetimes 0.11.3 (BetaGeoFitter.summary) for the same data: an independent Hessian.
    expected = [0.012557, 0.378221, 0.185719, 0.705345]
    np.testing.assert_allclose(fitted.standard_errors_.to_numpy(), expected, rtol=1e-3)
    summary = fitted.summary()
    assert list(summary.columns) == ["estimate", "standard_error", "lower_95", "upper_95"]


def test_conditional_expectation_for_the_papers_example_customer(fitted: BetaGeoNBD) -> None:
    # FHL (2005), section 4: a customer with x = 2, t_x = 30.43, T = 38.86 is expected to make 1.226
    # purchases in the next 39 weeks.
    customer = pd.DataFrame({"frequency": [2], "recency": [30.43], "T": [38.86]}, index=["ID 1"])
    expected = fitted.predict_purchases(customer, t=39)
    assert expected.loc["ID 1"] == pytest.approx(1.226, abs=5e-4)
    assert fitted.predict_probability_alive(customer).loc["ID 1"] == pytest.approx(0.7266, abs=1e-4)


def test_euler_transformed_expectation_equals_the_printed_formula() -> None:
    r, alpha, a, b = 0.243, 4.414, 0.793, 2.426
    model = _with_params(r, alpha, a, b)
    x = np.array([0, 1, 2, 5, 10, 20], dtype=float)
    t_x = np.array([0, 10, 30.43, 20, 35, 38], dtype=float)
    age = np.full_like(x, 38.86)
    t = 39.0
    # FHL (2005) eq. 10 as printed.
    z = t / (alpha + age + t)
    printed = (
        (a + b + x - 1)
        / (a - 1)
        * (1 - ((alpha + age) / (alpha + age + t)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, z))
        / (1 + (x > 0) * a / (b + x - 1) * ((alpha + age) / (alpha + t_x)) ** (r + x))
    )
    np.testing.assert_allclose(model.conditional_expected_number_of_purchases_up_to_time(t, x, t_x, age), printed)


def test_new_customer_expectation() -> None:
    r, alpha, a, b = 0.243, 4.414, 0.793, 2.426
    model = _with_params(r, alpha, a, b)
    t = np.array([1.0, 39.0, 78.0])
    # FHL (2005) eq. 9 as printed.
    printed = (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, t / (alpha + t)))
    np.testing.assert_allclose(model.predict_new_customer_purchases(t), printed)
    in_second_half = model.predict_new_customer_purchases(78.0, start=39.0)
    assert in_second_half == pytest.approx(printed[2] - printed[1])


def _log_likelihood_printed(params: np.ndarray, x: np.ndarray, t_x: np.ndarray, age: np.ndarray) -> np.ndarray:
    r, alpha, a, b = params
    # FHL (2005) eq. 6, term by term.
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = betaln(a, b + x) - betaln(a, b)
    a3 = -(r + x) * np.log(alpha + age)
    with np.errstate(divide="ignore"):
        a4 = np.where(x > 0, np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) - (r + x) * np.log(alpha + t_x), -np.inf)
    return np.asarray(a1 + a2 + np.logaddexp(a3, a4))


@settings(max_examples=40, deadline=None)
@given(
    params=st.tuples(st.floats(0.05, 5), st.floats(0.5, 50), st.floats(0.05, 5), st.floats(0.05, 10)).map(np.array),
)
def test_analytic_gradient_matches_finite_differences(params: np.ndarray) -> None:
    rng = np.random.default_rng(3)
    x = rng.integers(0, 15, 40).astype(float)
    age = rng.uniform(1, 52, 40)
    t_x = np.where(x > 0, age * rng.uniform(0, 1, 40), 0.0)
    w = rng.integers(1, 4, 40).astype(float)
    data = _fit_data(x, t_x, age, w)
    value, gradient = BetaGeoNBD()._negative_log_likelihood(params, data)
    assert value == pytest.approx(-float(w @ _log_likelihood_printed(params, x, t_x, age)), rel=1e-10)
    for j in range(4):
        h = 1e-6 * params[j]
        up, down = params.copy(), params.copy()
        up[j] += h
        down[j] -= h
        numeric = (
            BetaGeoNBD()._negative_log_likelihood(up, data)[0] - BetaGeoNBD()._negative_log_likelihood(down, data)[0]
        ) / (2 * h)
        assert gradient[j] == pytest.approx(numeric, rel=1e-5, abs=1e-6)


def test_identical_customers_are_weighted_not_repeated(cdnow_summary: pd.DataFrame) -> None:
    head = cdnow_summary.iloc[:400]
    doubled = BetaGeoNBD().fit(pd.concat([head, head]))
    counts = head.assign(n=2)
    weighted = BetaGeoNBD(weights_col="n").fit(counts)
    np.testing.assert_allclose(doubled.params_, weighted.params_, rtol=1e-6)
    assert doubled.log_likelihood_ == pytest.approx(weighted.log_likelihood_)
    assert doubled.n_distinct_rows_ < 400


def _log_hyp2f1_series(a: float, b: float, c: float, z: float, terms: int = 200_000) -> float:
    """log 2F1(a, b; c; z) by summing its power series in log space (positive parameters, 0 <= z < 1)."""
    k = np.arange(terms, dtype=float)
    log_ratio = np.log(a + k) + np.log(b + k) - np.log(c + k) - np.log1p(k) + np.log(z)
    log_terms = np.concatenate([[0.0], np.cumsum(log_ratio)[:-1]])
    top = log_terms.max()
    return float(top + np.log(np.sum(np.exp(log_terms - top))))


@pytest.mark.parametrize(("x", "t_x"), [(50, 90.0), (500, 99.0), (2000, 100.0)])
def test_heavy_buyers_match_the_printed_formula_summed_in_log_space(x: int, t_x: float) -> None:
    # The printed eq. 10 multiplies a power that underflows by a 2F1 that overflows for large x; summed in log
    # space it is still exact, and the Euler-transformed form in the model must agree with it.
    r, alpha, a, b = 0.243, 4.414, 0.793, 2.426
    age, t = 100.0, 52.0
    model = _with_params(r, alpha, a, b)
    log_hyp = _log_hyp2f1_series(r + x, b + x, a + b + x - 1, t / (alpha + age + t))
    bracket = 1 - np.exp((r + x) * np.log((alpha + age) / (alpha + age + t)) + log_hyp)
    alive = 1 / (1 + a / (b + x - 1) * ((alpha + age) / (alpha + t_x)) ** (r + x))
    printed = (a + b + x - 1) / (a - 1) * bracket * alive
    frame = pd.DataFrame({"frequency": [x], "recency": [t_x], "T": [age]})
    assert model.predict_purchases(frame, t=t).iloc[0] == pytest.approx(printed, rel=1e-8)
    assert model.predict_probability_alive(frame).iloc[0] == pytest.approx(alive, rel=1e-12)


def test_batched_scoring_matches_one_batch(fitted: BetaGeoNBD, cdnow_summary: pd.DataFrame) -> None:
    horizon = np.linspace(1, 52, len(cdnow_summary))
    whole = fitted.predict_purchases(cdnow_summary, t=horizon, batch_size=10**7)
    pieces = fitted.predict_purchases(cdnow_summary, t=horizon, batch_size=97)
    pd.testing.assert_series_equal(whole, pieces)
    assert whole.index.equals(cdnow_summary.index)


@settings(max_examples=50, deadline=None)
@given(
    x=st.integers(1, 60),
    share=st.floats(0, 1),
    age=st.floats(1, 200),
    t=st.floats(0.5, 100),
)
def test_predictions_are_ordered_sensibly(x: int, share: float, age: float, t: float) -> None:
    model = _with_params(0.243, 4.414, 0.793, 2.426)
    t_x = share * age
    alive = model.conditional_probability_alive(x, t_x, age)[0]
    later = model.conditional_probability_alive(x, min(age, t_x + 1.0), age)[0]
    assert 0 < alive <= 1
    assert later >= alive - 1e-12  # a more recent last purchase never lowers P(alive)
    near = model.conditional_expected_number_of_purchases_up_to_time(t, x, t_x, age)[0]
    far = model.conditional_expected_number_of_purchases_up_to_time(2 * t, x, t_x, age)[0]
    assert 0 <= near <= far


def test_input_errors_name_the_column(fitted: BetaGeoNBD, cdnow_summary: pd.DataFrame) -> None:
    with pytest.raises(InvalidInput, match="no column 'recency'"):
        BetaGeoNBD().fit(cdnow_summary.drop(columns="recency"))
    with pytest.raises(InvalidInput, match="'days'"):
        BetaGeoNBD(T_col="days").fit(cdnow_summary)
    bad = cdnow_summary.copy()
    bad.loc[5, "recency"] = 50.0
    with pytest.raises(InvalidInput, match="'recency' exceeds 'T' at row 5"):
        fitted.predict_probability_alive(bad)
    with pytest.raises(InvalidInput, match="'frequency' is not a whole number"):
        BetaGeoNBD().fit(cdnow_summary.assign(frequency=cdnow_summary["frequency"] + 0.5))
    with pytest.raises(InvalidInput, match="must be numeric"):
        BetaGeoNBD().fit(cdnow_summary.assign(T="38"))
    with pytest.raises(InvalidInput, match="DataFrame"):
        BetaGeoNBD().fit(cdnow_summary.to_numpy())  # type: ignore[arg-type]
    with pytest.raises(NotFittedError):
        BetaGeoNBD().predict_probability_alive(cdnow_summary)


def test_a_base_without_repeat_buyers_cannot_identify_the_dropout_process() -> None:
    # With x = 0 for everyone the likelihood does not involve a and b at all.
    summary = pd.DataFrame({"frequency": [0] * 50, "recency": [0.0] * 50, "T": np.arange(1.0, 51.0)})
    with pytest.warns(ConvergenceWarning, match="not positive definite"):
        model = BetaGeoNBD().fit(summary)
    assert model.standard_errors_.isna().all()
