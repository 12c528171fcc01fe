"""The part of the non-contractual purchase models (BG/NBD, Pareto/NBD) that does not depend on the model.

A subclass states its parameter names and five array functions: the summed negative log-likelihood with its
gradient, the starting point, ``P(alive)``, the conditional expected purchases and the new-customer expected
purchases. This class turns them into the public frame-in, Series-out API.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd

from kizuna.analytics.ltv._base import (
    FloatArray,
    NotFittedError,
    batched,
    broadcast_horizon,
    collapse_identical_rows,
    maximise_likelihood,
    params_series,
)
from kizuna.analytics.ltv._validation import InvalidInput, numeric_columns, require_frame


class PurchaseModel(ABC):
    """Base class of the "buy till you die" models fitted on (frequency, recency, T) summaries.

    Parameters
    ----------
    frequency_col, recency_col, T_col : str
        Columns of the summary frame: number of repeat purchases ``x``, time of the last purchase ``t_x`` and
        age ``T``, both measured from the first purchase in one time unit (see :func:`rfm_summary`).
    weights_col : str or None
        Optional column counting how many customers share the row (for pre-aggregated data, e.g. the CDNOW
        "counts" table). Only :meth:`fit` uses it.
    tol : float
        Gradient tolerance of the optimiser on the per-customer mean log-likelihood in log-parameters.
    max_iter : int
        Iteration cap of the optimiser.
    """

    param_names: ClassVar[tuple[str, ...]]
    #: False when ``_negative_log_likelihood`` differentiates numerically (changes how the Hessian is taken).
    analytic_gradient: ClassVar[bool] = True
    _what: ClassVar[str] = "summary"

    params_: pd.Series
    standard_errors_: pd.Series
    covariance_: pd.DataFrame
    log_likelihood_: float
    n_customers_: float
    n_distinct_rows_: int
    n_iter_: int
    converged_: bool

    def __init__(
        self,
        *,
        frequency_col: str = "frequency",
        recency_col: str = "recency",
        T_col: str = "T",
        weights_col: str | None = None,
        tol: float = 1e-8,
        max_iter: int = 1000,
    ) -> None:
        self.frequency_col = frequency_col
        self.recency_col = recency_col
        self.T_col = T_col
        self.weights_col = weights_col
        self.tol = tol
        self.max_iter = max_iter

    def __repr__(self) -> str:
        if hasattr(self, "params_"):
            shown = ", ".join(f"{name}={value:.4g}" for name, value in self.params_.items())
            return f"{type(self).__name__}({shown})"
        return f"{type(self).__name__}()"

    # -- fitting --------------------------------------------------------------------------------------------

    def fit(self, summary: pd.DataFrame) -> Self:
        """Estimate the parameters by maximum likelihood.

        Customers with identical ``(frequency, recency, T)`` are collapsed into one weighted row first: the
        likelihood is exact and the work scales with the number of distinct rows.

        Parameters
        ----------
        summary : pandas.DataFrame
            One row per customer with the frequency, recency and T columns (and the weights column if set).

        Returns
        -------
        self
        """
        x, t_x, age = self._read(summary)
        weights = None
        if self.weights_col is not None:
            weights = numeric_columns(summary, [self.weights_col], what=self._what, non_negative=[self.weights_col])[
                self.weights_col
            ]
        if len(x) == 0:
            raise InvalidInput(f"{self._what} has no rows to fit on")
        columns, counts = collapse_identical_rows({"x": x, "t_x": t_x, "T": age}, weights)
        n_customers = float(counts.sum())
        if n_customers <= 0:
            raise InvalidInput(f"{self._what} has no customers with positive weight")
        data = self._prepare(columns["x"], columns["t_x"], columns["T"], counts)

        def objective(params: FloatArray) -> tuple[float, FloatArray]:
            return self._negative_log_likelihood(params, data)

        result = maximise_likelihood(
            objective,
            self._initial_params(columns["x"], columns["t_x"], columns["T"], counts),
            n_observations=n_customers,
            names=self.param_names,
            tol=self.tol,
            max_iter=self.max_iter,
            analytic_gradient=self.analytic_gradient,
        )
        self.params_ = params_series(result.params, self.param_names)
        self.standard_errors_ = params_series(result.standard_errors, self.param_names)
        self.covariance_ = pd.DataFrame(result.covariance, index=self.param_names, columns=self.param_names)
        self.log_likelihood_ = result.log_likelihood
        self.n_customers_ = n_customers
        self.n_distinct_rows_ = len(counts)
        self.n_iter_ = result.n_iter
        self.converged_ = result.converged
        return self

    def summary(self) -> pd.DataFrame:
        """Estimates with standard errors and Wald 95% intervals, one row per parameter."""
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

    # -- frame API ------------------------------------------------------------------------------------------

    def predict_probability_alive(self, summary: pd.DataFrame, *, batch_size: int | None = None) -> pd.Series:
        """Probability that each customer is still active at the end of their observation window (age T).

        Returns
        -------
        pandas.Series
            Indexed like ``summary``, values in (0, 1].
        """
        x, t_x, age = self._read(summary)
        params = self._params().to_numpy()
        values = batched(
            lambda rows: self._probability_alive(params, x[rows], t_x[rows], age[rows]), len(x), batch_size
        )
        return pd.Series(values, index=summary.index, name="probability_alive")

    def predict_purchases(self, summary: pd.DataFrame, t: Any, *, batch_size: int | None = None) -> pd.Series:
        """Conditional expected number of purchases in ``(T, T + t]`` given each customer's history.

        Parameters
        ----------
        summary : pandas.DataFrame
            Frequency, recency and T per customer.
        t : float or array-like
            Horizon in the unit of T, a scalar or one value per customer.
        batch_size : int, optional
            Customers scored at once (default 100 000): bounds memory on large bases.

        Returns
        -------
        pandas.Series
            Indexed like ``summary``.
        """
        x, t_x, age = self._read(summary)
        horizon = broadcast_horizon(t, len(x))
        params = self._params().to_numpy()
        values = batched(
            lambda rows: self._conditional_purchases(params, horizon[rows], x[rows], t_x[rows], age[rows]),
            len(x),
            batch_size,
        )
        return pd.Series(values, index=summary.index, name="expected_purchases")

    def predict_new_customer_purchases(self, t: Any, *, start: Any = 0.0) -> FloatArray:
        """Expected purchases of a randomly chosen new customer in the period ``(start, t]`` after acquisition.

        With ``start=0`` this is ``E[X(t)]``, the expected number of repeat purchases in the first ``t`` time
        units. ``t`` and ``start`` broadcast against each other.
        """
        params = self._params().to_numpy()
        end = np.asarray(t, dtype=np.float64)
        begin = np.asarray(start, dtype=np.float64)
        if np.any(~np.isfinite(end)) or np.any(end < 0) or np.any(~np.isfinite(begin)) or np.any(begin < 0):
            raise InvalidInput("t and start must be finite and >= 0")
        if np.any(begin > end):
            raise InvalidInput("start must not be after t")
        end, begin = np.broadcast_arrays(end, begin)
        shape = end.shape
        flat_end, flat_begin = end.ravel(), begin.ravel()
        expected = self._new_customer_purchases(params, flat_end) - self._new_customer_purchases(params, flat_begin)
        return np.asarray(expected.reshape(shape), dtype=np.float64)

    # -- array API, named as in the `lifetimes` package so the models plug into the same code -----------------

    def conditional_expected_number_of_purchases_up_to_time(
        self, t: Any, frequency: Any, recency: Any, T: Any
    ) -> FloatArray:
        """Array form of :meth:`predict_purchases` (argument order as in ``lifetimes``)."""
        x, t_x, age = (np.asarray(v, dtype=np.float64) for v in np.broadcast_arrays(frequency, recency, T))
        x, t_x, age = x.ravel(), t_x.ravel(), age.ravel()
        horizon = broadcast_horizon(t, len(x))
        return self._conditional_purchases(self._params().to_numpy(), horizon, x, t_x, age)

    def conditional_probability_alive(self, frequency: Any, recency: Any, T: Any) -> FloatArray:
        """Array form of :meth:`predict_probability_alive`."""
        x, t_x, age = (np.asarray(v, dtype=np.float64) for v in np.broadcast_arrays(frequency, recency, T))
        return self._probability_alive(self._params().to_numpy(), x.ravel(), t_x.ravel(), age.ravel())

    # -- helpers --------------------------------------------------------------------------------------------

    def _params(self) -> pd.Series:
        if not hasattr(self, "params_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet: call fit(summary) first")
        return self.params_

    def _read(self, summary: pd.DataFrame) -> tuple[FloatArray, FloatArray, FloatArray]:
        frame = require_frame(summary, what=self._what)
        f, r, t = self.frequency_col, self.recency_col, self.T_col
        arrays = numeric_columns(frame, [f, r, t], what=self._what, non_negative=[f, r, t], integer=[f])
        x, t_x, age = arrays[f], arrays[r], arrays[t]
        # A small tolerance: recency and T often come from the same float arithmetic on dates.
        late = t_x > age * (1 + 1e-12) + 1e-12
        if late.any():
            row = frame.index[int(np.flatnonzero(late)[0])]
            raise InvalidInput(
                f"{self._what} column {r!r} exceeds {t!r} at row {row!r}: the last purchase cannot be after the "
                "end of observation",
                column=r,
                row=row,
            )
        orphan = (x == 0) & (t_x != 0)
        if orphan.any():
            row = frame.index[int(np.flatnonzero(orphan)[0])]
            raise InvalidInput(
                f"{self._what} column {r!r} must be 0 where {f!r} is 0 (row {row!r}): recency is the time of the "
                "last repeat purchase",
                column=r,
                row=row,
            )
        return x, t_x, age

    def _prepare(self, x: FloatArray, t_x: FloatArray, age: FloatArray, weights: FloatArray) -> Any:
        """Precompute whatever the likelihood reuses across evaluations (default: the plain arrays)."""
        return (x, t_x, age, weights)

    @abstractmethod
    def _initial_params(self, x: FloatArray, t_x: FloatArray, age: FloatArray, weights: FloatArray) -> FloatArray:
        """Starting values for the optimiser."""

    @abstractmethod
    def _negative_log_likelihood(self, params: FloatArray, data: Any) -> tuple[float, FloatArray]:
        """Summed weighted negative log-likelihood and its gradient in the natural parameters."""

    @abstractmethod
    def _probability_alive(self, params: FloatArray, x: FloatArray, t_x: FloatArray, age: FloatArray) -> FloatArray:
        """P(alive | x, t_x, T)."""

    @abstractmethod
    def _conditional_purchases(
        self, params: FloatArray, t: FloatArray, x: FloatArray, t_x: FloatArray, age: FloatArray
    ) -> FloatArray:
        """E[Y(t) | x, t_x, T]."""

    @abstractmethod
    def _new_customer_purchases(self, params: FloatArray, t: FloatArray) -> FloatArray:
        """E[X(t)] for a customer acquired at time 0."""


def weighted_mean(values: FloatArray, weights: FloatArray) -> float:
    """Mean of ``values`` weighted by ``weights``."""
    return float(np.sum(values * weights) / np.sum(weights))
