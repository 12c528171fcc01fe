"""MRR movements, month totals, rates and renewals against the hand-computed fixture (fixtures.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from kizuna.analytics.engine import connect, register_tables
from kizuna.analytics.kpi import intermediates, revenue
from kizuna.errors import InvalidInput
from tests.analytics.kpi.fixtures import (
    AS_OF,
    EXPECTED_JPY_MONTHS,
    EXPECTED_MOVEMENTS,
    EXPECTED_RATES,
    EXPECTED_RENEWALS_APRIL,
    _line,
    revenue_hub,
)
from tests.analytics.kpi.hub import hub


@pytest.fixture(scope="module")
def tables() -> dict[str, Any]:
    return intermediates.prepare(register_tables(connect(), revenue_hub()), AS_OF)


def test_every_movement_type_hand_computed(tables: dict[str, Any]) -> None:
    mv = revenue.mrr_movements(tables, AS_OF).to_pandas()
    jpy = mv[mv.currency == "JPY"]
    got = {
        (int(r.account_id), r.month.strftime("%Y-%m")): (r.movement, int(r.mrr_minor - r.mrr_start_minor))
        for r in jpy.itertuples()
    }
    assert got == EXPECTED_MOVEMENTS
    # each row's movement columns add up to its change
    cols = [f"{m}_minor" for m in revenue.MOVEMENTS]
    assert (mv[cols].sum(axis=1) == mv.mrr_minor - mv.mrr_start_minor).all()
    flags = {(int(r.account_id), r.month.strftime("%Y-%m")) for r in mv.itertuples() if r.involuntary}
    assert flags == {(2, "2026-03"), (7, "2026-04")}  # A3's failed payment was paid 2 days later: voluntary
    assert {(int(r.account_id), r.month.strftime("%Y-%m")) for r in mv.itertuples() if r.cross_sell} == {(1, "2026-04")}
    assert {(int(r.account_id), r.month.strftime("%Y-%m")) for r in mv.itertuples() if r.upsell} == {
        (1, "2026-02"),  # 1000 -> 1500 on the base plan
        (3, "2026-03"),
    }
    # currency kept apart: the USD account is its own series
    usd = mv[mv.currency == "USD"].sort_values("month")
    assert list(usd.movement) == ["new", "flat", "flat", "flat", "flat"] and set(usd.mrr_minor) == {5000}


def test_month_totals_and_rates_hand_computed(tables: dict[str, Any]) -> None:
    summary = revenue.mrr_summary(tables, AS_OF).to_pandas()
    jpy = summary[summary.currency == "JPY"].set_index(summary[summary.currency == "JPY"].month.dt.strftime("%Y-%m"))
    for month, expected in EXPECTED_JPY_MONTHS.items():
        for column, value in expected.items():
            assert jpy.loc[month, column] == value, (month, column)
    for month, expected in EXPECTED_RATES.items():
        for column, value in expected.items():
            assert jpy.loc[month, column] == pytest.approx(value), (month, column)
    # February: expansion with no churn shows as negative net revenue churn
    assert jpy.loc["2026-02", "net_revenue_churn_rate"] == pytest.approx(-500 / 5000)
    assert jpy.loc["2026-05", "arr_minor"] == 4100 * 12


def test_mrr_as_of_with_breakdown(tables: dict[str, Any]) -> None:
    by_plan = revenue.mrr(tables, AS_OF, by=["plan"]).to_pandas()
    jpy = by_plan[by_plan.currency == "JPY"].set_index("plan")
    assert jpy.loc["Pro", "mrr_minor"] == 4100 and jpy.loc["Pro", "customers"] == 3
    by_industry = revenue.mrr(tables, AS_OF, by=["industry"]).to_pandas()
    got = {(r.currency, r.industry): r.mrr_minor for r in by_industry.itertuples()}
    assert got == {("JPY", "製造"): 1500, ("JPY", "小売"): 600, ("JPY", "IT"): 2000, ("USD", "IT"): 5000}
    with pytest.raises(InvalidInput, match="colour"):
        revenue.mrr(tables, AS_OF, by=["colour"])


def test_point_in_time_ignores_later_lines(tables: dict[str, Any]) -> None:
    # as of 2026-03-10, A1's 03-20 downgrade and A2's end are unknown; March is month-to-date (snapshot 03-10)
    summary = revenue.mrr_summary(tables, dt.date(2026, 3, 10)).to_pandas()
    march = summary[(summary.currency == "JPY") & (summary.month.dt.month == 3)].iloc[0]
    assert march.mrr_minor == 2000 + 800 + 2500 + 3000 + 1000  # A1 at 2000 (03-05 upgrade), A2, A3, A6, A7


def test_renewal_rate_hand_computed(tables: dict[str, Any]) -> None:
    ren = revenue.renewals(tables, AS_OF).to_pandas()
    april = ren[ren.month.dt.month == 4].iloc[0]
    for column, value in EXPECTED_RENEWALS_APRIL.items():
        assert april[column] == pytest.approx(value), column


@pytest.mark.parametrize(
    "engine", ["duckdb", pytest.param("spark", marks=[pytest.mark.spark, pytest.mark.xdist_group("spark")])]
)
def test_main_plan_is_the_base_plan_with_most_mrr_lowest_id_on_ties(engine: str) -> None:
    plans = [{"name": "Pro"}, {"name": "Team"}, {"name": "Analytics", "is_addon": True}]
    lines = [
        # account 1, January: Pro 1000 and Team 1000 tie (Pro, the lower id); February: two Team lines of 600 (1200
        # as a plan) beat Pro's 1000; March: a 5000 add-on beside Pro 1000, and the add-on is never the main plan
        _line(1, "a", 1000, "2026-01-01", "2026-04-01", plan_id=1),
        _line(1, "b", 1000, "2026-01-01", "2026-02-01", plan_id=2),
        _line(1, "c", 600, "2026-02-01", "2026-03-01", plan_id=2),
        _line(1, "d", 600, "2026-02-01", "2026-03-01", plan_id=2),
        _line(1, "e", 5000, "2026-03-01", "2026-04-01", plan_id=3),
        # account 2: only an add-on, so no main plan
        _line(2, "f", 700, "2026-01-01", "2026-02-01", plan_id=3),
    ]
    con = connect(engine)
    tables = register_tables(con, hub(accounts=[{}, {}], plans=plans, subscriptions=lines))
    got = revenue.account_mrr(tables, dt.date(2026, 3, 31)).to_pandas()
    main = {(r.account_id, r.month.month): None if pd.isna(r.plan_id) else int(r.plan_id) for r in got.itertuples()}
    assert main == {(1, 1): 1, (1, 2): 2, (1, 3): 1, (2, 1): None}
    march = got[(got.account_id == 1) & (got.month.dt.month == 3)].iloc[0]
    assert (march.mrr_minor, march.base_mrr_minor, march.addon_mrr_minor, march.addon_plans) == (6000, 1000, 5000, 1)


def test_each_breakdown_stacked_is_that_breakdown_alone() -> None:
    """``by_each`` stacks one summary per breakdown in one query: the rows of ``by=[breakdown]``, its values as text
    (an owner id is '2', never '2.0', though another account has no owner: '')."""
    data = revenue_hub()
    accounts = data["accounts"]
    owners = accounts.column("owner_id").to_pylist()
    owners[-1] = None  # A7 has no owner
    column = accounts.schema.get_field_index("owner_id")
    data["accounts"] = accounts.set_column(column, "owner_id", pa.array(owners, pa.int64()))
    prepared = intermediates.prepare(register_tables(connect(), data), AS_OF)

    stacked = revenue.mrr_summary(prepared, AS_OF, by_each=["owner_id", "plan"]).to_pandas()
    assert set(stacked[stacked.dimension == "owner_id"].dimension_value) == {"1", "2", ""}
    for breakdown in ("owner_id", "plan"):
        alone = revenue.mrr_summary(prepared, AS_OF, by=[breakdown]).to_pandas()
        as_text = alone[breakdown].astype("Int64") if breakdown == "owner_id" else alone[breakdown]
        alone = alone.drop(columns=breakdown).assign(dimension_value=as_text.astype("string").fillna(""))
        mine = stacked[stacked.dimension == breakdown].drop(columns="dimension")
        keys = ["currency", "month", "dimension_value"]
        pd.testing.assert_frame_equal(
            mine.sort_values(keys, ignore_index=True)[sorted(mine.columns)],
            alone.sort_values(keys, ignore_index=True)[sorted(alone.columns)],
            check_dtype=False,
        )
    with pytest.raises(InvalidInput, match="not both"):
        revenue.mrr_summary(prepared, AS_OF, by=["plan"], by_each=["region"])
