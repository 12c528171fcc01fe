"""The Pareto/NBD model of repeat purchasing (Schmittlein, Morrison & Colombo 1987)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.special import expit, gammaln, hyp2f1

from kizuna.analytics.ltv._base import FloatArray, dot, numerical_gradient
from kizuna.analytics.ltv._purchase_model import PurchaseModel, weighted_mean

__all__ = ["ParetoNBD"]


class _FitData(NamedTuple):
    x: FloatArray
    t_x: FloatArray
    age: FloatArray
    weights: FloatArray


class _LikelihoodParts(NamedTuple):
    head: FloatArray  # ln[Gamma(r+x) alpha^r beta^s / Gamma(r)]
    alive: FloatArray  # ln[(alpha+T)^-(r+x) (beta+T)^-s]: still active at T
    dropped: FloatArray  # ln[s/(r+s+x) A_0]: became inactive in (t_x, T]


class ParetoNBD(PurchaseModel):
    r"""Pareto/NBD model: Poisson purchasing and exponential lifetimes, both gamma-heterogeneous.

    While active a customer buys at rate :math:`\lambda \sim \mathrm{Gamma}(r, \alpha)`; their unobserved
    lifetime is exponential with rate :math:`\mu \sim \mathrm{Gamma}(s, \beta)`. Schmittlein, Morrison & Colombo
    (1987), *Management Science* 33(1), 1-24; the likelihood and conditional expectations are those of Fader &
    Hardie (2005), "A Note on Deriving the Pareto/NBD Model and Related Expressions", eqs. 22, 18 and 19
    (following their notation, with :math:`\alpha \ge \beta` and :math:`\alpha < \beta` cases):

    .. math::

        L = \frac{\Gamma(r+x)\alpha^r\beta^s}{\Gamma(r)}\left[\frac{1}{(\alpha+T)^{r+x}(\beta+T)^s}
            + \frac{s}{r+s+x} A_0\right],\qquad
        A_0 = F(t_x) - F(T),

    .. math::

        F(y) = \begin{cases}
            {}_2F_1\!\left(r+s+x, s+1; r+s+x+1; \frac{\alpha-\beta}{\alpha+y}\right) / (\alpha+y)^{r+s+x}
                & \alpha \ge \beta \\
            {}_2F_1\!\left(r+s+x, r+x; r+s+x+1; \frac{\beta-\alpha}{\beta+y}\right) / (\beta+y)^{r+s+x}
                & \alpha < \beta
        \end{cases}

    Numerics: the hypergeometric argument is always in ``[0, 1)``; :math:`\alpha = \beta` needs no special
    case (the argument is 0 and :math:`{}_2F_1 = 1`); every power is kept as a logarithm, ``A_0`` is formed as
    :math:`F(t_x)(1 - e^{\ln F(T) - \ln F(t_x)})` with ``expm1``, and the two branches of the bracket are
    joined with ``logaddexp``, so heavy buyers (large ``x``) neither underflow nor lose precision. The
    gradient is taken by central differences (derivatives of :math:`{}_2F_1` in its parameters have no
    practical closed form); the fit stays fast because identical customers are collapsed first.

    Parameters
    ----------
    frequency_col, recency_col, T_col, weights_col, tol, max_iter
        See :class:`~kizuna.analytics.ltv._purchase_model.PurchaseModel`.

    Attributes
    ----------
    params_ : pandas.Series
        ``r``, ``alpha``, ``s``, ``beta``; ``alpha`` and ``beta`` are in the time unit of recency and T.
    standard_errors_, covariance_, log_likelihood_
        As for :class:`~kizuna.analytics.ltv.BetaGeoNBD`.
    """

    param_names = ("r", "alpha", "s", "beta")
    analytic_gradient = False

    def __init__(
        self,
        *,
        frequency_col: str = "frequency",
        recency_col: str = "recency",
        T_col: str = "T",
        weights_col: str | None = None,
        tol: float = 1e-7,
        max_iter: int = 1000,
    ) -> None:
        super().__init__(
            frequency_col=frequency_col,
            recency_col=recency_col,
            T_col=T_col,
            weights_col=weights_col,
            tol=tol,
            max_iter=max_iter,
        )

    def _prepare(self, x: FloatArray, t_x: FloatArray, age: FloatArray, weights: FloatArray) -> _FitData:
        return _FitData(x, t_x, age, weights)

    def _initial_params(self, x: FloatArray, t_x: FloatArray, age: FloatArray, weights: FloatArray) -> FloatArray:
        mean_age = weighted_mean(age, weights)
        alpha = mean_age / (weighted_mean(x, weights) + 1.0)
        return np.array([1.0, max(alpha, 1e-3), 1.0, max(mean_age, 1e-3)])

    def _negative_log_likelihood(self, params: FloatArray, data: _FitData) -> tuple[float, FloatArray]:
        x, t_x, age, w = data

        def total(p: FloatArray) -> float:
            parts = _likelihood_parts(p, x, t_x, age)
            return -dot(w, parts.head + np.logaddexp(parts.alive, parts.dropped))

        return total(params), numerical_gradient(total, params)

    def _probability_alive(self, params: FloatArray, x: FloatArray, t_x: FloatArray, age: FloatArray) -> FloatArray:
        r"""Fader & Hardie (2005 note) eq. 18: the "still active" share of the likelihood bracket."""
        parts = _likelihood_parts(params, x, t_x, age)
        return np.asarray(expit(parts.alive - parts.dropped), dtype=np.float64)

    def _conditional_purchases(
        self, params: FloatArray, t: FloatArray, x: FloatArray, t_x: FloatArray, age: FloatArray
    ) -> FloatArray:
        r"""Fader & Hardie (2005 note) eq. 19.

        .. math::

            E[Y(t)\mid x, t_x, T] = \frac{(r+x)(\beta+T)}{(\alpha+T)(s-1)}
            \left[1 - \left(\frac{\beta+T}{\beta+T+t}\right)^{s-1}\right] P(\text{alive})

        with the bracket over :math:`s-1` taken by ``expm1`` so :math:`s = 1` yields its limit
        :math:`\ln((\beta+T+t)/(\beta+T))`.
        """
        r, alpha, s, beta = params
        alive = self._probability_alive(params, x, t_x, age)
        return np.asarray(
            (r + x) * (beta + age) / (alpha + age) * _lifetime_factor(s, beta + age, t) * alive, dtype=np.float64
        )

    def _new_customer_purchases(self, params: FloatArray, t: FloatArray) -> FloatArray:
        r"""Fader & Hardie (2005 note) eq. 17: :math:`E[X(t)] = \frac{r\beta}{\alpha(s-1)}[1 - (\frac{\beta}
        {\beta+t})^{s-1}]`."""
        r, alpha, s, beta = params
        return np.asarray(r * beta / alpha * _lifetime_factor(float(s), np.full_like(t, beta), t), dtype=np.float64)


def _likelihood_parts(params: FloatArray, x: FloatArray, t_x: FloatArray, age: FloatArray) -> _LikelihoodParts:
    r, alpha, s, beta = (float(v) for v in params)
    rsx = r + s + x
    head = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    alive = -(r + x) * np.log(alpha + age) - s * np.log(beta + age)
    second: float | FloatArray
    if alpha >= beta:
        larger, second, gap = alpha, s + 1.0, alpha - beta
    else:
        larger, second, gap = beta, r + x, beta - alpha
    with np.errstate(divide="ignore", invalid="ignore"):
        log_f_tx = np.log(hyp2f1(rsx, second, rsx + 1.0, gap / (larger + t_x))) - rsx * np.log(larger + t_x)
        log_f_age = np.log(hyp2f1(rsx, second, rsx + 1.0, gap / (larger + age))) - rsx * np.log(larger + age)
        # F is decreasing, so A_0 = F(t_x) - F(T) >= 0; it is exactly 0 when t_x == T.
        log_a0 = log_f_tx + np.log(-np.expm1(np.minimum(log_f_age - log_f_tx, 0.0)))
    dropped = np.log(s) - np.log(rsx) + log_a0
    return _LikelihoodParts(head, alive, dropped)


def _lifetime_factor(s: float, start: FloatArray, t: FloatArray) -> FloatArray:
    r""":math:`[1 - (\text{start}/(\text{start}+t))^{s-1}] / (s-1)`, continuous through :math:`s = 1`."""
    log_ratio = np.log(start) - np.log(start + t)
    if abs(s - 1.0) < 1e-9:
        return np.asarray(-log_ratio, dtype=np.float64)
    return np.asarray(-np.expm1((s - 1.0) * log_ratio) / (s - 1.0), dtype=np.float64)
