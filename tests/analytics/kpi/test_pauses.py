"""Pauses at the edges (docs/metrics.md, "Pauses: the edge cases"): a pause that starts or ends on a month's last
day, a resume dated before the pause's start or before its recorded end, a pause overlapping a cancellation notice,
and a pause across a change of currency. Each hub is one contract line of one account (as of 2026-06-15) and the
expected movements are written out from the definitions, month by month."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pytest

from kizuna.analytics.engine import connect, register_tables
from kizuna.analytics.kpi import fx, revenue, scheduled
from kizuna.analytics.kpi.snapshot import compute_snapshot
from tests.analytics.kpi.hub import d, hub

AS_OF = dt.date(2026, 6, 15)
JAN, FEB, MAR, APR, MAY, JUN = (dt.date(2026, m, 1) for m in range(1, 7))


def _line(start: str, end: str | None, *, status: str = "active", mrr: int = 10_000, **kw: Any) -> dict[str, Any]:
    return {
        "account_id": 1,
        "contract_id": "c1",
        "mrr_minor": mrr,
        "start_date": d(start),
        "end_date": d(end) if end else None,
        "status": status,
        **kw,
    }


def _tables(lines: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return register_tables(connect("duckdb"), hub(accounts=[{}], subscriptions=lines, **extra))


def _movements(tables: dict[str, Any], currency: str = "JPY") -> dict[dt.date, tuple[str, int]]:
    """``month -> (movement, MRR change)`` of the one account in ``currency``."""
    mv = revenue.mrr_movements(tables, AS_OF).to_pandas()
    mv = mv[mv.currency == currency]
    return {
        pd.Timestamp(r.month).date(): (str(r.movement), int(r.mrr_minor - r.mrr_start_minor)) for r in mv.itertuples()
    }


def _scheduled(tables: dict[str, Any]) -> pd.DataFrame:
    out = scheduled.scheduled_changes(tables, AS_OF).to_pandas()
    return out.assign(month=pd.to_datetime(out.month).dt.date).set_index("month")


def test_a_pause_from_a_month_s_last_day_is_that_month_s_pause_and_one_ending_on_it_resumes_then() -> None:
    # on hold from 31 March (the March snapshot day) to 30 April (the April snapshot day): March-end holds the pause,
    # April-end the paid line again
    tables = _tables(
        [
            _line("2026-01-01", "2026-03-31"),
            _line("2026-03-31", "2026-04-30", status="paused"),
            _line("2026-04-30", None),
        ]
    )
    assert _movements(tables) == {
        JAN: ("new", 10_000),
        FEB: ("flat", 0),
        MAR: ("pause", -10_000),
        APR: ("resume", 10_000),
        MAY: ("flat", 0),
        JUN: ("flat", 0),
    }
    on_hold = _scheduled(tables)
    assert on_hold.loc[MAR, "customers_on_pause"] == 1 and on_hold.loc[MAR, "mrr_on_pause_minor"] == 10_000
    assert APR not in on_hold.index or on_hold.loc[APR, "customers_on_pause"] == 0


def test_a_pause_from_the_next_month_s_first_day_leaves_the_month_before_alone() -> None:
    tables = _tables(
        [
            _line("2026-01-01", "2026-04-01"),
            _line("2026-04-01", "2026-05-01", status="paused"),
            _line("2026-05-01", None),
        ]
    )
    moves = _movements(tables)
    assert moves[MAR] == ("flat", 0) and moves[APR] == ("pause", -10_000) and moves[MAY] == ("resume", 10_000)


def test_a_resume_dated_before_the_pause_s_start_makes_the_pause_never_in_force() -> None:
    # the paused version ends (20 Feb) before it starts (1 Mar): nothing was on hold, the paid lines run on
    tables = _tables(
        [
            _line("2026-01-01", "2026-03-01"),
            _line("2026-03-01", "2026-02-20", status="paused"),
            _line("2026-03-01", None),
        ]
    )
    assert _movements(tables) == {JAN: ("new", 10_000), **{m: ("flat", 0) for m in (FEB, MAR, APR, MAY, JUN)}}
    on_hold = _scheduled(tables)
    assert on_hold.empty or (on_hold.customers_on_pause == 0).all()


def test_a_resume_before_the_pause_s_recorded_end_ends_the_pause_then() -> None:
    # on hold 1 April .. 1 June as recorded, but the customer paid again from 10 May: May-end is paid, not on hold
    tables = _tables(
        [
            _line("2026-01-01", "2026-04-01"),
            _line("2026-04-01", "2026-06-01", status="paused"),
            _line("2026-05-10", None),
        ]
    )
    moves = _movements(tables)
    assert moves[APR] == ("pause", -10_000) and moves[MAY] == ("resume", 10_000) and moves[JUN] == ("flat", 0)
    on_hold = _scheduled(tables)
    assert on_hold.loc[APR, "customers_on_pause"] == 1
    assert MAY not in on_hold.index or on_hold.loc[MAY, "customers_on_pause"] == 0
    assert MAY not in on_hold.index or on_hold.loc[MAY, "mrr_on_pause_minor"] == 0


def test_a_notice_given_while_paused_is_a_notice_and_the_pause_s_end_is_not_a_second_loss() -> None:
    # paid to 1 March, on hold 1 March .. 1 May; notice given on 15 March while paused, and no paid line after
    tables = _tables(
        [
            _line("2026-01-01", "2026-03-01"),
            _line("2026-03-01", "2026-05-01", status="paused", cancelled_at=d("2026-03-15")),
        ]
    )
    moves = _movements(tables)
    assert moves == {JAN: ("new", 10_000), FEB: ("flat", 0), MAR: ("pause", -10_000)}  # its MRR left at the pause
    out = _scheduled(tables)
    assert out.loc[MAR, "notices_given"] == 1
    assert (out.churn_scheduled_customers == 0).all()  # nothing in MRR is under notice while on hold
    assert out.loc[MAY, "avg_notice_days"] == (dt.date(2026, 5, 1) - dt.date(2026, 3, 15)).days


def test_a_pause_inside_a_notice_period_is_a_pause_and_the_service_end_a_churn() -> None:
    # notice on 10 Feb for a service to 1 May, with a pause in March
    notice = d("2026-02-10")
    tables = _tables(
        [
            _line("2026-01-01", "2026-03-01", cancelled_at=notice),
            _line("2026-03-01", "2026-04-01", status="paused", cancelled_at=notice),
            _line("2026-04-01", "2026-05-01", status="cancelled", cancelled_at=notice),
        ]
    )
    assert _movements(tables) == {
        JAN: ("new", 10_000),
        FEB: ("flat", 0),
        MAR: ("pause", -10_000),
        APR: ("resume", 10_000),
        MAY: ("churn", -10_000),
    }
    out = _scheduled(tables)
    assert out.loc[FEB, "notices_given"] == 1 and out.notices_given.sum() == 1
    assert out.loc[FEB, "churn_scheduled_mrr_minor"] == 10_000 and out.loc[APR, "churn_scheduled_mrr_minor"] == 10_000
    assert MAR not in out.index or out.loc[MAR, "churn_scheduled_mrr_minor"] == 0  # on hold: not in MRR
    assert out.loc[MAY, "avg_notice_days"] == (dt.date(2026, 5, 1) - dt.date(2026, 2, 10)).days


def test_a_pause_across_a_change_of_currency_resumes_in_the_new_currency() -> None:
    # ¥15,000 to 1 March, on hold in March, back from 1 April at $100 (150 JPY/USD: ¥15,000)
    lines = [
        _line("2026-01-01", "2026-03-01", mrr=15_000),
        _line("2026-03-01", "2026-04-01", status="paused", mrr=15_000),
        _line("2026-04-01", None, mrr=10_000, currency="USD"),
    ]
    tables = _tables(lines, fx_rates=[{"date": d("2026-01-01"), "currency": "USD", "rate": 150.0}])
    base = fx.in_base_currency(tables, AS_OF, base="JPY").tables
    # in the base currency: a pause and a resume of the same ¥15,000, never new or reactivated
    assert _movements(base) == {
        JAN: ("new", 15_000),
        FEB: ("flat", 0),
        MAR: ("pause", -15_000),
        APR: ("resume", 15_000),
        MAY: ("flat", 0),
        JUN: ("flat", 0),
    }
    # in each currency's own amounts: the yen left with the pause, the dollars came back as a resume, not as new
    assert _movements(tables, "JPY") == {JAN: ("new", 15_000), FEB: ("flat", 0), MAR: ("pause", -15_000)}
    assert _movements(tables, "USD") == {APR: ("resume", 10_000), MAY: ("flat", 0), JUN: ("flat", 0)}
    series = compute_snapshot(tables, AS_OF, gross_margin=0.8, base_currency="JPY")["series"]
    april = series[(series.month == APR) & (series.dimension == "currency") & (series.dimension_value == "USD")]
    values = dict(zip(april.metric, april.value, strict=True))
    assert values["resumed_customers"] == 1 and values["new_customers"] == 0 and values["resume_minor"] == 10_000
    totals = series[(series.month == APR) & (series.dimension == "") & (series.currency == "JPY")]
    totals_values = dict(zip(totals.metric, totals.value, strict=True))
    assert totals_values["new_customers"] == 0 and totals_values["reactivated_customers"] == 0
    assert totals_values["mrr_minor"] == 15_000


@pytest.mark.spark
@pytest.mark.xdist_group("spark")
def test_duckdb_and_spark_agree_on_the_pause_edges() -> None:
    from tests.analytics.kpi.parity import normalise

    notice = d("2026-02-10")
    cases = [
        [
            _line("2026-01-01", "2026-03-31"),
            _line("2026-03-31", "2026-04-30", status="paused"),
            _line("2026-04-30", None),
        ],
        [
            _line("2026-01-01", "2026-03-01"),
            _line("2026-03-01", "2026-02-20", status="paused"),
            _line("2026-03-01", None),
        ],
        [
            _line("2026-01-01", "2026-04-01"),
            _line("2026-04-01", "2026-06-01", status="paused"),
            _line("2026-05-10", None),
        ],
        [
            _line("2026-01-01", "2026-03-01"),
            _line("2026-03-01", "2026-05-01", status="paused", cancelled_at=d("2026-03-15")),
        ],
        [
            _line("2026-01-01", "2026-03-01", cancelled_at=notice),
            _line("2026-03-01", "2026-04-01", status="paused", cancelled_at=notice),
            _line("2026-04-01", "2026-05-01", status="cancelled", cancelled_at=notice),
        ],
        [
            _line("2026-01-01", "2026-03-01", mrr=15_000),
            _line("2026-03-01", "2026-04-01", status="paused", mrr=15_000),
            _line("2026-04-01", None, mrr=10_000, currency="USD"),
        ],
    ]
    lines = [{**x, "account_id": i + 1, "contract_id": f"c{i + 1}"} for i, case in enumerate(cases) for x in case]
    data = hub(
        accounts=[{} for _ in cases],
        subscriptions=lines,
        fx_rates=[{"date": d("2026-01-01"), "currency": "USD", "rate": 150.0}],
    )

    def run(con: Any) -> dict[str, pd.DataFrame]:
        tables = register_tables(con, data)
        base = fx.in_base_currency(tables, AS_OF, base="JPY").tables
        return {
            "own": normalise(revenue.mrr_movements(tables, AS_OF)),
            "base": normalise(revenue.mrr_movements(base, AS_OF)),
            "scheduled": normalise(scheduled.scheduled_changes(tables, AS_OF)),
        }

    duck, spark = run(connect("duckdb")), run(connect("spark"))
    for name, frame in duck.items():
        assert len(frame) > 0, name
        pd.testing.assert_frame_equal(frame, spark[name], check_dtype=False, check_exact=True, obj=name)
