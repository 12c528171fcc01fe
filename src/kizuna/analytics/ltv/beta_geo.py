"""The BG/NBD model of repeat purchasing (Fader, Hardie & Lee 2005, "Counting your customers the easy way")."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

from kizuna.analytics.ltv._base import FloatArray
from kizuna.analytics.ltv._purchase_model import PurchaseModel, weighted_mean

__all__ = ["BetaGeoNBD"]


class _FitData(NamedTuple):
    x: FloatArray
    t_x: FloatArray
    age: FloatArray
    weights: FloatArray
    repeat: FloatArray  # 1.0 where x > 0
    x_unique: FloatArray
    x_index: npt.NDArray[np.intp]


class BetaGeoNBD(PurchaseModel):
    r"""Beta-geometric / negative binomial distribution model of non-contractual repeat purchasing.

    While active, a customer buys as a Poisson process with rate :math:`\lambda \sim \mathrm{Gamma}(r, \alpha)`;
    after every purchase they become inactive with probability :math:`p \sim \mathrm{Beta}(a, b)`.
    Fader, Hardie & Lee (2005), *Marketing Science* 24(2), 275-284.

    The individual log-likelihood (FHL 2005, eq. 6) is evaluated as

    .. math::

        \ln L = \ln\frac{\Gamma(r+x)\,\alpha^r}{\Gamma(r)} + \ln\frac{B(a, b+x)}{B(a, b)}
        + \ln\!\left[(\alpha+T)^{-(r+x)} + \delta_{x>0}\,\frac{a}{b+x-1}\,(\alpha+t_x)^{-(r+x)}\right]

    with the last bracket taken by ``logaddexp`` so no power under- or overflows, and an analytic gradient.

    Parameters
    ----------
    frequency_col, recency_col, T_col, weights_col, tol, max_iter
        See :class:`~kizuna.analytics.ltv._purchase_model.PurchaseModel`.

    Attributes
    ----------
    params_ : pandas.Series
        ``r``, ``alpha``, ``a``, ``b``; ``alpha`` is in the time unit of recency and T.
    standard_errors_ : pandas.Series
        From the inverse of the observed information (Hessian of the negative log-likelihood).
    covariance_ : pandas.DataFrame
        The inverse Hessian itself.
    log_likelihood_ : float
        Maximised log-likelihood, summed over customers.

    Examples
    --------
    >>> model = BetaGeoNBD().fit(summary)  # doctest: +SKIP
    >>> model.predict_purchases(summary, t=52)  # doctest: +SKIP
    """

    param_names = ("r", "alpha", "a", "b")

    def _prepare(self, x: FloatArray, t_x: FloatArray, age: FloatArray, weights: FloatArray) -> _FitData:
        # Gamma-function terms depend on x alone; customer bases have few distinct frequencies.
        x_unique, x_index = np.unique(x, return_inverse=True)
        return _FitData(x, t_x, age, weights, (x > 0).astype(np.float64), x_unique, x_index)

    def _initial_params(self, x: FloatArray, t_x: FloatArray, age: FloatArray, weights: FloatArray) -> FloatArray:
        # r = 1 and alpha = T / (x + 1) put the mean purchase rate at the sample's.
        alpha = weighted_mean(age, weights) / (weighted_mean(x, weights) + 1.0)
        return np.array([1.0, max(alpha, 1e-3), 1.0, 1.0])

    def _negative_log_likelihood(self, params: FloatArray, data: _FitData) -> tuple[float, FloatArray]:
        r, alpha, a, b = (float(v) for v in params)
        x, t_x, age, w, repeat, xu, xi = data

        # Terms in x only: evaluated once per distinct frequency.
        log_gamma_ratio = (gammaln(r + xu) - gammaln(r))[xi]
        log_beta_ratio = (betaln(a, b + xu) - betaln(a, b))[xi]
        psi_r_x = digamma(r + xu)[xi]
        psi_ab_x = digamma(a + b + xu)[xi]
        psi_b_x = digamma(b + xu)[xi]
        b_x_1 = np.where(repeat > 0, b + x - 1.0, 1.0)

        log_alpha_T = np.log(alpha + age)
        log_alpha_tx = np.log(alpha + t_x)
        u_alive = -(r + x) * log_alpha_T
        u_dropped = np.where(repeat > 0, np.log(a) - np.log(b_x_1) - (r + x) * log_alpha_tx, -np.inf)
        log_bracket = np.logaddexp(u_alive, u_dropped)
        share_dropped = np.exp(u_dropped - log_bracket)  # weight of the "dropped out after t_x" branch
        share_alive = 1.0 - share_dropped

        log_lik = log_gamma_ratio + r * np.log(alpha) + log_beta_ratio + log_bracket

        d_r = psi_r_x - digamma(r) + np.log(alpha) - share_alive * log_alpha_T - share_dropped * log_alpha_tx
        d_alpha = r / alpha - (r + x) * (share_alive / (alpha + age) + share_dropped / (alpha + t_x))
        d_a = digamma(a + b) - psi_ab_x + share_dropped / a
        d_b = psi_b_x - digamma(b) + digamma(a + b) - psi_ab_x - share_dropped / b_x_1

        gradient = np.array([w @ d_r, w @ d_alpha, w @ d_a, w @ d_b])
        return -float(w @ log_lik), -gradient

    def _probability_alive(self, params: FloatArray, x: FloatArray, t_x: FloatArray, age: FloatArray) -> FloatArray:
        r"""FHL (2005) eq. 13: :math:`1 / (1 + \delta_{x>0}\,\frac{a}{b+x-1}(\frac{\alpha+T}{\alpha+t_x})^{r+x})`."""
        r, alpha, a, b = params
        repeat = x > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            log_odds_dropped = (
                np.log(a)
                - np.log(np.where(repeat, b + x - 1.0, 1.0))
                + (r + x) * (np.log(alpha + age) - np.log(alpha + t_x))
            )
        return np.where(repeat, expit(-log_odds_dropped), 1.0)

    def _conditional_purchases(
        self, params: FloatArray, t: FloatArray, x: FloatArray, t_x: FloatArray, age: FloatArray
    ) -> FloatArray:
        r"""FHL (2005) eq. 10, after Euler's transformation of its hypergeometric term.

        .. math::

            E[Y(t)\mid x, t_x, T] = \frac{a+b+x-1}{a-1}\left[1 - \left(\frac{\alpha+T}{\alpha+T+t}\right)^{a-1}
            {}_2F_1\!\left(a+b-1-r,\, a-1;\, a+b+x-1;\, \frac{t}{\alpha+T+t}\right)\right] P(\text{alive})

        is equal to the printed form but keeps every factor of order one for any ``x``, where the printed
        :math:`((\alpha+T)/(\alpha+T+t))^{r+x}\,{}_2F_1(r+x, b+x; \cdot)` is a product of a vanishing and an
        exploding number.
        """
        r, alpha, a, b = params
        a = _away_from_one(a)
        z = t / (alpha + age + t)
        hyp = hyp2f1(a + b - 1.0 - r, a - 1.0, a + b + x - 1.0, z)
        survivor_power = np.exp((a - 1.0) * np.log1p(-z))
        expected = (a + b + x - 1.0) / (a - 1.0) * (1.0 - survivor_power * hyp)
        return np.asarray(expected * self._probability_alive(params, x, t_x, age), dtype=np.float64)

    def _new_customer_purchases(self, params: FloatArray, t: FloatArray) -> FloatArray:
        r"""FHL (2005) eq. 9: :math:`E[X(t)]`, the conditional expectation at :math:`x = t_x = T = 0`."""
        zeros = np.zeros_like(t)
        return self._conditional_purchases(params, t, zeros, zeros, zeros)


def _away_from_one(a: float) -> float:
    # The (a - 1) in numerator and denominator cancel in the limit a -> 1; a nudge of 1e-9 changes the value by
    # about that relative amount and avoids 0/0.
    return a if abs(a - 1.0) > 1e-9 else 1.0 + 1e-9
