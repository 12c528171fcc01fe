"""The shifted-beta-geometric (sBG) model of contractual retention (Fader & Hardie 2007, 2010)."""

from __future__ import annotations

import warnings
from typing import Any, Self

import numpy as np
import pandas as pd
from scipy.special import betaln, hyp2f1

from kizuna.analytics.ltv._base import (
    FloatArray,
    NotFittedError,
    maximise_likelihood,
    params_series,
)
from kizuna.analytics.ltv._validation import (
    ConvergenceWarning,
    InvalidInput,
    check_positive_number,
    numeric_columns,
    require_frame,
)

__all__ = ["SBG_NO_SPREAD", "ShiftedBetaGeometric", "fit_sbg_by_cohort", "sbg_fit_problems"]


class ShiftedBetaGeometric:
    r"""Shifted-beta-geometric model of a cohort's renewals in a contractual (subscription) setting.

    At each renewal opportunity a customer churns with their own probability :math:`\theta`, constant over
    time; across the cohort :math:`\theta \sim \mathrm{Beta}(\alpha, \beta)`. The retention rate of the cohort
    rises over time only because the customers likely to churn leave first. Fader & Hardie (2007), "How to
    project customer retention", *Journal of Interactive Marketing* 21(1), 76-90:

    .. math::

        P(T = t) = \frac{B(\alpha+1, \beta+t-1)}{B(\alpha, \beta)},\qquad
        S(t) = \frac{B(\alpha, \beta+t)}{B(\alpha, \beta)},\qquad
        r_t = \frac{\beta + t - 1}{\alpha + \beta + t - 1}

    (eqs. 5, 6 and 8; :math:`T \ge 1` is the period in which the customer churns). With :math:`n_t` customers
    alive at the end of period :math:`t = 0, \dots, m` the log-likelihood (eq. 9) is

    .. math::

        LL = \sum_{t=1}^{m} (n_{t-1} - n_t) \ln P(T=t) + n_m \ln S(m),

    maximised on log-parameters with its analytic gradient. Valuation follows Fader & Hardie (2010),
    "Customer-base valuation in a contractual setting: the perils of ignoring heterogeneity", *Marketing
    Science* 29(1), 85-93.

    Parameters
    ----------
    tol, max_iter
        Optimiser settings.

    Attributes
    ----------
    params_ : pandas.Series
        ``alpha`` and ``beta``.
    standard_errors_ : pandas.Series
        From the inverse Hessian; NaN when the model was fitted on a survival curve without ``n_customers``
        (their size depends on how many customers the curve describes).
    covariance_ : pandas.DataFrame
    log_likelihood_ : float
    n_customers_ : float
        Cohort size (``n_0``), or 1 for a bare survival curve.
    n_periods_ : int
        Renewal opportunities observed (``m``).

    Examples
    --------
    >>> model = ShiftedBetaGeometric().fit([1000, 869, 743, 653, 593, 551, 517, 491])
    >>> model.params_.round(3).tolist()
    [0.668, 3.806]
    """

    param_names = ("alpha", "beta")

    params_: pd.Series
    standard_errors_: pd.Series
    covariance_: pd.DataFrame
    log_likelihood_: float
    n_customers_: float
    n_periods_: int
    n_iter_: int
    converged_: bool

    def __init__(self, *, tol: float = 1e-8, max_iter: int = 1000) -> None:
        self.tol = tol
        self.max_iter = max_iter

    def __repr__(self) -> str:
        if hasattr(self, "params_"):
            alpha, beta = self.params_.to_numpy()
            return f"ShiftedBetaGeometric(alpha={alpha:.4g}, beta={beta:.4g})"
        return "ShiftedBetaGeometric()"

    def fit(self, alive: Any, *, n_customers: float | None = None) -> Self:
        """Estimate ``alpha`` and ``beta`` from one cohort's survival table.

        Parameters
        ----------
        alive : array-like or pandas.Series
            Either counts of customers still active at the end of periods ``0, 1, ..., m`` (``alive[0]`` is the
            cohort size), or a survival curve: proportions, all <= 1, either starting with ``S(0) = 1.0`` or at
            period 1 (``[0.869, 0.743, ...]``).
        n_customers : float, optional
            Cohort size, when ``alive`` is a survival curve. Scales the likelihood, so the standard errors are
            only available with it.

        Returns
        -------
        self
        """
        counts, scaled = _survival_counts(alive, n_customers)
        self.counts_ = counts
        self.scaled_ = scaled

        def objective(params: FloatArray) -> tuple[float, FloatArray]:
            value, gradient = _sbg_log_likelihood_and_gradient(float(params[0]), float(params[1]), counts)
            return -value, -gradient

        result = maximise_likelihood(
            objective,
            [1.0, 1.0],
            n_observations=float(counts[0]),
            names=self.param_names,
            tol=self.tol,
            max_iter=self.max_iter,
        )
        self.params_ = params_series(result.params, self.param_names)
        standard_errors = result.standard_errors if not scaled else np.full(2, np.nan)
        covariance = result.covariance if not scaled else np.full((2, 2), np.nan)
        self.standard_errors_ = params_series(standard_errors, self.param_names)
        self.covariance_ = pd.DataFrame(covariance, index=self.param_names, columns=self.param_names)
        self.log_likelihood_ = result.log_likelihood
        self.n_customers_ = float(counts[0])
        self.n_periods_ = len(counts) - 1
        self.n_iter_ = result.n_iter
        self.converged_ = result.converged
        return self

    # -- retention curve ------------------------------------------------------------------------------------

    def predict_survival(self, t: Any) -> FloatArray:
        r"""Share of the cohort still active after ``t`` renewal opportunities, :math:`S(t)` (eq. 6).

        ``t`` may be any array of non-negative numbers; :math:`S(0) = 1`.
        """
        alpha, beta = self._alpha_beta()
        periods = _periods(t, minimum=0.0)
        if np.all(periods == np.round(periods)):  # whole periods: exact at any alpha, beta (see the likelihood)
            return np.asarray(np.exp(_log_survival(alpha, beta, periods)), dtype=np.float64)
        return np.asarray(np.exp(betaln(alpha, beta + periods) - betaln(alpha, beta)), dtype=np.float64)

    def predict_churn_probability(self, t: Any) -> FloatArray:
        r"""Probability that a new customer churns in period ``t`` (``t >= 1``), :math:`P(T = t)` (eq. 5).

        This is unconditional; the probability of churning in period ``t`` given activity until then is
        ``1 - predict_retention_rate(t)``.
        """
        alpha, beta = self._alpha_beta()
        periods = _periods(t, minimum=1.0)
        if np.all(periods == np.round(periods)):
            log_churn = _log_survival(alpha, beta, periods - 1.0) - np.log1p((beta + periods - 1.0) / alpha)
            return np.asarray(np.exp(log_churn), dtype=np.float64)
        return np.asarray(np.exp(betaln(alpha + 1.0, beta + periods - 1.0) - betaln(alpha, beta)), dtype=np.float64)

    def predict_retention_rate(self, t: Any) -> FloatArray:
        r"""Share of the customers active at ``t - 1`` who renew at ``t`` (``t >= 1``), :math:`r_t` (eq. 8)."""
        alpha, beta = self._alpha_beta()
        periods = _periods(t, minimum=1.0)
        return np.asarray((beta + periods - 1.0) / (alpha + beta + periods - 1.0), dtype=np.float64)

    def expected_lifetime(self, horizon: int | None = None) -> float:
        r"""Expected number of periods a new customer stays, counting the period of acquisition.

        Without ``horizon`` this is :math:`E[T] = \sum_{t \ge 0} S(t) = (\alpha + \beta - 1)/(\alpha - 1)`, which
        is infinite when :math:`\alpha \le 1` (the beta mixing distribution puts too much mass near zero churn).
        With ``horizon`` it is the truncated :math:`\sum_{t=0}^{h-1} S(t)`, always finite.
        """
        alpha, beta = self._alpha_beta()
        if horizon is not None:
            steps = int(horizon)
            if steps != horizon or steps < 0:
                raise InvalidInput(f"horizon must be a whole number >= 0, got {horizon!r}", value=horizon)
            return float(np.sum(self.predict_survival(np.arange(steps))))
        return float((alpha + beta - 1.0) / (alpha - 1.0)) if alpha > 1.0 else float("inf")

    # -- valuation (Fader & Hardie 2010) --------------------------------------------------------------------

    def discounted_expected_lifetime(self, discount_rate: float) -> float:
        r"""DEL: discounted expected number of payments of a customer just acquired (first payment now).

        .. math:: \mathrm{DEL}(d) = \sum_{t \ge 0} \frac{S(t)}{(1+d)^t}
            = {}_2F_1\!\left(1, \beta; \alpha+\beta; \tfrac{1}{1+d}\right)

        (Fader & Hardie 2010, eq. 4). ``discount_rate`` is per period and must be > 0.
        """
        alpha, beta = self._alpha_beta()
        d = check_positive_number(discount_rate, name="discount_rate")
        return float(_hyp2f1_one(beta, alpha + beta, 1.0 / (1.0 + d)))

    def discounted_expected_residual_lifetime(self, discount_rate: float, renewals: Any = 0) -> FloatArray:
        r"""DERL: discounted expected future payments of a customer who has renewed ``renewals`` times.

        Evaluated just before the customer's next renewal decision, whose payment is not discounted
        (Fader & Hardie 2010, eq. 6, with :math:`n - 1` = ``renewals``):

        .. math::

            \mathrm{DERL}(d \mid n-1) = \frac{\beta+n-1}{\alpha+\beta+n-1}\,
            {}_2F_1\!\left(1, \beta+n; \alpha+\beta+n; \tfrac{1}{1+d}\right)

        Parameters
        ----------
        discount_rate : float
            Per period, > 0.
        renewals : int or array-like of int
            Renewals made so far (0 for a customer in their first period).

        Returns
        -------
        numpy.ndarray
            Same shape as ``renewals``; multiply by the value per period for residual lifetime value.
        """
        alpha, beta = self._alpha_beta()
        d = check_positive_number(discount_rate, name="discount_rate")
        n = _periods(renewals, minimum=0.0) + 1.0
        return np.asarray(
            (beta + n - 1.0) / (alpha + beta + n - 1.0) * _hyp2f1_one(beta + n, alpha + beta + n, 1.0 / (1.0 + d)),
            dtype=np.float64,
        )

    def ltv(self, value_per_period: Any, discount_rate: float, *, renewals: Any = None) -> FloatArray:
        """Expected discounted lifetime value at a constant value per period.

        Parameters
        ----------
        value_per_period : float or array-like
            Payment (or margin) per period, in currency units.
        discount_rate : float
            Per period, > 0.
        renewals : int or array-like, optional
            ``None``: value of a customer being acquired now, first payment included (``value * DEL``).
            Otherwise the residual value of existing customers who have renewed that many times
            (``value * DERL``), as in Fader & Hardie (2010).

        Returns
        -------
        numpy.ndarray
        """
        value = np.asarray(value_per_period, dtype=np.float64)
        if renewals is None:
            return np.asarray(value * self.discounted_expected_lifetime(discount_rate), dtype=np.float64)
        return np.asarray(value * self.discounted_expected_residual_lifetime(discount_rate, renewals), dtype=np.float64)

    def summary(self) -> pd.DataFrame:
        """Estimates with standard errors and Wald 95% intervals."""
        params = self._params()
        se = self.standard_errors_
        return pd.DataFrame(
            {
                "estimate": params,
                "standard_error": se,
                "lower_95": params - 1.959963984540054 * se,
                "upper_95": params + 1.959963984540054 * se,
            }
        )

    def profile_interval(self, level: float = 0.95) -> pd.DataFrame:
        r"""Profile-likelihood confidence intervals of ``alpha``, ``beta`` and the mean churn rate per period
        :math:`\alpha / (\alpha + \beta)`.

        For one parameter :math:`\psi` the profile is :math:`LL_p(\psi) = \max_\lambda LL(\psi, \lambda)`
        (the other parameter re-fitted at every value); the interval is where
        :math:`2\,(LL_{max} - LL_p(\psi)) \le \chi^2_{1,\text{level}}` (Venzon & Moolgavkar 1988, "A method for
        computing profile-likelihood-based confidence intervals", *Applied Statistics* 37(1), 87-94). Unlike the
        Wald interval (estimate ± 1.96 SE) it follows the likelihood's own shape: when the fit has degenerated to
        one churn rate for everyone (``no_spread``) the profile of ``alpha`` and ``beta`` never falls by the
        critical amount towards infinity and the upper bound is reported as ``inf`` -- the data do not bound them
        -- while the mean churn rate, which the data do pin down, keeps a finite interval.

        Parameters
        ----------
        level : float
            Confidence level, in (0, 1).

        Returns
        -------
        pandas.DataFrame
            Indexed by ``alpha``, ``beta``, ``churn_rate``: ``estimate``, ``lower``, ``upper`` (``inf`` when the
            profile stays above the cut-off up to :data:`SBG_PROFILE_LIMIT` times the estimate) and ``bounded``.
            NaN bounds when the model was fitted on a bare survival curve without ``n_customers`` (the likelihood's
            scale, hence the interval's width, is unknown).
        """
        from scipy.optimize import brentq, minimize_scalar
        from scipy.stats import chi2

        if not 0.0 < float(level) < 1.0:
            raise InvalidInput(f"level must lie in (0, 1), got {level!r}", value=level)
        alpha, beta = self._alpha_beta()
        counts = getattr(self, "counts_", None)
        mean = alpha / (alpha + beta)
        names = ["alpha", "beta", "churn_rate"]
        if counts is None or getattr(self, "scaled_", False):
            return pd.DataFrame(
                {"estimate": [alpha, beta, mean], "lower": np.nan, "upper": np.nan, "bounded": False}, index=names
            )
        best = sbg_log_likelihood(alpha, beta, counts)
        cut = float(chi2.ppf(level, 1)) / 2.0

        def fall(z: float, profile: Any) -> float:
            return best - float(profile(z)) - cut  # > 0 outside the interval

        def profile_of(which: str) -> Any:
            def at(z: float) -> float:
                # z: log of the profiled parameter (or logit of the churn rate); the other one re-fitted on logs
                def neg(w: float) -> float:
                    if which == "alpha":
                        a, b = np.exp(z), np.exp(w)
                    elif which == "beta":
                        a, b = np.exp(w), np.exp(z)
                    else:  # churn rate m = a / (a + b), spread s = a + b
                        m, s = 1.0 / (1.0 + np.exp(-z)), np.exp(w)
                        a, b = m * s, (1.0 - m) * s
                    return -sbg_log_likelihood(float(a), float(b), counts)

                # the re-fitted parameter's window follows z: on a no-spread ridge (beta ~ alpha (1 - m) / m) a
                # fixed window cut the profile off and made an unbounded side look bounded
                top = 30.0 if which == "churn_rate" else max(30.0, z + 30.0)
                res = minimize_scalar(neg, bounds=(-12.0, top), method="bounded", options={"xatol": 1e-7})
                return -float(res.fun)

            return at

        rows = []
        for which, estimate in (("alpha", alpha), ("beta", beta), ("churn_rate", mean)):
            if which == "churn_rate":
                z0 = float(np.log(mean / (1.0 - mean)))
                span = 12.0
            else:
                z0 = float(np.log(estimate))
                span = float(np.log(SBG_PROFILE_LIMIT))
            profile = profile_of(which)
            bounds = []
            at_estimate = fall(z0, profile)
            if at_estimate >= 0:
                # the profile at the estimate is already below the cut-off: the fit is not the likelihood's maximum,
                # so there is no interval around it to find; said, not guessed
                warnings.warn(
                    f"no profile-likelihood interval for {which}: the profile at the estimate is "
                    f"{at_estimate + cut:.3g} below the fitted log-likelihood (the fit is not a maximum)",
                    ConvergenceWarning,
                    stacklevel=2,
                )
                bounds = [float("nan"), float("nan")]
            for direction in (-1.0, 1.0) if at_estimate < 0 else ():
                far = z0 + direction * span
                if fall(far, profile) <= 0:  # never falls by the cut-off: unbounded on this side
                    bounds.append(0.0 if direction < 0 else float("inf"))
                    continue
                # fall(z0) < 0 < fall(far): the bracket holds a root
                z = float(brentq(fall, min(z0, far), max(z0, far), args=(profile,), xtol=1e-6))
                bounds.append(1.0 / (1.0 + float(np.exp(-z))) if which == "churn_rate" else float(np.exp(z)))
            if which == "churn_rate":
                bounds = [min(max(b, 0.0), 1.0) if np.isfinite(b) else b for b in bounds]
            rows.append(
                {
                    "estimate": float(estimate),
                    "lower": bounds[0],
                    "upper": bounds[1],
                    "bounded": bool(np.isfinite(bounds[1]) and bounds[0] > 0),
                }
            )
        return pd.DataFrame(rows, index=names)

    def _params(self) -> pd.Series:
        if not hasattr(self, "params_"):
            raise NotFittedError("this ShiftedBetaGeometric is not fitted yet: call fit(alive) first")
        return self.params_

    def _alpha_beta(self) -> tuple[float, float]:
        alpha, beta = self._params().to_numpy()
        return float(alpha), float(beta)


def fit_sbg_by_cohort(
    frame: pd.DataFrame,
    *,
    cohort_col: str = "cohort",
    period_col: str = "period",
    alive_col: str = "alive",
    tol: float = 1e-8,
) -> pd.DataFrame:
    """Fit one :class:`ShiftedBetaGeometric` per cohort (e.g. per plan or acquisition month) of a tidy frame.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per cohort and period: the cohort label, the period ``0, 1, ..., m`` (consecutive, starting at
        0; cohorts may be observed for different numbers of periods) and the count of customers alive at its
        end.
    cohort_col, period_col, alive_col : str
        Column names.

    Returns
    -------
    pandas.DataFrame
        Indexed by cohort: ``alpha``, ``beta``, ``alpha_se``, ``beta_se``, ``log_likelihood``, ``n_customers``,
        ``n_periods``, ``converged`` and the 95 % profile-likelihood intervals
        (:meth:`ShiftedBetaGeometric.profile_interval`) ``alpha_lower``, ``alpha_upper``, ``beta_lower``,
        ``beta_upper``, ``churn_rate_lower``, ``churn_rate_upper`` (an upper bound of ``inf``: not bounded by the
        data).
    """
    frame = require_frame(frame, what="cohort frame")
    arrays = numeric_columns(
        frame, [period_col, alive_col], what="cohort frame", non_negative=[period_col, alive_col], integer=[period_col]
    )
    if cohort_col not in frame.columns:
        raise InvalidInput(f"cohort frame has no column {cohort_col!r}", column=cohort_col)
    tidy = pd.DataFrame(
        {"cohort": frame[cohort_col].to_numpy(), "period": arrays[period_col], "alive": arrays[alive_col]}
    )
    rows = []
    for cohort, group in tidy.groupby("cohort", sort=True):
        group = group.sort_values("period")
        periods = group["period"].to_numpy()
        if not np.array_equal(periods, np.arange(len(periods))):
            raise InvalidInput(
                f"cohort {cohort!r}: periods must run 0, 1, 2, ... without gaps or repeats, got "
                f"{periods.astype(int).tolist()}",
                column=period_col,
                value=cohort,
            )
        try:
            model = ShiftedBetaGeometric(tol=tol).fit(group["alive"].to_numpy())
        except InvalidInput as error:
            raise InvalidInput(f"cohort {cohort!r}: {error}", column=alive_col, value=cohort) from error
        profile = model.profile_interval()
        rows.append(
            {
                "cohort": cohort,
                "alpha": model.params_["alpha"],
                "beta": model.params_["beta"],
                "alpha_se": model.standard_errors_["alpha"],
                "beta_se": model.standard_errors_["beta"],
                "log_likelihood": model.log_likelihood_,
                "n_customers": model.n_customers_,
                "n_periods": model.n_periods_,
                "converged": model.converged_,
                **{
                    f"{name}_{side}": float(profile.at[name, side])
                    for name in ("alpha", "beta", "churn_rate")
                    for side in ("lower", "upper")
                },
            }
        )
    result = pd.DataFrame(rows).set_index("cohort")
    result.index.name = cohort_col
    return result


def _survival_counts(alive: Any, n_customers: float | None) -> tuple[FloatArray, bool]:
    """Turn the input of :meth:`ShiftedBetaGeometric.fit` into counts ``n_0..n_m``; say if they were scaled."""
    values = np.asarray(alive.to_numpy() if isinstance(alive, pd.Series) else alive, dtype=np.float64)
    if values.ndim != 1 or len(values) < 2:
        raise InvalidInput("alive must be a one-dimensional sequence of at least two periods", value=values.shape)
    if not np.all(np.isfinite(values)) or np.any(values < 0):
        raise InvalidInput("alive must hold finite, non-negative numbers")
    # No real cohort has at most one customer, so values all <= 1 are a survival curve.
    if values[0] <= 0:
        raise InvalidInput("the cohort is empty: alive[0] must be > 0", value=values[0])
    is_curve = bool(np.all(values <= 1.0))
    scaled = False
    if is_curve:
        if values[0] != 1.0:
            values = np.concatenate([[1.0], values])
        if n_customers is None:
            # Without a cohort size the likelihood is known only up to scale: the estimates are right, their
            # standard errors are not, so they are reported as NaN.
            scaled = True
            size = 1.0
        else:
            size = check_positive_number(n_customers, name="n_customers")
        values = values * size
    elif n_customers is not None and n_customers != values[0]:
        raise InvalidInput(
            f"n_customers ({n_customers!r}) disagrees with the cohort size alive[0] ({values[0]!r})",
            value=n_customers,
        )
    if values[0] <= 0:
        raise InvalidInput("the cohort is empty: alive[0] must be > 0", value=values[0])
    rises = np.flatnonzero(np.diff(values) > 1e-9 * values[0])
    if rises.size:
        t = int(rises[0]) + 1
        raise InvalidInput(
            f"alive must not increase: period {t} has {values[t]!r} after {values[t - 1]!r} (customers cannot "
            "come back in a survival table)",
            row=t,
            value=values[t],
        )
    return values, scaled


def sbg_log_likelihood(alpha: float, beta: float, counts: FloatArray) -> float:
    """The sBG log-likelihood (Fader & Hardie 2007, eq. 9) of survival counts ``n_0 .. n_m`` at ``alpha``, ``beta``."""
    return _sbg_log_likelihood_and_gradient(alpha, beta, counts)[0]


def _sbg_log_likelihood_and_gradient(alpha: float, beta: float, counts: FloatArray) -> tuple[float, FloatArray]:
    r"""The sBG log-likelihood of ``n_0 .. n_m`` and its gradient in ``(alpha, beta)``, from the retention rates.

    :math:`\ln S(t) = \sum_{j \le t} \ln r_j` with :math:`\ln r_j = -\ln(1 + \alpha/(\beta+j-1))` and
    :math:`P(T=t) = S(t-1)\,\alpha/(\alpha+\beta+t-1)` (Fader & Hardie 2007, eqs. 7-8): the same values as the Beta
    functions of eq. 9, but exact at any size of ``alpha`` and ``beta``. The Beta-function form takes differences of
    ``betaln`` values of order ``alpha + beta``, which lose all precision on the ridge a no-spread fit walks out on
    (at ``alpha``, ``beta`` ~ 1e11, 1e13 its rounding noise was worth +13 log-likelihood units and made a spurious
    maximum there).
    """
    m = len(counts) - 1
    shifted = beta + np.arange(m)  # beta + j - 1 for j = 1..m
    total = alpha + shifted  # alpha + beta + j - 1
    log_retention = -np.log1p(alpha / shifted)
    log_survive = np.concatenate([[0.0], np.cumsum(log_retention)])  # ln S(0..m)
    log_churn = log_survive[:-1] - np.log1p(shifted / alpha)  # ln P(T = t), t = 1..m
    churned = counts[:-1] - counts[1:]
    survivors = counts[-1]
    value = float(churned @ log_churn + survivors * log_survive[-1])
    # d ln r_j: -1/(alpha+beta+j-1) in alpha, alpha/((beta+j-1)(alpha+beta+j-1)) in beta (no difference of near
    # equal terms); d ln(alpha/(alpha+beta+t-1)): (beta+t-1)/(alpha(alpha+beta+t-1)) and -1/(alpha+beta+t-1)
    d_survive_alpha = np.concatenate([[0.0], np.cumsum(-1.0 / total)])
    d_survive_beta = np.concatenate([[0.0], np.cumsum(alpha / (shifted * total))])
    d_alpha = churned @ (d_survive_alpha[:-1] + shifted / (alpha * total)) + survivors * d_survive_alpha[-1]
    d_beta = churned @ (d_survive_beta[:-1] - 1.0 / total) + survivors * d_survive_beta[-1]
    return value, np.array([float(d_alpha), float(d_beta)])


def _log_survival(alpha: float, beta: float, periods: FloatArray) -> FloatArray:
    """ln S(t) at whole periods ``t`` as the sum of the log retention rates (exact where ``betaln`` is not)."""
    whole = periods.astype(np.int64)
    top = int(whole.max()) if whole.size else 0
    log_survive = np.concatenate([[0.0], np.cumsum(-np.log1p(alpha / (beta + np.arange(top))))])
    return np.asarray(log_survive[whole], dtype=np.float64)


def _hyp2f1_one(b: Any, c: Any, x: float) -> FloatArray:
    r""":math:`{}_2F_1(1, b; c; x)` for ``0 < b < c`` and ``0 < x < 1``: SciPy's, or where that is not finite (it
    gives NaN for some ``b``, ``c`` in the thousands or more, as a no-spread sBG fit has) the series
    :math:`\sum_k x^k \prod_{i<k} (b+i)/(c+i)` itself, summed until its tail (< last term x/(1-x)) is negligible."""
    values = np.asarray(hyp2f1(1.0, b, c, x), dtype=np.float64)
    if np.all(np.isfinite(values)):
        return values
    values = np.array(values, dtype=np.float64, ndmin=1)
    bs, cs = np.broadcast_to(b, values.shape).ravel(), np.broadcast_to(c, values.shape).ravel()
    flat = values.ravel()
    terms = int(np.ceil(np.log(1e-17 * (1.0 - x)) / np.log(x))) + 1
    steps = np.arange(terms - 1, dtype=np.float64)
    for i in np.flatnonzero(~np.isfinite(flat)):
        ratios = x * (bs[i] + steps) / (cs[i] + steps)
        flat[i] = 1.0 + float(np.sum(np.cumprod(ratios)))
    return flat.reshape(np.shape(np.asarray(hyp2f1(1.0, b, c, x))))


def _periods(t: Any, *, minimum: float) -> FloatArray:
    periods = np.asarray(t, dtype=np.float64)
    if np.any(~np.isfinite(periods)) or np.any(periods < minimum):
        raise InvalidInput(f"periods must be finite and >= {minimum:g}", value=t)
    return periods


#: ``alpha + beta`` above which the fitted Beta has (almost) no spread: every customer of the cohort would churn
#: with the same probability, and the likelihood is flat along ``alpha + beta`` at fixed ``alpha / (alpha + beta)``
#: (the optimiser walks out along that ridge, which is how 226,879 / 14.6 M are reached).
SBG_NO_SPREAD = 1_000.0
#: how far (as a multiple of the estimate, either way) a profile interval is searched before a side is called unbounded
SBG_PROFILE_LIMIT = 1e6
#: a standard error above this multiple of its estimate: the data do not pin the parameter down
SBG_LOOSE_SE = 1.0


def sbg_fit_problems(
    alpha: float, beta: float, *, alpha_se: float | None = None, beta_se: float | None = None
) -> list[str]:
    """Why an sBG fit should not be read as its two numbers, as codes (empty when nothing is wrong).

    ``no_spread``: ``alpha + beta`` beyond :data:`SBG_NO_SPREAD` -- the fit degenerated to one churn rate for every
    customer (a plain geometric model); the parameters are not identified, only their ratio, so the LTV it gives
    is the constant-churn LTV and says nothing about heterogeneity. ``at_bound``: a parameter at the edge of what
    the optimiser can represent (below 1e-4). ``loose``: a standard error larger than its estimate, or not finite
    when the fit has one.
    """
    problems: list[str] = []
    a, b = float(alpha), float(beta)
    if not (np.isfinite(a) and np.isfinite(b)) or a + b > SBG_NO_SPREAD:
        problems.append("no_spread")
    if min(a, b) < 1e-4:
        problems.append("at_bound")
    for value, se in ((a, alpha_se), (b, beta_se)):
        if se is None or np.isnan(float(se)):
            continue  # fitted on a bare survival curve: no standard errors to judge
        if np.isinf(float(se)) or float(se) > SBG_LOOSE_SE * abs(value):
            problems.append("loose")
            break
    return problems
