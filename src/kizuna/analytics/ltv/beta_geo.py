"""The BG/NBD model of repeat purchasing (Fader, Hardie & Lee 2005, "Counting your customers the easy way")."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

from kizuna.analytics.ltv._base import FloatArray, dot, softplus_and_sigmoid
from kizuna.analytics.ltv._purchase_model import PurchaseModel, weighted_mean

__all__ = ["BetaGeoNBD"]


class _FitData(NamedTuple):
    """The fitting data, factored so that each distinct value is transformed once per evaluation.

    Real customer bases have few distinct frequencies, and recency and age in whole days take at most a few
    thousand values, so the logarithms and gamma functions run over those and are gathered back by index.
    """

    x: FloatArray
    weights: FloatArray
    x_unique: FloatArray
    x_index: npt.NDArray[np.intp]
    x_weight: FloatArray  # summed weight per distinct x
    age_unique: FloatArray
    age_index: npt.NDArray[np.intp]
    tx_unique: FloatArray
    tx_index: npt.NDArray[np.intp]


def _fit_data(x: FloatArray, t_x: FloatArray, age: FloatArray, weights: FloatArray) -> _FitData:
    x_unique, x_index = np.unique(x, return_inverse=True)
    age_unique, age_index = np.unique(age, return_inverse=True)
    tx_unique, tx_index = np.unique(t_x, return_inverse=True)
    x_weight = np.bincount(x_index, weights=weights, minlength=len(x_unique)).astype(np.float64)
    return _FitData(x, weights, x_unique, x_index, x_weight, age_unique, age_index, tx_unique, tx_index)


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
        return _fit_data(x, t_x, age, weights)

    def _initial_params(self, x: FloatArray, t_x: FloatArray, age: FloatArray, weights: FloatArray) -> FloatArray:
        # r = 1 and alpha = T / (x + 1) put the mean purchase rate at the sample's.
        alpha = weighted_mean(age, weights) / (weighted_mean(x, weights) + 1.0)
        return np.array([1.0, max(alpha, 1e-3), 1.0, 1.0])

    def _negative_log_likelihood(self, params: FloatArray, data: _FitData) -> tuple[float, FloatArray]:
        r, alpha, a, b = (float(v) for v in params)
        x, w, xu, xi, xw, age_u, age_i, tx_u, tx_i = data
        repeat_u = xu > 0

        # Terms in x alone enter the sums through the weight of each distinct x.
        ll_x = gammaln(r + xu) - gammaln(r) + r * np.log(alpha) + betaln(a, b + xu) - betaln(a, b)
        b_x_1 = np.where(repeat_u, b + xu - 1.0, 1.0)
        with np.errstate(divide="ignore"):
            log_odds_x = np.where(repeat_u, np.log(a) - np.log(b_x_1), -np.inf)  # ln[a / (b + x - 1)]
        inv_b_x_1 = np.where(repeat_u, 1.0 / b_x_1, 0.0)
        psi_ab_x = digamma(a + b + xu)

        log_alpha_T = np.log(alpha + age_u)[age_i]
        log_alpha_tx = np.log(alpha + tx_u)[tx_i]
        r_x = r + x
        # ln L = ll_x - (r+x) ln(alpha+T) + softplus(d), d = ln of the dropped-out over the still-active branch;
        # sigmoid(d) is the posterior weight of "dropped out after t_x" (0 when x = 0).
        d = log_odds_x[xi] + r_x * (log_alpha_T - log_alpha_tx)
        softplus, dropped = softplus_and_sigmoid(d)
        w_dropped = w * dropped

        value = dot(xw, ll_x) + dot(w, softplus) - dot(w * r_x, log_alpha_T)
        d_r = (
            dot(xw, digamma(r + xu) - digamma(r) + np.log(alpha))
            - dot(w, log_alpha_T)
            - dot(w_dropped, log_alpha_tx - log_alpha_T)
        )
        inv_T = (1.0 / (alpha + age_u))[age_i]
        inv_tx = (1.0 / (alpha + tx_u))[tx_i]
        d_alpha = r / alpha * xw.sum() - dot(w * r_x, inv_T + dropped * (inv_tx - inv_T))
        d_a = dot(xw, digamma(a + b) - psi_ab_x) + w_dropped.sum() / a
        d_b = dot(xw, digamma(b + xu) - digamma(b) + digamma(a + b) - psi_ab_x) - dot(w_dropped, inv_b_x_1[xi])
        return -float(value), -np.array([d_r, d_alpha, d_a, d_b])

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
        with np.errstate(invalid="ignore", over="ignore"):
            expected = (a + b + x - 1.0) / (a - 1.0) * (1.0 - survivor_power * hyp)
        broken = ~np.isfinite(expected)
        if np.any(broken):
            # Where a and b are huge (near-certain survival, as in regular billing), 2F1 overflows; integrate instead.
            shape = np.broadcast_shapes(np.shape(t), np.shape(x), np.shape(age))
            t_b, x_b, age_b = (np.broadcast_to(v, shape) for v in (t, x, age))
            expected = np.array(np.broadcast_to(expected, shape), dtype=np.float64)
            expected[broken] = _purchases_by_quadrature(r, alpha, a, b, t_b[broken], x_b[broken], age_b[broken])
        return np.asarray(expected * self._probability_alive(params, x, t_x, age), dtype=np.float64)

    def _new_customer_purchases(self, params: FloatArray, t: FloatArray) -> FloatArray:
        r"""FHL (2005) eq. 9: :math:`E[X(t)]`, the conditional expectation at :math:`x = t_x = T = 0`."""
        zeros = np.zeros_like(t)
        return self._conditional_purchases(params, t, zeros, zeros, zeros)


def _purchases_by_quadrature(
    r: float, alpha: float, a: float, b: float, t: FloatArray, x: FloatArray, age: FloatArray, nodes: int = 64
) -> FloatArray:
    r"""FHL (2005) eq. 10 without the alive factor, as an integral over the posterior of the dropout probability.

    Given alive, :math:`\lambda \sim \Gamma(r+x, \alpha+T)` and :math:`p \sim B(a, b+x)`, and
    :math:`E[Y(t)\mid\lambda,p] = (1 - e^{-\lambda p t})/p`, so
    :math:`E[Y(t)] = E_p\bigl[(1 - (\frac{\alpha+T}{\alpha+T+pt})^{r+x}) / p\bigr]`, integrated by Gauss-Legendre
    nodes on the quantiles of :math:`B(a, b+x)` (exact for the smooth integrand to many digits).
    """
    from scipy.special import betaincinv

    u, w = np.polynomial.legendre.leggauss(nodes)
    u, w = (u + 1.0) / 2.0, w / 2.0
    out = np.empty(len(t), dtype=np.float64)
    for i, (ti, xi, Ti) in enumerate(zip(t, x, age, strict=True)):
        p = betaincinv(a, b + xi, u)
        gain = -np.expm1((r + xi) * (np.log(alpha + Ti) - np.log(alpha + Ti + p * ti)))
        out[i] = float(np.dot(w, gain / p))
    return out


def _away_from_one(a: float) -> float:
    # The (a - 1) in numerator and denominator cancel in the limit a -> 1; a nudge of 1e-9 changes the value by
    # about that relative amount and avoids 0/0.
    return a if abs(a - 1.0) > 1e-9 else 1.0 + 1e-9
