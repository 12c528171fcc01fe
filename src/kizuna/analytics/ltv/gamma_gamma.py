"""The gamma-gamma model of spend per transaction, and discounted customer lifetime value built on it."""

from __future__ import annotations

from typing import Any, ClassVar, NamedTuple, Protocol, Self

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaln

from kizuna.analytics.ltv._base import (
    FloatArray,
    NotFittedError,
    batched,
    collapse_identical_rows,
    dot,
    maximise_likelihood,
    params_series,
)
from kizuna.analytics.ltv._validation import (
    InvalidInput,
    check_positive_number,
    numeric_columns,
    require_frame,
)

__all__ = ["CLV_PERIODS_PER_MONTH", "GammaGamma", "TransactionModel"]

#: How many units of the summary's time unit make one month in :meth:`GammaGamma.customer_lifetime_value`
#: (the convention of the ``lifetimes`` package, kept so results can be compared).
CLV_PERIODS_PER_MONTH: dict[str, float] = {"W": 4.345, "M": 1.0, "D": 30.0, "H": 30.0 * 24.0}


class TransactionModel(Protocol):
    """Anything that predicts conditional expected purchases, e.g. :class:`BetaGeoNBD` or :class:`ParetoNBD`."""

    def conditional_expected_number_of_purchases_up_to_time(
        self, t: Any, frequency: Any, recency: Any, T: Any
    ) -> FloatArray: ...


class _FitData(NamedTuple):
    """Fitting data with everything that does not depend on the parameters summed once.

    Only ``ln(v + x m)`` has to be evaluated per customer; terms in ``x`` alone run over its distinct values.
    """

    x: FloatArray
    spend: FloatArray
    weights: FloatArray
    weighted_x: FloatArray  # w x
    x_unique: FloatArray
    x_weight: FloatArray  # summed weight per distinct x
    sum_w_log_m: float  # sum w ln m
    sum_wx_log_m: float  # sum w x ln m


def _fit_data(x: FloatArray, spend: FloatArray, weights: FloatArray) -> _FitData:
    x_unique, x_index = np.unique(x, return_inverse=True)
    log_m = np.log(spend)
    return _FitData(
        x,
        spend,
        weights,
        weights * x,
        x_unique,
        np.bincount(x_index, weights=weights, minlength=len(x_unique)).astype(np.float64),
        dot(weights, log_m),
        dot(weights * x, log_m),
    )


class GammaGamma:
    r"""Gamma-gamma model of the average value of a customer's repeat transactions.

    Each transaction value is :math:`\mathrm{Gamma}(p, \nu)`; across customers :math:`\nu \sim \mathrm{Gamma}(q,
    v)`. For a customer with :math:`x \ge 1` repeat transactions of average value :math:`\bar m` the likelihood
    is (Fader, Hardie & Lee 2005, "RFM and CLV: Using iso-value curves for customer base analysis", *Journal of
    Marketing Research* 42(4), 415-430, eq. 3; Fader & Hardie 2013, "The Gamma-Gamma Model of Monetary Value",
    eq. 1)

    .. math::

        L(p, q, v \mid \bar m, x) = \frac{\Gamma(px+q)}{\Gamma(px)\Gamma(q)}
        \frac{v^q\,\bar m^{px-1}\,x^{px}}{(v + x\bar m)^{px+q}}

    maximised with its analytic gradient on log-parameters.

    Parameters
    ----------
    frequency_col : str
        Number of repeat transactions ``x``. Rows with ``x = 0`` carry no spend information and are skipped by
        :meth:`fit` (they are counted in ``n_skipped_``).
    monetary_value_col : str
        Mean value of the repeat transactions (first purchase excluded, as :func:`rfm_summary` computes it).
    weights_col : str or None
        Optional column counting how many customers share the row.
    tol, max_iter
        Optimiser settings, as for :class:`BetaGeoNBD`.

    Attributes
    ----------
    params_ : pandas.Series
        ``p``, ``q``, ``v``.
    standard_errors_, covariance_, log_likelihood_
        As for :class:`BetaGeoNBD`.
    n_customers_ : float
        Customers with repeat transactions used in the fit.
    n_skipped_ : float
        Customers with ``x = 0`` left out.
    """

    param_names: ClassVar[tuple[str, ...]] = ("p", "q", "v")
    _what: ClassVar[str] = "summary"

    params_: pd.Series
    standard_errors_: pd.Series
    covariance_: pd.DataFrame
    log_likelihood_: float
    n_customers_: float
    n_skipped_: float
    n_iter_: int
    converged_: bool

    def __init__(
        self,
        *,
        frequency_col: str = "frequency",
        monetary_value_col: str = "monetary_value",
        weights_col: str | None = None,
        tol: float = 1e-8,
        max_iter: int = 1000,
    ) -> None:
        self.frequency_col = frequency_col
        self.monetary_value_col = monetary_value_col
        self.weights_col = weights_col
        self.tol = tol
        self.max_iter = max_iter

    def __repr__(self) -> str:
        if hasattr(self, "params_"):
            return f"GammaGamma({', '.join(f'{k}={v:.4g}' for k, v in self.params_.items())})"
        return "GammaGamma()"

    def fit(self, summary: pd.DataFrame) -> Self:
        """Estimate ``p, q, v`` by maximum likelihood on the customers with at least one repeat transaction.

        Returns
        -------
        self
        """
        x, spend = self._read(summary)
        weights = np.ones_like(x)
        if self.weights_col is not None:
            weights = numeric_columns(summary, [self.weights_col], what=self._what, non_negative=[self.weights_col])[
                self.weights_col
            ]
        repeat = x > 0
        if np.any(spend[repeat] <= 0):
            row = summary.index[int(np.flatnonzero(repeat & (spend <= 0))[0])]
            raise InvalidInput(
                f"{self._what} column {self.monetary_value_col!r} must be > 0 for customers with repeat "
                f"transactions (row {row!r})",
                column=self.monetary_value_col,
                row=row,
            )
        columns, counts = collapse_identical_rows({"x": x[repeat], "m": spend[repeat]}, weights[repeat])
        n_customers = float(counts.sum())
        if n_customers <= 0:
            raise InvalidInput(
                f"{self._what} has no customer with a repeat transaction ({self.frequency_col!r} > 0) to fit on",
                column=self.frequency_col,
            )
        data = _fit_data(columns["x"], columns["m"], counts)
        mean_spend = dot(counts, columns["m"]) / n_customers
        result = maximise_likelihood(
            lambda params: _negative_log_likelihood(params, data),
            # E[M] = p v / (q - 1): start at p = 1, q = 2 and the sample mean.
            [1.0, 2.0, mean_spend],
            n_observations=n_customers,
            names=self.param_names,
            tol=self.tol,
            max_iter=self.max_iter,
        )
        self.params_ = params_series(result.params, self.param_names)
        self.standard_errors_ = params_series(result.standard_errors, self.param_names)
        self.covariance_ = pd.DataFrame(result.covariance, index=self.param_names, columns=self.param_names)
        self.log_likelihood_ = result.log_likelihood
        self.n_customers_ = n_customers
        self.n_skipped_ = float(weights[~repeat].sum())
        self.n_iter_ = result.n_iter
        self.converged_ = result.converged
        return self

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

    def population_mean_spend(self) -> float:
        r"""Mean transaction value across the population, :math:`E[M] = pv/(q-1)` (infinite if :math:`q \le 1`)."""
        p, q, v = self._params().to_numpy()
        return float(p * v / (q - 1.0)) if q > 1.0 else float("inf")

    def predict_conditional_expected_average_profit(
        self, summary: pd.DataFrame, *, batch_size: int | None = None
    ) -> pd.Series:
        r"""Expected mean transaction value of each customer given their history.

        Fader, Hardie & Lee (2005, RFM and CLV) eq. 5: a weighted mean of the population mean and the
        customer's observed mean,

        .. math::

            E[M \mid p, q, v, \bar m, x] = \frac{q-1}{px+q-1}\frac{pv}{q-1} + \frac{px}{px+q-1}\bar m
            = \frac{p(v + x\bar m)}{px+q-1}.

        Customers with ``x = 0`` get the population mean.
        """
        x, spend = self._read(summary)
        params = self._params().to_numpy()
        values = batched(lambda rows: _expected_spend(params, x[rows], spend[rows]), len(x), batch_size)
        return pd.Series(values, index=summary.index, name="expected_average_profit")

    def conditional_expected_average_profit(self, frequency: Any, monetary_value: Any) -> FloatArray:
        """Array form of :meth:`predict_conditional_expected_average_profit` (as named in ``lifetimes``)."""
        x, spend = (np.asarray(v, dtype=np.float64).ravel() for v in np.broadcast_arrays(frequency, monetary_value))
        return _expected_spend(self._params().to_numpy(), x, spend)

    def customer_lifetime_value(
        self,
        transaction_model: TransactionModel,
        frequency: Any,
        recency: Any = None,
        T: Any = None,
        monetary_value: Any = None,
        *,
        time: int = 12,
        discount_rate: float = 0.01,
        freq: str = "D",
        batch_size: int | None = None,
    ) -> pd.Series:
        r"""Discounted expected value of each customer's purchases over the next ``time`` months.

        .. math::

            \mathrm{CLV} = \sum_{k=1}^{\text{time}} \frac{E[M \mid \bar m, x]\,
            \bigl(E[Y(kc) \mid x, t_x, T] - E[Y((k-1)c) \mid x, t_x, T]\bigr)}{(1+d)^{k}}

        where :math:`c` is the number of ``freq`` units in a month (``D``: 30, ``W``: 4.345, ``M``: 1,
        ``H``: 720), :math:`d` the monthly ``discount_rate`` and :math:`E[Y]` the transaction model's
        conditional expected purchases. This is the discrete cash-flow form of Fader, Hardie & Lee (2005, RFM and
        CLV, eq. 2) with the month grid and conventions of the ``lifetimes`` package, so figures agree with it.

        Parameters
        ----------
        transaction_model : BetaGeoNBD, ParetoNBD or compatible
            A fitted model with ``conditional_expected_number_of_purchases_up_to_time``.
        frequency : pandas.DataFrame or array-like
            Either the summary frame (frequency, recency, T and monetary value columns; then leave ``recency``,
            ``T`` and ``monetary_value`` out) or the frequency array.
        recency, T, monetary_value : array-like, optional
            The other columns, when ``frequency`` is an array.
        time : int
            Horizon in months.
        discount_rate : float
            Monthly discount rate (0.01 = 1% a month).
        freq : {"D", "W", "M", "H"}
            Time unit of recency and T.
        batch_size : int, optional
            Customers scored at once (default 100 000).

        Returns
        -------
        pandas.Series
            CLV per customer, in the currency unit of ``monetary_value``.
        """
        index, x, t_x, age, spend = self._read_clv_inputs(transaction_model, frequency, recency, T, monetary_value)
        if freq not in CLV_PERIODS_PER_MONTH:
            raise InvalidInput(f"freq must be one of {', '.join(CLV_PERIODS_PER_MONTH)}, got {freq!r}", value=freq)
        months = int(time)
        if months != time or months < 1:
            raise InvalidInput(f"time must be a whole number of months >= 1, got {time!r}", value=time)
        rate = check_positive_number(discount_rate, name="discount_rate", allow_zero=True)
        per_month = CLV_PERIODS_PER_MONTH[freq]
        params = self._params().to_numpy()
        predict = transaction_model.conditional_expected_number_of_purchases_up_to_time

        def score(rows: slice) -> FloatArray:
            bx, btx, bage = x[rows], t_x[rows], age[rows]
            value_per_purchase = _expected_spend(params, bx, spend[rows])
            clv = np.zeros(len(bx))
            previous = np.zeros(len(bx))
            for month in range(1, months + 1):
                cumulative = np.asarray(predict(month * per_month, bx, btx, bage), dtype=np.float64)
                clv += value_per_purchase * (cumulative - previous) / (1.0 + rate) ** month
                previous = cumulative
            return clv

        values = batched(score, len(x), batch_size)
        return pd.Series(values, index=index, name="clv")

    # -- helpers --------------------------------------------------------------------------------------------

    def _params(self) -> pd.Series:
        if not hasattr(self, "params_"):
            raise NotFittedError("this GammaGamma is not fitted yet: call fit(summary) first")
        return self.params_

    def _read(self, summary: pd.DataFrame) -> tuple[FloatArray, FloatArray]:
        frame = require_frame(summary, what=self._what)
        f, m = self.frequency_col, self.monetary_value_col
        arrays = numeric_columns(frame, [f, m], what=self._what, non_negative=[f, m], integer=[f])
        return arrays[f], arrays[m]

    def _read_clv_inputs(
        self,
        transaction_model: TransactionModel,
        frequency: Any,
        recency: Any,
        T: Any,
        monetary_value: Any,
    ) -> tuple[pd.Index, FloatArray, FloatArray, FloatArray, FloatArray]:
        if isinstance(frequency, pd.DataFrame):
            if recency is not None or T is not None or monetary_value is not None:
                raise InvalidInput("pass either a summary frame or the four arrays, not both")
            frame = frequency
            # The transaction model knows what its recency and age columns are called.
            recency_col = str(getattr(transaction_model, "recency_col", "recency"))
            t_col = str(getattr(transaction_model, "T_col", "T"))
        else:
            if recency is None or T is None or monetary_value is None:
                raise InvalidInput("recency, T and monetary_value are required when frequency is not a frame")
            index = frequency.index if isinstance(frequency, pd.Series) else None
            frame = pd.DataFrame(
                {
                    self.frequency_col: np.asarray(frequency),
                    "recency": np.asarray(recency),
                    "T": np.asarray(T),
                    self.monetary_value_col: np.asarray(monetary_value),
                },
                index=index,
            )
            recency_col, t_col = "recency", "T"
        f, m = self.frequency_col, self.monetary_value_col
        arrays = numeric_columns(
            frame,
            [f, recency_col, t_col, m],
            what=self._what,
            non_negative=[f, recency_col, t_col, m],
            integer=[f],
        )
        return frame.index, arrays[f], arrays[recency_col], arrays[t_col], arrays[m]


def _negative_log_likelihood(params: FloatArray, data: _FitData) -> tuple[float, FloatArray]:
    """Summed negative log-likelihood (Fader & Hardie 2013, eq. 1) and its gradient in (p, q, v)."""
    p, q, v = (float(value) for value in params)
    x, m, w, wx, xu, xw, sum_w_log_m, sum_wx_log_m = data
    total = v + x * m
    log_total = np.log(total)
    inv_total = 1.0 / total
    sum_w_log_total = dot(w, log_total)
    sum_wx_log_total = dot(wx, log_total)

    pxu = p * xu
    log_xu = np.log(xu)
    psi_pxq = digamma(pxu + q)
    value = (
        dot(xw, gammaln(pxu + q) - gammaln(pxu) - gammaln(q) + q * np.log(v) + pxu * log_xu)
        + p * sum_wx_log_m
        - sum_w_log_m
        - p * sum_wx_log_total
        - q * sum_w_log_total
    )
    d_p = dot(xw, xu * (psi_pxq - digamma(pxu) + log_xu)) + sum_wx_log_m - sum_wx_log_total
    d_q = dot(xw, psi_pxq - digamma(q) + np.log(v)) - sum_w_log_total
    d_v = q / v * xw.sum() - p * dot(wx, inv_total) - q * dot(w, inv_total)
    return -float(value), -np.array([d_p, d_q, d_v])


def _expected_spend(params: FloatArray, x: FloatArray, spend: FloatArray) -> FloatArray:
    p, q, v = params
    # With x = 0 the formula reduces to the population mean p v / (q - 1), whatever the (meaningless) spend.
    observed = np.where(x > 0, spend, 0.0)
    return np.asarray(p * (v + x * observed) / (p * x + q - 1.0), dtype=np.float64)
