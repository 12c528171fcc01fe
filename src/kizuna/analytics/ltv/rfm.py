"""From a transaction log to per-customer RFM summaries, quintile scores and named segments."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from kizuna.analytics.ltv._validation import InvalidInput, numeric_columns, require_columns, require_frame

__all__ = ["RFM_SEGMENTS", "rfm_scores", "rfm_segment", "rfm_summary"]

# pandas spells some period units in lower case; accept the spellings the literature and `lifetimes` use.
_FREQ_ALIASES = {"H": "h", "T": "min", "S": "s"}


def rfm_summary(
    transactions: pd.DataFrame,
    customer_id_col: str,
    datetime_col: str,
    monetary_value_col: str | None = None,
    observation_period_end: Any = None,
    freq: str = "D",
    *,
    datetime_format: str | None = None,
) -> pd.DataFrame:
    """Summarise a transaction log into frequency, recency, T (and monetary value) per customer.

    The conventions are those of Fader, Hardie & Lee (2005) and the ``lifetimes`` package, so the output feeds
    :class:`BetaGeoNBD`, :class:`ParetoNBD` and :class:`GammaGamma` directly:

    * Time is cut into periods of ``freq`` (``"D"`` days, ``"W"`` weeks, ``"M"`` months, ``"H"`` hours, or any
      pandas period alias); all purchases of a customer in one period count as one purchase whose value is
      their sum.
    * ``frequency`` is the number of *repeat* purchase periods: distinct periods with a purchase, minus one.
    * ``recency`` is the time from the first to the last purchase period, ``T`` from the first purchase period
      to ``observation_period_end``, both in whole ``freq`` units. ``recency`` is 0 when ``frequency`` is 0.
    * ``monetary_value`` is the mean value of the repeat purchase periods; the first purchase is excluded
      (it is often unlike the later ones, and the gamma-gamma model describes repeat spend). It is 0 for
      customers without repeat purchases.

    Transactions after ``observation_period_end`` are ignored, and so are customers whose first purchase is
    after it. The end is inclusive of its whole (UTC) day, so ``"2024-01-31"`` keeps purchases made at any time
    on January 31; with periods shorter than a day it is inclusive of its period instead.

    Parameters
    ----------
    transactions : pandas.DataFrame
        One row per transaction.
    customer_id_col, datetime_col : str
        Customer identifier and transaction time. Times may be datetimes or strings; timezone-aware times are
        converted to UTC, naive times are taken to be UTC already.
    monetary_value_col : str, optional
        Transaction value (e.g. integer minor currency units). Without it no ``monetary_value`` column is made.
    observation_period_end : datetime-like, optional
        End of the observation window; defaults to the latest transaction.
    freq : str
        Period length and unit of ``recency`` and ``T``.
    datetime_format : str, optional
        ``strptime`` format for string times (passed to :func:`pandas.to_datetime`).

    Returns
    -------
    pandas.DataFrame
        Indexed by customer id (sorted): ``frequency`` (int), ``recency``, ``T`` (float, in ``freq`` units)
        and, with ``monetary_value_col``, ``monetary_value``.
    """
    frame = require_frame(transactions, what="transactions")
    columns = [customer_id_col, datetime_col] + ([monetary_value_col] if monetary_value_col else [])
    require_columns(frame, columns, what="transactions")
    period_freq = _FREQ_ALIASES.get(freq, freq)
    try:
        sample = pd.Period("2000-01-01", freq=period_freq)
    except (ValueError, TypeError) as error:
        raise InvalidInput(f"freq {freq!r} is not a pandas period alias", value=freq) from error
    # The end of observation includes its whole day (or its whole period, when periods are shorter than a day),
    # whatever the length of the periods that recency and T are counted in.
    cutoff_freq = period_freq if sample.end_time - sample.start_time < pd.Timedelta(days=1) else "D"

    moments = _utc_naive(frame[datetime_col], column=datetime_col, index=frame.index, fmt=datetime_format)
    if frame[customer_id_col].isna().any():
        row = frame.index[int(np.flatnonzero(frame[customer_id_col].isna().to_numpy())[0])]
        raise InvalidInput(
            f"transactions column {customer_id_col!r} is missing at row {row!r}", column=customer_id_col, row=row
        )
    period = moments.dt.to_period(period_freq).array.asi8  # ordinal: whole periods since the epoch

    if observation_period_end is None:
        end_moment = pd.Series([moments.max()]) if len(moments) else pd.Series([pd.Timestamp(0)])
    else:
        end_moment = _utc_naive(pd.Series([observation_period_end]), column="observation_period_end", fmt=None)
    end = int(end_moment.dt.to_period(period_freq).array.asi8[0])
    in_window = moments.dt.to_period(cutoff_freq).array.asi8 <= end_moment.dt.to_period(cutoff_freq).array.asi8[0]

    log = pd.DataFrame({"customer": frame[customer_id_col].to_numpy(), "period": period})
    if monetary_value_col:
        values = numeric_columns(frame, [monetary_value_col], what="transactions")[monetary_value_col]
        log["value"] = values
    log = log[in_window]

    # One row per customer and purchase period; the value of a period is the sum of its transactions.
    aggregations: dict[str, tuple[str, str]] = {"n": ("period", "size")}
    if monetary_value_col:
        aggregations["value"] = ("value", "sum")
    per_period = log.groupby(["customer", "period"], sort=True).agg(**aggregations).reset_index()

    by_customer = per_period.groupby("customer", sort=True)
    first = by_customer["period"].min()
    last = by_customer["period"].max()
    purchase_periods = by_customer.size()
    summary = pd.DataFrame(
        {
            "frequency": (purchase_periods - 1).astype(np.int64),
            "recency": (last - first).astype(np.float64),
            "T": (end - first).astype(np.float64),
        }
    )
    if monetary_value_col:
        # The first purchase period of each customer is the first row of its sorted group.
        is_first = ~per_period["customer"].duplicated(keep="first")
        repeat_value = per_period.loc[~is_first].groupby("customer", sort=True)["value"].mean()
        summary["monetary_value"] = repeat_value.reindex(summary.index).fillna(0.0).astype(np.float64)
    summary.index.name = customer_id_col
    return summary


def _utc_naive(values: pd.Series, *, column: str, index: pd.Index | None = None, fmt: str | None) -> pd.Series:
    """Parse to datetimes, convert aware ones to UTC and drop the zone (periods are zone-free)."""
    try:
        parsed = pd.to_datetime(values, utc=True, format=fmt, errors="coerce")
    except (ValueError, TypeError) as error:
        raise InvalidInput(f"{column!r} could not be read as datetimes: {error}", column=column) from error
    bad = parsed.isna().to_numpy()
    if bad.any():
        position = int(np.flatnonzero(bad)[0])
        row = (index if index is not None else values.index)[position]
        raise InvalidInput(
            f"transactions column {column!r} has a missing or unreadable time at row {row!r} "
            f"(value {values.iloc[position]!r})",
            column=column,
            row=row,
            value=values.iloc[position],
        )
    return parsed.dt.tz_localize(None)


# -- RFM scores and segments ---------------------------------------------------------------------------------

#: Named segments on the grid of recency score R (rows) and frequency score F (columns), both 1-5, 5 best.
#: This is the widely used R x F segment map (as popularised by the "RFM segmentation" guides built on Putler's
#: eleven segments), with the bottom-left cell split off as "lost":
#:
#: ====  ===================  ===================  ===================  ===================  ===================
#: R\\F   1                    2                    3                    4                    5
#: ====  ===================  ===================  ===================  ===================  ===================
#: 5     new customers        potential loyalists  potential loyalists  champions            champions
#: 4     promising            potential loyalists  potential loyalists  loyal customers      loyal customers
#: 3     about to sleep       about to sleep       need attention       loyal customers      loyal customers
#: 2     hibernating          hibernating          at risk              at risk              cannot lose them
#: 1     lost                 hibernating          at risk              at risk              cannot lose them
#: ====  ===================  ===================  ===================  ===================  ===================
RFM_SEGMENTS: dict[str, tuple[tuple[int, int], ...]] = {
    "champions": ((5, 4), (5, 5)),
    "loyal customers": ((4, 4), (4, 5), (3, 4), (3, 5)),
    "potential loyalists": ((5, 2), (5, 3), (4, 2), (4, 3)),
    "new customers": ((5, 1),),
    "promising": ((4, 1),),
    "need attention": ((3, 3),),
    "about to sleep": ((3, 1), (3, 2)),
    "at risk": ((2, 3), (2, 4), (1, 3), (1, 4)),
    "cannot lose them": ((2, 5), (1, 5)),
    "hibernating": ((2, 1), (2, 2), (1, 2)),
    "lost": ((1, 1),),
}

_SEGMENT_GRID = np.empty((6, 6), dtype=object)
for _name, _cells in RFM_SEGMENTS.items():
    for _r, _f in _cells:
        _SEGMENT_GRID[_r, _f] = _name


def rfm_segment(r_score: Any, f_score: Any) -> pd.Categorical:
    """Named segment of each (recency score, frequency score) pair, per :data:`RFM_SEGMENTS`."""
    r = np.asarray(r_score, dtype=np.int64)
    f = np.asarray(f_score, dtype=np.int64)
    if np.any((r < 1) | (r > 5)) or np.any((f < 1) | (f > 5)):
        raise InvalidInput("R and F scores must be whole numbers from 1 to 5")
    return pd.Categorical(_SEGMENT_GRID[r, f], categories=list(RFM_SEGMENTS))


def rfm_scores(
    summary: pd.DataFrame,
    *,
    frequency_col: str = "frequency",
    recency_col: str = "recency",
    T_col: str = "T",
    monetary_value_col: str | None = "monetary_value",
) -> pd.DataFrame:
    """Quintile scores R, F, M (1-5, 5 best) and the named segment of every customer.

    Parameters
    ----------
    summary : pandas.DataFrame
        Output of :func:`rfm_summary` (or any frame with the same columns).
    frequency_col, recency_col, T_col : str
        Repeat purchases, time of last purchase and age, as in :func:`rfm_summary`. The R score is computed
        on the time since the last purchase, ``T - recency`` (less is better).
    monetary_value_col : str or None
        Mean spend per repeat purchase; ``None`` to score R and F only.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``summary``: ``time_since_last_purchase``, ``r_score``, ``f_score``, ``m_score`` (if
        scored), ``rfm_cell`` (e.g. ``"545"``), ``rfm_score`` (the sum) and ``segment`` (categorical, from R and
        F as in :data:`RFM_SEGMENTS`).

    Notes
    -----
    A score says what share of customers are strictly worse: ``score = 1 + floor(5 * worse / n)``, so 5 means
    better than at least 80% of the base, 1 better than under 20%. Identical customers always share a score,
    and a block of ties gets the score of where it starts: customers who never came back (often half of a
    base) all get F = 1, so that one-time buyers who bought recently are "new customers". The flip side is
    that a tied block at the top can leave the highest score empty.
    """
    frame = require_frame(summary, what="summary")
    wanted = [frequency_col, recency_col, T_col] + ([monetary_value_col] if monetary_value_col else [])
    arrays = numeric_columns(frame, wanted, what="summary", non_negative=wanted)
    since_last = arrays[T_col] - arrays[recency_col]
    scores = pd.DataFrame(index=frame.index)
    scores["time_since_last_purchase"] = since_last
    scores["r_score"] = _quintile_score(-since_last)
    scores["f_score"] = _quintile_score(arrays[frequency_col])
    cell = scores["r_score"].astype(str) + scores["f_score"].astype(str)
    total = scores["r_score"] + scores["f_score"]
    if monetary_value_col:
        scores["m_score"] = _quintile_score(arrays[monetary_value_col])
        cell = cell + scores["m_score"].astype(str)
        total = total + scores["m_score"]
    scores["rfm_cell"] = cell
    scores["rfm_score"] = total
    scores["segment"] = rfm_segment(scores["r_score"], scores["f_score"])
    return scores


def _quintile_score(values: np.ndarray) -> np.ndarray:
    if len(values) == 0:
        return np.empty(0, dtype=np.int64)
    # Integer arithmetic: floor(5 * worse / n) exactly, with no rounding at the quintile edges.
    worse = rankdata(values, method="min").astype(np.int64) - 1
    return np.asarray(5 * worse // len(values) + 1, dtype=np.int64)
