"""kpi.snapshot: the long series rows the refresh stores."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from kizuna.analytics.kpi.snapshot import _long


def test_breakdown_values_read_the_same_with_and_without_nulls() -> None:
    """An owner id column with an unowned account arrives from Arrow as floats; its values stay '100', not '100.0'."""
    month = dt.date(2026, 1, 1)
    with_null = pa.table({"currency": ["JPY", "JPY"], "month": [month, month], "owner_id": [100, None], "mrr": [1, 2]})
    without = with_null.slice(0, 1)
    assert _long(with_null.to_pandas(), dimension="owner_id").dimension_value.tolist() == ["100", ""]
    assert _long(without.to_pandas(), dimension="owner_id").dimension_value.tolist() == ["100"]
    shares = pa.table({"currency": ["JPY"], "month": [month], "score": [0.5], "mrr": [1]})
    assert _long(shares.to_pandas(), dimension="score").dimension_value.tolist() == ["0.5"]  # real fractions stay
    plans = pa.table({"currency": ["JPY", "JPY"], "month": [month, month], "plan": ["Pro", None], "mrr": [1, 2]})
    assert _long(plans.to_pandas(), dimension="plan").dimension_value.tolist() == ["Pro", ""]
