"""Pareto/NBD against Fader, Hardie & Lee (2005) on CDNOW, and its likelihood against quadrature."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad
from scipy.special import gammaln

from kizuna.analytics.ltv import InvalidInput, ParetoNBD
from kizuna.analytics.ltv.pareto_nbd import _likelihood_parts


@pytest.fixture(scope="module")
def fitted(cdnow_summary: pd.DataFrame) -> ParetoNBD:
    return ParetoNBD().fit(cdnow_summary)


def _with_params(r: float, alpha: float, s: float, beta: float) -> ParetoNBD:
    model = ParetoNBD()
    model.params_ = pd.Series({"r": r, "alpha": alpha, "s": s, "beta": beta})
    return model


def test_reproduces_published_estimates_on_cdnow(fitted: ParetoNBD) -> None:
    # FHL (2005), "Counting your customers the easy way", section 4: r = 0.55, alpha = 10.58, s = 0.61,
    # beta = 11.67 (LL = -9595.0).
    expected = {"r": 0.55, "alpha": 10.58, "s": 0.61, "beta": 11.67}
    for name, value in expected.items():
        assert fitted.params_[name] == pytest.approx(value, abs=0.005), name
    assert fitted.log_likelihood_ == pytest.approx(-9595.0, abs=0.05)
    assert fitted.converged_
    assert np.all(np.isfinite(fitted.standard_errors_)) and np.all(fitted.standard_errors_ > 0)


def test_standard_errors_match_a_second_difference_hessian(fitted: ParetoNBD, cdnow_summary: pd.DataFrame) -> None:
    # An independent Hessian: four-point second differences of the summed log-likelihood in the natural
    # parameters (the fit takes them on the log scale, with another step).
    x, t_x, age = (cdnow_summary[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))

    def log_likelihood(params: np.ndarray) -> float:
        parts = _likelihood_parts(params, x, t_x, age)
        return float(np.sum(parts.head + np.logaddexp(parts.alive, parts.dropped)))

    theta = fitted.params_.to_numpy()
    h = 1e-4 * theta
    hessian = np.empty((4, 4))
    for i in range(4):
        for j in range(4):
            ei, ej = np.eye(4)[i] * h[i], np.eye(4)[j] * h[j]
            hessian[i, j] = (
                log_likelihood(theta + ei + ej)
                - log_likelihood(theta + ei - ej)
                - log_likelihood(theta - ei + ej)
                + log_likelihood(theta - ei - ej)
            ) / (4 * h[i] * h[j])
    expected = np.sqrt(np.diag(np.linalg.inv(-hessian)))
    np.testing.assert_allclose(fitted.standard_errors_.to_numpy(), expected, rtol=1e-3)


def test_predictions_for_the_example_customer_agree_with_lifetimes(fitted: ParetoNBD) -> None:
    # Cross-check with an independent implementation (lifetimes 0.11.3 ParetoNBDFitter on the same data gives
    # 1.4551 expected purchases in 39 weeks and P(alive) = 0.8691 for x = 2, t_x = 30.43, T = 38.86).
    customer = pd.DataFrame({"frequency": [2], "recency": [30.43], "T": [38.86]})
    assert fitted.predict_purchases(customer, t=39).iloc[0] == pytest.approx(1.4551, abs=2e-4)
    assert fitted.predict_probability_alive(customer).iloc[0] == pytest.approx(0.8691, abs=2e-4)
    assert fitted.predict_new_customer_purchases(39.0) == pytest.approx(1.2134, abs=2e-4)


def _likelihood_by_quadrature(params: tuple[float, float, float, float], x: int, t_x: float, age: float) -> float:
    """The Pareto/NBD likelihood with its lifetime integral done numerically (Fader & Hardie 2005 note, eq. 4).

    L = Gamma(r+x) alpha^r beta^s / Gamma(r) * [(alpha+T)^-(r+x) (beta+T)^-s
        + s * integral_{t_x}^{T} (alpha+tau)^-(r+x) (beta+tau)^-(s+1) dtau]
    """
    r, alpha, s, beta = params
    head = np.exp(gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta))
    scale = (alpha + t_x) ** (r + x) * (beta + t_x) ** (s + 1)  # keeps the integrand of order one
    integral, _ = quad(
        lambda tau: scale * (alpha + tau) ** -(r + x) * (beta + tau) ** -(s + 1), t_x, age, epsabs=0, epsrel=1e-12
    )
    alive = (alpha + age) ** -(r + x) * (beta + age) ** -s
    return float(head * (alive + s * integral / scale))


@settings(max_examples=80, deadline=None)
@given(
    r=st.floats(0.1, 5),
    alpha=st.floats(0.5, 50),
    s=st.floats(0.1, 5),
    beta_ratio=st.sampled_from([0.3, 0.999999, 1.0, 1.000001, 3.0]),
    x=st.integers(0, 30),
    share=st.floats(0, 1),
    age=st.floats(1, 100),
)
def test_closed_form_likelihood_matches_quadrature(
    r: float, alpha: float, s: float, beta_ratio: float, x: int, share: float, age: float
) -> None:
    # beta_ratio covers alpha > beta, alpha < beta, and alpha == beta with its neighbours.
    beta = alpha * beta_ratio
    t_x = share * age if x > 0 else 0.0
    params = np.array([r, alpha, s, beta])
    parts = _likelihood_parts(params, np.array([float(x)]), np.array([t_x]), np.array([age]))
    log_l = float((parts.head + np.logaddexp(parts.alive, parts.dropped))[0])
    assert log_l == pytest.approx(np.log(_likelihood_by_quadrature((r, alpha, s, beta), x, t_x, age)), abs=1e-7)


def test_probability_alive_is_continuous_through_alpha_equals_beta() -> None:
    x, t_x, age = np.array([3.0]), np.array([20.0]), np.array([40.0])
    values = [
        _with_params(0.5, 10.0, 0.6, 10.0 + delta).conditional_probability_alive(x, t_x, age)[0]
        for delta in (-1e-7, 0.0, 1e-7)
    ]
    assert values[0] == pytest.approx(values[1], rel=1e-6)
    assert values[2] == pytest.approx(values[1], rel=1e-6)


def test_expectation_is_continuous_through_s_equals_one() -> None:
    x, t_x, age = np.array([3.0]), np.array([20.0]), np.array([40.0])
    at_one = _with_params(0.5, 10.0, 1.0, 12.0).conditional_expected_number_of_purchases_up_to_time(39, x, t_x, age)
    near = _with_params(0.5, 10.0, 1.0 + 1e-6, 12.0).conditional_expected_number_of_purchases_up_to_time(
        39, x, t_x, age
    )
    assert at_one[0] == pytest.approx(near[0], rel=1e-5)


def test_heavy_buyers_stay_finite() -> None:
    model = _with_params(0.55, 10.58, 0.61, 11.67)
    frame = pd.DataFrame({"frequency": [300, 1500], "recency": [99.0, 100.0], "T": [100.0, 100.0]})
    alive = model.predict_probability_alive(frame)
    expected = model.predict_purchases(frame, t=52)
    assert np.all(np.isfinite(expected)) and np.all(alive > 0.9)
    # Eq. 19: E[Y(t)] / P(alive) = (r+x)(beta+T)/((alpha+T)(s-1)) [1 - ((beta+T)/(beta+T+t))^(s-1)].
    rate = (0.55 + 1500) * (11.67 + 100) / ((10.58 + 100) * (0.61 - 1)) * (1 - (111.67 / 163.67) ** (0.61 - 1))
    assert expected.iloc[1] / alive.iloc[1] == pytest.approx(rate, rel=1e-10)


def test_rejects_frequency_without_recency(cdnow_summary: pd.DataFrame) -> None:
    bad = cdnow_summary.copy()
    bad.loc[3, "recency"] = 4.0  # customer 3 made no repeat purchase
    with pytest.raises(InvalidInput, match="'recency' must be 0 where 'frequency' is 0 \\(row 3\\)"):
        ParetoNBD().fit(bad)
