"""kpi.snapshot: the long series rows the refresh stores."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from kizuna.analytics.kpi.snapshot import _long


def test_monthly_frames_become_long_rows() -> None:
    """A total gets dimension '' and value ''; a frame stacked by breakdown keeps its own; flags are not metrics."""
    month = dt.date(2026, 1, 1)
    total = pa.table({"currency": ["JPY"], "month": [month], "mrr": [100], "late": [True]}).to_pandas()
    rows = _long(total)
    assert rows.to_dict("records") == [
        {"metric": "mrr", "month": month, "currency": "JPY", "dimension": "", "dimension_value": "", "value": 100.0}
    ]
    stacked = pa.table(
        {"month": [month, month], "dimension": ["owner_id", "plan"], "dimension_value": ["100", ""], "nps": [10, 20]}
    ).to_pandas()
    rows = _long(stacked)
    assert rows[["dimension", "dimension_value", "currency"]].values.tolist() == [
        ["owner_id", "100", ""],
        ["plan", "", ""],
    ]
    assert rows.value.tolist() == [10.0, 20.0] and set(rows.metric) == {"nps"}
