"""Property tests: for random contract histories, the movements of a month add up to the change in MRR, month-end MRR
matches an independent pandas computation, and customer counts reconcile."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from kizuna.analytics.engine import connect, register_tables
from kizuna.analytics.kpi import intermediates, revenue
from kizuna.analytics.kpi._common import add_months
from tests.analytics.kpi.hub import hub

AS_OF = dt.date(2026, 6, 30)
START = dt.date(2025, 7, 1)

line = st.fixed_dictionaries(
    {
        "account_id": st.integers(1, 4),
        "plan_id": st.integers(1, 2),
        "mrr_minor": st.integers(0, 5).map(lambda k: k * 1000),
        "start_offset": st.integers(0, 340),
        "days": st.one_of(st.none(), st.integers(1, 300)),
        "status": st.sampled_from(["active", "active", "cancelled", "trial"]),
    }
)

_CON: dict[str, Any] = {}


def _con() -> Any:
    if "con" not in _CON:
        _CON["con"] = connect()
    return _CON["con"]


def _subscriptions(lines: list[dict[str, Any]], first: dt.date = START) -> list[dict[str, Any]]:
    out = []
    for i, ln in enumerate(lines):
        start = first + dt.timedelta(days=ln["start_offset"])
        end = None if ln["days"] is None else start + dt.timedelta(days=ln["days"])
        out.append(
            {
                "account_id": ln["account_id"],
                "contract_id": f"c{i}",
                "plan_id": ln["plan_id"],
                "mrr_minor": ln["mrr_minor"],
                "start_date": start,
                "end_date": end,
                "status": ln["status"],
            }
        )
    return out


def _month_end_mrr(subs: list[dict[str, Any]], first: dt.date = START) -> pd.Series:
    """Independent month-end MRR per (account, month) straight from the definition."""
    rows = []
    month = first
    while month <= AS_OF:
        day = min(add_months(month, 1) - dt.timedelta(days=1), AS_OF)
        for s in subs:
            if s["status"] != "trial" and s["start_date"] <= day and (s["end_date"] is None or s["end_date"] > day):
                rows.append((s["account_id"], month, s["mrr_minor"]))
        month = add_months(month, 1)
    frame = pd.DataFrame(rows, columns=["account_id", "month", "mrr"])
    return frame.groupby(["account_id", "month"])["mrr"].sum()


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(line, min_size=1, max_size=8))
def test_movements_add_up_and_counts_reconcile(lines: list[dict[str, Any]]) -> None:
    subs = _subscriptions(lines)
    tables = register_tables(_con(), hub(accounts=[{}, {}, {}, {}], plans=[{}, {"is_addon": True}], subscriptions=subs))
    mv = revenue.mrr_movements(tables, AS_OF).to_pyarrow().to_pandas()
    cols = [f"{m}_minor" for m in revenue.MOVEMENTS]
    assert (mv[cols].sum(axis=1) == mv.mrr_minor - mv.mrr_start_minor).all()
    expected = _month_end_mrr(subs)
    expected = expected[expected > 0]
    got = mv[mv.mrr_minor > 0].assign(month=lambda f: pd.to_datetime(f.month).dt.date)
    got = got.set_index(["account_id", "month"])["mrr_minor"].sort_index()
    assert got.to_dict() == {k: v for k, v in expected.sort_index().items()}

    summary = revenue.mrr_summary(tables, AS_OF).to_pyarrow().to_pandas()
    for r in summary.itertuples():
        moved = r.new_minor + r.expansion_minor + r.contraction_minor + r.churn_minor + r.reactivation_minor
        assert r.mrr_minor - r.mrr_start_minor == moved
        assert r.customers == r.customers_start + r.new_customers + r.reactivated_customers - r.churned_customers
    # month to month: this month's start is last month's end
    ordered = summary.sort_values("month")
    assert (ordered.mrr_start_minor.iloc[1:].to_numpy() == ordered.mrr_minor.iloc[:-1].to_numpy()).all()


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(line.map(lambda ln: {**ln, "start_offset": ln["start_offset"] * 2}), min_size=1, max_size=8))
@example(  # one account kept all along, one lost after 14 months, one contracting: every month has pairs from 2025-07
    [
        {"account_id": 1, "plan_id": 1, "mrr_minor": 2000, "start_offset": 0, "days": None, "status": "active"},
        {"account_id": 2, "plan_id": 1, "mrr_minor": 3000, "start_offset": 10, "days": 430, "status": "cancelled"},
        {"account_id": 3, "plan_id": 1, "mrr_minor": 4000, "start_offset": 5, "days": 500, "status": "active"},
        {"account_id": 3, "plan_id": 2, "mrr_minor": 1000, "start_offset": 5, "days": None, "status": "active"},
    ]
)
def test_trailing_12_month_retention(lines: list[dict[str, Any]]) -> None:
    # two years of lines: the accounts paying 12 months before each month, followed to it
    first = dt.date(2024, 7, 1)
    subs = _subscriptions(lines, first)
    raw = register_tables(_con(), hub(accounts=[{}, {}, {}, {}], plans=[{}, {"is_addon": True}], subscriptions=subs))
    prepared = intermediates.prepare(raw, AS_OF)  # the refresh's path: pairs cached once with every breakdown
    mrr = _month_end_mrr(subs, first).unstack(fill_value=0)
    summary = revenue.mrr_summary(prepared, AS_OF).to_pyarrow().to_pandas()
    summary = summary.assign(month=pd.to_datetime(summary.month).dt.date).set_index("month")
    checked: list[dt.date] = []
    for month in summary.index:
        then_month = add_months(month, -12)
        then = mrr[then_month] if then_month in mrr.columns else pd.Series(dtype="int64")
        then = then[then > 0]
        now = (mrr[month] if month in mrr.columns else pd.Series(0, index=then.index)).reindex(then.index).fillna(0)
        if then.sum() == 0:
            assert pd.isna(summary.loc[month, "nrr_12m"]), month
            continue
        assert summary.loc[month, "nrr_12m"] == now.sum() / then.sum(), month
        assert summary.loc[month, "grr_12m"] == now.clip(upper=then).sum() / then.sum(), month
        checked.append(month)
    if lines[0]["start_offset"] == 0 and len(lines) == 4:  # the explicit example: a year of months with pairs
        assert len(checked) >= 12
    for by in (["plan"], ["industry", "touch_tier"]):
        cached = revenue.trailing_retention(prepared, AS_OF, by=by).to_pyarrow().to_pandas()
        direct = revenue.trailing_retention(raw, AS_OF, by=by).to_pyarrow().to_pandas()
        keys = ["currency", "month", *by]
        pd.testing.assert_frame_equal(
            cached.sort_values(keys).reset_index(drop=True), direct.sort_values(keys).reset_index(drop=True)
        )
