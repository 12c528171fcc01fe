"""Machinery shared by the lifetime-value models: maximum likelihood on log-parameters, Hessian standard errors,
de-duplication of identical customers, and batched scoring.

Every model supplies one function, ``negative_log_likelihood(params) -> (value, gradient)``, on its natural
parameters and summed over (weighted) customers. This module optimises it over ``log(params)`` so the positivity
constraints vanish, then differentiates the gradient once more numerically for the observed information matrix.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.optimize import minimize

from kizuna.analytics.ltv._validation import ConvergenceWarning, InvalidInput

FloatArray = npt.NDArray[np.float64]
#: ``params -> (negative log-likelihood, its gradient)``, both summed over customers.
Objective = Callable[[FloatArray], tuple[float, FloatArray]]

DEFAULT_BATCH_SIZE = 100_000

# A log-parameter outside this box means exp() of it is beyond any sensible customer-base model; the box keeps the
# optimiser's line search from evaluating at overflow.
_LOG_PARAM_BOUND = 30.0


class NotFittedError(InvalidInput, AttributeError):
    """A ``predict_*`` method was called before ``fit``."""


@dataclass(frozen=True)
class MaximumLikelihood:
    """The outcome of :func:`maximise_likelihood`."""

    params: FloatArray
    log_likelihood: float
    standard_errors: FloatArray
    covariance: FloatArray
    n_iter: int
    converged: bool


def maximise_likelihood(
    objective: Objective,
    initial: Sequence[float] | FloatArray,
    *,
    n_observations: float,
    names: Sequence[str],
    tol: float,
    max_iter: int,
    analytic_gradient: bool = True,
) -> MaximumLikelihood:
    r"""Maximise a likelihood over positive parameters and derive standard errors from the inverse Hessian.

    The search runs L-BFGS-B on ``z = log(params)`` with the per-customer mean objective (so the tolerances do
    not depend on the size of the customer base). The Hessian on the log scale is then taken once by central
    differences of the gradient; it serves both a polishing Newton step (repeated, with a fresh Hessian, only
    if the step was not negligible) and the standard errors. With :math:`\theta = e^z`,

    .. math:: H_\theta = D^{-1}\,(H_z - \operatorname{diag}(g_z))\,D^{-1},\qquad D = \operatorname{diag}(\theta)

    is the Hessian of the summed negative log-likelihood in the natural parameters (the observed
    information) and the standard errors are :math:`\sqrt{\operatorname{diag}(H_\theta^{-1})}`.

    When ``analytic_gradient`` is false (the objective's gradient is itself a finite difference), the Hessian
    is taken from second differences of the objective's values instead, with a larger step: differencing a
    differenced gradient would amplify the rounding noise of special functions into the standard errors.

    Warns
    -----
    ConvergenceWarning
        If the gradient at the returned point is not small, or the Hessian is not positive definite (then the
        standard errors are NaN).
    """
    scale = 1.0 / float(n_observations)

    def on_log_scale(z: FloatArray) -> tuple[float, FloatArray]:
        params = np.exp(z)
        with np.errstate(all="ignore"):
            value, gradient = objective(params)
        if not np.isfinite(value) or not np.all(np.isfinite(gradient)):
            # Tell the line search this point is unacceptable without poisoning its arithmetic with NaN.
            return 1e300, np.zeros_like(z)
        return value * scale, np.asarray(gradient) * params * scale

    z0 = np.log(np.asarray(initial, dtype=np.float64))
    result = minimize(
        on_log_scale,
        z0,
        jac=True,
        method="L-BFGS-B",
        bounds=[(-_LOG_PARAM_BOUND, _LOG_PARAM_BOUND)] * len(z0),
        options={"maxiter": max_iter, "ftol": tol * 1e-3, "gtol": tol},
    )
    z = np.asarray(result.x, dtype=np.float64)
    value, gradient = on_log_scale(z)

    def hessian_at(point: FloatArray) -> FloatArray:
        if analytic_gradient:
            return log_scale_hessian(on_log_scale, point)
        return log_scale_hessian_from_values(lambda z: on_log_scale(z)[0], point)

    hessian = hessian_at(z)
    for _ in range(3):
        try:
            step = np.linalg.solve(hessian, gradient)
        except np.linalg.LinAlgError:
            break
        candidate = np.clip(z - step, -_LOG_PARAM_BOUND, _LOG_PARAM_BOUND)
        candidate_value, candidate_gradient = on_log_scale(candidate)
        if not candidate_value <= value:
            break
        z, value, gradient = candidate, candidate_value, candidate_gradient
        if np.max(np.abs(step)) < 1e-5:
            break  # the Hessian from before the step is still accurate to ~1e-5 relative
        hessian = hessian_at(z)

    params = np.exp(z)
    converged = bool(np.max(np.abs(gradient)) < max(tol, 1e-6) * 100)
    if not converged:
        warnings.warn(
            f"maximum likelihood did not converge for {', '.join(names)} "
            f"(largest log-scale gradient {np.max(np.abs(gradient)):.2e}; optimiser said: {result.message})",
            ConvergenceWarning,
            stacklevel=3,
        )
    natural = (hessian - np.diag(gradient)) / np.outer(params, params) / scale
    covariance, standard_errors = invert_information(natural, names=names)
    return MaximumLikelihood(
        params=params,
        log_likelihood=-value / scale,
        standard_errors=standard_errors,
        covariance=covariance,
        n_iter=int(result.nit),
        converged=converged,
    )


def log_scale_hessian(on_log_scale: Objective, z: FloatArray) -> FloatArray:
    """Central-difference Hessian of a log-scale objective from its gradient (2k gradient evaluations)."""
    k = len(z)
    hessian = np.empty((k, k))
    step = 1e-5
    for j in range(k):
        shift = np.zeros(k)
        shift[j] = step
        hessian[:, j] = (on_log_scale(z + shift)[1] - on_log_scale(z - shift)[1]) / (2 * step)
    return 0.5 * (hessian + hessian.T)


def log_scale_hessian_from_values(value: Callable[[FloatArray], float], z: FloatArray) -> FloatArray:
    """Hessian by the four-point second difference of the objective's values, step 3e-4 on the log scale."""
    k = len(z)
    step = 3e-4
    hessian = np.empty((k, k))
    for i in range(k):
        for j in range(i, k):
            shift_i, shift_j = np.zeros(k), np.zeros(k)
            shift_i[i] = step
            shift_j[j] = step
            hessian[i, j] = hessian[j, i] = (
                value(z + shift_i + shift_j)
                - value(z + shift_i - shift_j)
                - value(z - shift_i + shift_j)
                + value(z - shift_i - shift_j)
            ) / (4 * step * step)
    return hessian


def invert_information(hessian: FloatArray, *, names: Sequence[str]) -> tuple[FloatArray, FloatArray]:
    """Covariance matrix and standard errors from the Hessian of the negative log-likelihood."""
    k = len(hessian)
    try:
        np.linalg.cholesky(hessian)
        covariance = np.linalg.inv(hessian)
    except np.linalg.LinAlgError:
        warnings.warn(
            f"the Hessian of the log-likelihood in {', '.join(names)} is not positive definite at the estimate; "
            "standard errors are NaN (is the model identified on this data?)",
            ConvergenceWarning,
            stacklevel=4,
        )
        return np.full((k, k), np.nan), np.full(k, np.nan)
    return np.asarray(covariance, dtype=np.float64), np.sqrt(np.diag(covariance)).astype(np.float64)


def numerical_gradient(function: Callable[[FloatArray], float], params: FloatArray) -> FloatArray:
    """Central-difference gradient with relative steps, for likelihoods without a practical analytic one."""
    gradient = np.empty_like(params)
    for j in range(len(params)):
        step = 1e-6 * params[j]
        up, down = params.copy(), params.copy()
        up[j] += step
        down[j] -= step
        gradient[j] = (function(up) - function(down)) / (2 * step)
    return gradient


def collapse_identical_rows(
    columns: dict[str, FloatArray], weights: FloatArray | None = None
) -> tuple[dict[str, FloatArray], FloatArray]:
    """Merge customers with identical values in every column, summing their weights.

    The likelihood of a customer depends only on these columns, so one evaluation per distinct row times its
    count is exact. On real customer bases (integer-day recency and age, mostly small frequencies) this removes
    most of the rows.
    """
    frame = pd.DataFrame(columns, copy=False)
    frame["__weight"] = 1.0 if weights is None else weights
    grouped = frame.groupby(list(columns), sort=False, observed=True)["__weight"].sum()
    keys = grouped.index.to_frame(index=False)
    collapsed = {name: keys[name].to_numpy(dtype=np.float64) for name in columns}
    return collapsed, grouped.to_numpy(dtype=np.float64)


def batched(score: Callable[[slice], FloatArray], n_rows: int, batch_size: int | None) -> FloatArray:
    """Run ``score`` over consecutive row slices of at most ``batch_size`` rows and join the results.

    The output is allocated once; each batch's temporaries (hypergeometric terms and the like) are freed before
    the next, so peak memory grows with ``batch_size``, not with the number of customers.
    """
    size = DEFAULT_BATCH_SIZE if batch_size is None else int(batch_size)
    if size < 1:
        raise InvalidInput(f"batch_size must be a positive integer, got {batch_size!r}", value=batch_size)
    out = np.empty(n_rows, dtype=np.float64)
    for start in range(0, n_rows, size):
        rows = slice(start, min(start + size, n_rows))
        out[rows] = score(rows)
    return out


def broadcast_horizon(t: Any, n_rows: int, *, name: str = "t") -> FloatArray:
    """Turn a scalar or per-customer horizon into a float array of length ``n_rows``, checking it is >= 0."""
    horizon = np.asarray(t, dtype=np.float64)
    if horizon.ndim == 0:
        horizon = np.full(n_rows, float(horizon))
    elif horizon.shape != (n_rows,):
        raise InvalidInput(
            f"{name} must be a scalar or have one value per customer ({n_rows}), got shape {horizon.shape}",
            value=horizon.shape,
        )
    if not np.all(np.isfinite(horizon)) or np.any(horizon < 0):
        raise InvalidInput(f"{name} must be finite and >= 0", value=name)
    return horizon


def dot(weights: FloatArray, values: FloatArray) -> float:
    """Weighted sum ``sum(weights * values)`` without BLAS.

    ``weights @ values`` goes to the BLAS dot, whose thread pool costs milliseconds per call on a busy machine;
    the likelihoods call it a dozen times per evaluation, so einsum's single-threaded loop is far faster here.
    """
    return float(np.einsum("i,i->", weights, values))


def softplus_and_sigmoid(d: FloatArray) -> tuple[FloatArray, FloatArray]:
    """``log(1 + e^d)`` and ``1 / (1 + e^-d)`` from one exponential, exact for any d including -inf."""
    small = np.exp(-np.abs(d))
    softplus = np.maximum(d, 0.0) + np.log1p(small)
    sigmoid = np.where(d >= 0, 1.0, small) / (1.0 + small)
    return softplus, sigmoid


def params_series(values: FloatArray, names: Sequence[str]) -> pd.Series:
    """A float Series of parameter values named by ``names``."""
    return pd.Series(np.asarray(values, dtype=np.float64), index=list(names), dtype=np.float64)
