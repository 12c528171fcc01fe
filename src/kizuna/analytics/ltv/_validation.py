"""Input checks shared by the lifetime-value models, and the warning they raise.

Every public entry point checks its frame here before any arithmetic, so a bad column is reported by name
(``InvalidInput``, a ``ValueError``) instead of surfacing later as a ``KeyError`` or a NaN estimate.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from kizuna.errors import InvalidInput

__all__ = ["ConvergenceWarning", "InvalidInput", "numeric_columns", "require_columns"]

FloatArray = npt.NDArray[np.float64]


class ConvergenceWarning(UserWarning):
    """The optimiser stopped before it met its tolerance, or the Hessian at the optimum is not invertible.

    The estimates are returned all the same; treat them (and especially ``standard_errors_``) with suspicion.
    """


def require_frame(data: object, *, what: str) -> pd.DataFrame:
    """Return ``data`` if it is a data frame, else raise ``InvalidInput`` saying what was expected."""
    if not isinstance(data, pd.DataFrame):
        raise InvalidInput(f"{what} must be a pandas DataFrame, got {type(data).__name__}", value=type(data).__name__)
    return data


def require_columns(frame: pd.DataFrame, columns: Sequence[str], *, what: str) -> None:
    """Raise ``InvalidInput`` naming the first of ``columns`` missing from ``frame``."""
    for column in columns:
        if column not in frame.columns:
            raise InvalidInput(
                f"{what} has no column {column!r} (columns present: {', '.join(map(str, frame.columns))})",
                column=column,
            )


def numeric_columns(
    frame: pd.DataFrame,
    columns: Sequence[str],
    *,
    what: str,
    non_negative: Sequence[str] = (),
    positive: Sequence[str] = (),
    integer: Sequence[str] = (),
) -> dict[str, FloatArray]:
    """Check that ``columns`` exist, are numeric and finite, and return them as float64 arrays.

    Parameters
    ----------
    frame : pandas.DataFrame
        The input.
    columns : sequence of str
        Columns to extract, in order.
    what : str
        How the error message names the input, e.g. ``"summary"``.
    non_negative, positive, integer : sequence of str
        Columns that must additionally be >= 0, > 0, or whole numbers.

    Returns
    -------
    dict of str to numpy.ndarray
        One float64 array per column.

    Raises
    ------
    kizuna.errors.InvalidInput
        Naming the column, and the first offending row label and value.
    """
    require_columns(frame, columns, what=what)
    arrays: dict[str, FloatArray] = {}
    for column in columns:
        series = frame[column]
        if not (pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)):
            raise InvalidInput(
                f"{what} column {column!r} must be numeric, got dtype {series.dtype}",
                column=column,
                value=str(series.dtype),
            )
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        _check(values, ~np.isfinite(values), frame, column, what, "is missing or not finite")
        if column in non_negative:
            _check(values, values < 0, frame, column, what, "is negative")
        if column in positive:
            _check(values, values <= 0, frame, column, what, "is not positive")
        if column in integer:
            _check(values, values != np.round(values), frame, column, what, "is not a whole number")
        arrays[column] = values
    return arrays


def _check(
    values: FloatArray, bad: npt.NDArray[np.bool_], frame: pd.DataFrame, column: str, what: str, problem: str
) -> None:
    if bad.any():
        position = int(np.flatnonzero(bad)[0])
        row = frame.index[position]
        raise InvalidInput(
            f"{what} column {column!r} {problem} at row {row!r} (value {values[position]!r}; "
            f"{int(bad.sum())} such rows)",
            column=column,
            row=row,
            value=values[position],
        )


def check_positive_number(value: float, *, name: str, allow_zero: bool = False) -> float:
    """Return ``value`` as a float if it is finite and positive (or zero when allowed), else raise."""
    number = float(value)
    if not np.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise InvalidInput(f"{name} must be a finite number {bound}, got {value!r}", value=value)
    return number
