"""Shifted-beta-geometric model against Fader & Hardie (2007, 2010)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import betaln

from kizuna.analytics.ltv import (
    ConvergenceWarning,
    InvalidInput,
    NotFittedError,
    ShiftedBetaGeometric,
    fit_sbg_by_cohort,
)
from kizuna.errors import InvalidInput as KizunaInvalidInput

# Fader & Hardie (2007), "How to project customer retention", Table 1: customers still active at the end of
# years 0..7 (the paper fits years 1-7) out of a cohort of 1000, for two segments of one firm.
HIGH_END = [1000, 869, 743, 653, 593, 551, 517, 491]
REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241]
# ... and the later years the paper holds out to judge the projections (years 8-12).
HIGH_END_HOLDOUT = [468, 445, 427, 409, 394]
REGULAR_HOLDOUT = [223, 207, 194, 183, 173]

positive = st.floats(min_value=0.05, max_value=20.0, allow_nan=False)


def test_reproduces_published_estimates_high_end() -> None:
    model = ShiftedBetaGeometric().fit(HIGH_END)
    # The paper prints alpha = 0.668, beta = 3.806 for the high-end segment.
    assert model.params_["alpha"] == pytest.approx(0.668, abs=5e-4)
    assert model.params_["beta"] == pytest.approx(3.806, abs=5e-4)
    assert model.converged_
    assert model.log_likelihood_ == pytest.approx(-1611.16, abs=0.01)


def test_reproduces_published_estimates_regular() -> None:
    model = ShiftedBetaGeometric().fit(REGULAR)
    # The paper prints alpha = 0.704, beta = 1.182 for the regular segment.
    assert model.params_["alpha"] == pytest.approx(0.704, abs=5e-4)
    assert model.params_["beta"] == pytest.approx(1.182, abs=5e-4)


@pytest.mark.parametrize(("alive", "holdout"), [(HIGH_END, HIGH_END_HOLDOUT), (REGULAR, REGULAR_HOLDOUT)])
def test_projects_the_holdout_years_closely(alive: list[int], holdout: list[int]) -> None:
    # The paper's point: seven years of data project years 8-12 within a few percentage points.
    model = ShiftedBetaGeometric().fit(alive)
    projected = 1000 * model.predict_survival(np.arange(8, 13))
    assert np.max(np.abs(projected - holdout)) < 20


def test_survival_curve_input_gives_the_same_estimates() -> None:
    counts = ShiftedBetaGeometric().fit(HIGH_END)
    curve = ShiftedBetaGeometric().fit(np.array(HIGH_END) / 1000)
    from_period_one = ShiftedBetaGeometric().fit(pd.Series(HIGH_END[1:]) / 1000)
    sized = ShiftedBetaGeometric().fit(np.array(HIGH_END) / 1000, n_customers=1000)
    for other in (curve, from_period_one, sized):
        np.testing.assert_allclose(other.params_, counts.params_, rtol=1e-6)
    # Standard errors depend on the cohort size, so a bare curve cannot have them.
    assert curve.standard_errors_.isna().all()
    np.testing.assert_allclose(sized.standard_errors_, counts.standard_errors_, rtol=1e-5)


def test_standard_errors_match_the_second_difference_hessian() -> None:
    model = ShiftedBetaGeometric().fit(HIGH_END)
    counts = np.array(HIGH_END, dtype=float)
    t = np.arange(1, len(counts))

    def log_likelihood(alpha: float, beta: float) -> float:
        lost = counts[:-1] - counts[1:]
        return float(
            lost @ (betaln(alpha + 1, beta + t - 1) - betaln(alpha, beta))
            + counts[-1] * (betaln(alpha, beta + t[-1]) - betaln(alpha, beta))
        )

    theta = model.params_.to_numpy()
    h = 1e-4 * theta
    hessian = np.empty((2, 2))
    for i in range(2):
        for j in range(2):
            ei, ej = np.eye(2)[i] * h[i], np.eye(2)[j] * h[j]
            hessian[i, j] = (
                log_likelihood(*(theta + ei + ej))
                - log_likelihood(*(theta + ei - ej))
                - log_likelihood(*(theta - ei + ej))
                + log_likelihood(*(theta - ei - ej))
            ) / (4 * h[i] * h[j])
    expected = np.sqrt(np.diag(np.linalg.inv(-hessian)))
    np.testing.assert_allclose(model.standard_errors_, expected, rtol=1e-4)


def _fitted(alpha: float, beta: float) -> ShiftedBetaGeometric:
    model = ShiftedBetaGeometric()
    model.params_ = pd.Series({"alpha": alpha, "beta": beta})
    return model


@settings(max_examples=60, deadline=None)
@given(alpha=positive, beta=positive)
def test_churn_retention_and_survival_agree(alpha: float, beta: float) -> None:
    model = _fitted(alpha, beta)
    t = np.arange(1, 30)
    survival = model.predict_survival(np.arange(0, 30))
    assert survival[0] == pytest.approx(1.0)
    np.testing.assert_allclose(model.predict_churn_probability(t), survival[:-1] - survival[1:], rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(model.predict_retention_rate(t), survival[1:] / survival[:-1], rtol=1e-9)
    # Retention rises with tenure: the sorting effect that motivates the model.
    assert np.all(np.diff(model.predict_retention_rate(t)) > 0)


@settings(max_examples=40, deadline=None)
@given(alpha=st.floats(min_value=1.5, max_value=20.0), beta=positive)
def test_expected_lifetime_is_the_sum_of_the_survival_curve(alpha: float, beta: float) -> None:
    model = _fitted(alpha, beta)
    # The tail of S(t) decays like t^-alpha; sum far enough out and add the integral of the tail.
    horizon = 200_000
    tail = model.predict_survival(horizon) * horizon / (alpha - 1)
    assert model.expected_lifetime() == pytest.approx(model.expected_lifetime(horizon) + tail, rel=1e-3)
    assert _fitted(0.9, beta).expected_lifetime() == np.inf


@settings(max_examples=40, deadline=None)
@given(alpha=positive, beta=positive, rate=st.floats(min_value=0.02, max_value=0.5), renewals=st.integers(0, 20))
def test_del_and_derl_equal_their_discounted_sums(alpha: float, beta: float, rate: float, renewals: int) -> None:
    model = _fitted(alpha, beta)
    t = np.arange(0, 3000)
    discount = (1 + rate) ** -t
    survival = model.predict_survival(t)
    assert model.discounted_expected_lifetime(rate) == pytest.approx(np.sum(survival * discount), rel=1e-8)
    # Fader & Hardie (2010): the customer has renewed n-1 times and is about to decide on renewal n.
    n = renewals + 1
    residual = model.predict_survival(n + t) / model.predict_survival(n - 1)
    derl = model.discounted_expected_residual_lifetime(rate, renewals)
    assert derl == pytest.approx(np.sum(residual * discount), rel=1e-8)


def test_ltv_scales_del_and_derl() -> None:
    model = ShiftedBetaGeometric().fit(HIGH_END)
    assert model.ltv(100.0, 0.1) == pytest.approx(100 * model.discounted_expected_lifetime(0.1))
    np.testing.assert_allclose(
        model.ltv(50.0, 0.1, renewals=[0, 3, 7]), 50 * model.discounted_expected_residual_lifetime(0.1, [0, 3, 7])
    )
    # Residual value grows with tenure: survivors are the customers with low churn probabilities.
    assert np.all(np.diff(model.discounted_expected_residual_lifetime(0.1, np.arange(10))) > 0)


def test_fit_by_cohort_from_a_tidy_frame() -> None:
    frame = pd.DataFrame(
        {
            "plan": ["premium"] * 8 + ["basic"] * 6,
            "year": list(range(8)) + list(range(6)),
            "active": HIGH_END + REGULAR[:6],
        }
    ).sample(frac=1.0, random_state=7)  # order must not matter
    fitted = fit_sbg_by_cohort(frame, cohort_col="plan", period_col="year", alive_col="active")
    assert list(fitted.index) == ["basic", "premium"]
    assert fitted.index.name == "plan"
    assert fitted.loc["premium", "alpha"] == pytest.approx(0.668, abs=5e-4)
    assert fitted.loc["premium", "beta"] == pytest.approx(3.806, abs=5e-4)
    assert fitted.loc["basic", "n_periods"] == 5
    single = ShiftedBetaGeometric().fit(REGULAR[:6])
    assert fitted.loc["basic", "alpha"] == pytest.approx(single.params_["alpha"])
    assert fitted.loc["basic", "beta_se"] == pytest.approx(single.standard_errors_["beta"])


def test_fit_by_cohort_names_the_bad_cohort() -> None:
    frame = pd.DataFrame({"cohort": ["a", "a", "a"], "period": [0, 1, 3], "alive": [10, 8, 7]})
    with pytest.raises(InvalidInput, match=r"cohort 'a'.*without gaps"):
        fit_sbg_by_cohort(frame)
    with pytest.raises(InvalidInput, match="'alive'"):
        fit_sbg_by_cohort(frame.drop(columns="alive"))


@pytest.mark.parametrize(
    ("alive", "message"),
    [
        ([1000, 900, 950], "must not increase"),
        ([1000], "at least two periods"),
        ([0, 0, 0], "empty"),
        ([1000, -1, 0], "non-negative"),
        ([1000, np.nan], "finite"),
    ],
)
def test_rejects_impossible_survival_tables(alive: list[float], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        ShiftedBetaGeometric().fit(alive)


def test_errors_are_kizunas_invalid_input_and_value_errors() -> None:
    assert InvalidInput is KizunaInvalidInput
    with pytest.raises(ValueError, match="must not increase"):
        ShiftedBetaGeometric().fit([10, 11])


def test_predicting_before_fitting_says_so() -> None:
    with pytest.raises(NotFittedError, match="not fitted"):
        ShiftedBetaGeometric().predict_survival(3)
    with pytest.raises(InvalidInput, match=">= 1"):
        ShiftedBetaGeometric().fit(HIGH_END).predict_retention_rate(0)


def test_unidentified_fit_warns_instead_of_printing(capsys: pytest.CaptureFixture[str]) -> None:
    # Nobody ever churns: the churn distribution collapses on zero and the Hessian is singular.
    with pytest.warns(ConvergenceWarning, match="not positive definite"):
        model = ShiftedBetaGeometric().fit([100, 100, 100])
    assert model.standard_errors_.isna().all()
    assert capsys.readouterr() == ("", "")
    assert issubclass(ConvergenceWarning, UserWarning)


def test_a_constant_churn_cohort_is_reported_as_a_degenerate_fit() -> None:
    from kizuna.analytics.ltv import sbg_fit_problems

    # every customer churns with 10 % a month: no heterogeneity for the Beta to describe, the fit walks out
    # along alpha + beta (as the demo's plans did) and must say so
    alive = [round(10_000 * 0.9**t) for t in range(13)]
    model = ShiftedBetaGeometric().fit(alive)
    alpha, beta = model.params_.to_numpy()
    assert alpha + beta > 1_000
    assert "no_spread" in sbg_fit_problems(
        alpha, beta, alpha_se=model.standard_errors_["alpha"], beta_se=model.standard_errors_["beta"]
    )
    # the published example (Fader & Hardie 2007, regular customers) is a sound fit
    sound = ShiftedBetaGeometric().fit([1000, 869, 743, 653, 593, 551, 517, 491])
    a, b = sound.params_.to_numpy()
    se = sound.standard_errors_
    assert sbg_fit_problems(a, b, alpha_se=se["alpha"], beta_se=se["beta"]) == []
    assert sbg_fit_problems(0.5, 2.0, alpha_se=0.9, beta_se=1.0) == ["loose"]
    assert sbg_fit_problems(0.5, 2.0, alpha_se=float("nan"), beta_se=float("nan")) == []


def test_profile_interval_follows_the_likelihood_and_contains_the_estimate() -> None:
    from scipy.stats import chi2

    from kizuna.analytics.ltv.shifted_beta_geometric import sbg_log_likelihood

    model = ShiftedBetaGeometric().fit(HIGH_END)
    prof = model.profile_interval()
    wald = model.summary()
    counts = np.asarray(HIGH_END, dtype=float)
    for name in ("alpha", "beta"):
        lo, hi = prof.at[name, "lower"], prof.at[name, "upper"]
        assert lo < model.params_[name] < hi and prof.at[name, "bounded"]
        # asymptotically the Wald interval: with 1,000 customers the two agree to about a fifth of their width
        width = wald.at[name, "upper_95"] - wald.at[name, "lower_95"]
        assert abs((hi - lo) - width) < 0.25 * width
        # skewed like the likelihood (a positive parameter): the upper side is the longer one
        assert hi - model.params_[name] > model.params_[name] - lo
    # at the alpha bound the likelihood, maximised over beta, has fallen by exactly chi2(1, 0.95) / 2
    lo = prof.at["alpha", "lower"]
    best_beta = max((sbg_log_likelihood(lo, b, counts), b) for b in np.exp(np.linspace(np.log(0.5), np.log(20), 4001)))[
        0
    ]
    assert model.log_likelihood_ - best_beta == pytest.approx(chi2.ppf(0.95, 1) / 2, abs=2e-3)
    rate = prof.loc["churn_rate"]
    assert rate["lower"] < 0.668 / (0.668 + 3.806) < rate["upper"]


def test_profile_interval_of_a_degenerate_fit_is_unbounded_above_but_bounds_the_churn_rate() -> None:
    # one churn rate (4 % a month) for every customer: alpha and beta run off along the ridge alpha/(alpha+beta)
    alive = [10_000.0]
    for _ in range(24):
        alive.append(round(alive[-1] * 0.96))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # whether the Hessian is usable here is not the point
        model = ShiftedBetaGeometric().fit(alive)
    assert model.params_.sum() > 1000  # degenerate
    prof = model.profile_interval()
    for name in ("alpha", "beta"):
        assert prof.at[name, "upper"] == np.inf and not prof.at[name, "bounded"]
        assert 0 < prof.at[name, "lower"] < model.params_[name]
    rate = prof.loc["churn_rate"]
    assert rate["bounded"] and rate["lower"] < 0.04 < rate["upper"] and rate["upper"] - rate["lower"] < 0.02


def test_profile_interval_needs_a_cohort_size() -> None:
    model = ShiftedBetaGeometric().fit([0.869, 0.743, 0.653, 0.593, 0.551, 0.517, 0.491])
    prof = model.profile_interval()
    assert prof[["lower", "upper"]].isna().all().all()
    with pytest.raises(InvalidInput):
        ShiftedBetaGeometric().fit(HIGH_END).profile_interval(level=1.5)
    frame = fit_sbg_by_cohort(pd.DataFrame({"cohort": "a", "period": range(8), "alive": HIGH_END}))
    assert frame.at["a", "alpha_lower"] < frame.at["a", "alpha"] < frame.at["a", "alpha_upper"]


# Nobody leaves for two renewals, then nine of thirty do: churn that rises, which the sBG (whose churn can only fall
# over time) fits best as one churn rate for all, alpha + beta -> infinity. The smallest cohort found that made the
# old Beta-function likelihood, noisy at alpha ~ 1e11, report a spurious maximum and profile_interval's brentq
# fail ("f(a) and f(b) must have different signs"), as the seed-3 demo's Pro plan did.
RISING_CHURN = [30, 30, 30, 21]


def test_a_cohort_whose_churn_rises_is_a_stated_degenerate_fit_not_an_error() -> None:
    from kizuna.analytics.ltv import sbg_fit_problems

    counts = np.asarray(RISING_CHURN, dtype=float)
    model = ShiftedBetaGeometric().fit(counts)
    # the likelihood's supremum is the constant-churn (geometric) one, 9 churned in 90 renewal opportunities
    rate = 9 / 90
    geometric = 9 * np.log(rate) + 81 * np.log(1 - rate)
    assert model.log_likelihood_ == pytest.approx(geometric, abs=1e-3)
    assert model.log_likelihood_ <= geometric + 1e-9
    alpha, beta = model.params_.to_numpy()
    assert alpha / (alpha + beta) == pytest.approx(rate, rel=1e-3)
    assert "no_spread" in sbg_fit_problems(alpha, beta)
    prof = model.profile_interval()
    for name in ("alpha", "beta"):
        assert prof.at[name, "upper"] == np.inf and not prof.at[name, "bounded"]
    assert prof.at["churn_rate", "bounded"] and prof.at["churn_rate", "lower"] < rate < prof.at["churn_rate", "upper"]
    # and the cohort's neighbours in a frame of cohorts still get their fits
    frame = pd.DataFrame(
        {
            "cohort": ["rising"] * len(RISING_CHURN) + ["high end"] * len(HIGH_END),
            "period": [*range(len(RISING_CHURN)), *range(len(HIGH_END))],
            "alive": RISING_CHURN + HIGH_END,
        }
    )
    fits = fit_sbg_by_cohort(frame)
    assert fits.at["high end", "alpha"] == pytest.approx(0.668, abs=5e-4)
    assert np.isinf(fits.at["rising", "alpha_upper"])


def test_the_likelihood_is_the_beta_function_form_where_that_is_exact() -> None:
    from kizuna.analytics.ltv.shifted_beta_geometric import sbg_log_likelihood

    counts = np.asarray(HIGH_END, dtype=float)
    periods = np.arange(1, len(counts))
    for alpha, beta in ((0.668, 3.806), (0.01, 50.0), (30.0, 2.0), (5e-3, 1e-3)):
        base = betaln(alpha, beta)
        eq9 = (counts[:-1] - counts[1:]) @ (betaln(alpha + 1, beta + periods - 1) - base) + counts[-1] * (
            betaln(alpha, beta + len(periods)) - base
        )
        assert sbg_log_likelihood(alpha, beta, counts) == pytest.approx(eq9, abs=1e-9)


@pytest.mark.parametrize(("alpha", "beta"), [(1e3, 5e4), (2e6, 7e7)])
def test_discounted_lifetime_of_a_no_spread_fit_is_the_constant_churn_one(alpha: float, beta: float) -> None:
    # SciPy's hyp2f1 gives NaN at these sizes; with no spread DEL is the geometric (1 + d) / (d + churn) in the limit
    model = ShiftedBetaGeometric()
    model.params_ = pd.Series({"alpha": alpha, "beta": beta})
    d, churn = 0.008, alpha / (alpha + beta)
    assert model.discounted_expected_lifetime(d) == pytest.approx((1 + d) / (d + churn), rel=2e-3)
    residual = model.discounted_expected_residual_lifetime(d, [0, 12])
    assert np.all(np.isfinite(residual)) and residual == pytest.approx((1 - churn) * (1 + d) / (d + churn), rel=2e-3)
