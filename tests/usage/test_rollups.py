"""Monthly usage rollups: equal to the KPI library's own account-months, reused while a month's files stay the same,
computed again when they change, and never stored for the month that holds the cut-off."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from kizuna.analytics.engine import connect, register_tables
from kizuna.analytics.kpi.usage import account_months as direct_account_months
from kizuna.usage.rollups import account_months, rollup_dir, stale_months
from kizuna.usage.store import EventStore, events_table


def _at(day: str) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC)


def _write(store: EventStore, key: str, rows: list[tuple[int, str | None, str, str]]) -> None:
    store.write_batch(
        events_table(
            {"event_id": f"{key}-{i}", "account_id": a, "user_id": u, "event_name": name, "timestamp": _at(when)}
            for i, (a, u, name, when) in enumerate(rows)
        ),
        batch_key=key,
    )


def _frame(table: object) -> pd.DataFrame:
    frame = table.to_pandas().sort_values(["month", "account_id"], ignore_index=True)  # type: ignore[attr-defined]
    stamps = pd.to_datetime(frame.last_login_at)  # (Spark hands back naive UTC times)
    stamps = stamps.dt.tz_localize("UTC") if stamps.dt.tz is None else stamps.dt.tz_convert("UTC")
    return frame.assign(month=pd.to_datetime(frame.month).dt.date, last_login_at=stamps.astype("datetime64[us, UTC]"))


def _both(store: EventStore, as_of: dt.date) -> tuple[pd.DataFrame, pd.DataFrame]:
    tables = register_tables(connect(), {"events": store.glob()})
    return _frame(account_months(tables, store, as_of)), _frame(direct_account_months(tables, as_of))


def _store(tmp_path: Path) -> EventStore:
    store = EventStore(tmp_path / "events")
    _write(
        store,
        "first",
        [
            (1, "u1", "login", "2026-01-05 09:00"),
            (1, "u2", "report_viewed", "2026-01-31 23:59:59"),
            (1, None, "page_viewed", "2026-02-01 00:00"),  # anonymous: an event, not a user
            (2, "u9", "login", "2026-02-14 10:00"),
            (1, "u1", "login", "2026-03-10 08:00"),
            (1, "u1", "report_viewed", "2026-03-20 08:00"),  # after a cut-off of 2026-03-15
        ],
    )
    return store


def test_rollups_equal_the_direct_computation_and_are_reused(tmp_path: Path) -> None:
    store = _store(tmp_path)
    as_of = dt.date(2026, 3, 15)
    assert stale_months(store, as_of) == [dt.date(2026, 1, 1), dt.date(2026, 2, 1)]  # closed, never computed
    rolled, direct = _both(store, as_of)
    pd.testing.assert_frame_equal(rolled, direct)
    assert stale_months(store, as_of) == []
    jan = rolled[rolled.month == dt.date(2026, 1, 1)].iloc[0]
    assert (jan.users, jan.events, jan.logins) == (2, 2, 1)
    march = rolled[rolled.month == dt.date(2026, 3, 1)]
    assert march.events.tolist() == [1]  # the 03-20 event is after the cut-off
    # January and February are closed and stored; March holds the cut-off and is not
    files = sorted(p.name for p in rollup_dir(store).glob("*.parquet"))
    assert files == ["month=2026-01.parquet", "month=2026-02.parquet"]

    stamps = {p: p.stat().st_mtime_ns for p in rollup_dir(store).glob("*.parquet")}
    again, _ = _both(store, as_of)
    pd.testing.assert_frame_equal(again, direct)
    assert {p: p.stat().st_mtime_ns for p in rollup_dir(store).glob("*.parquet")} == stamps  # read, not written


def test_a_month_whose_files_change_is_computed_again(tmp_path: Path) -> None:
    store = _store(tmp_path)
    as_of = dt.date(2026, 3, 15)
    _both(store, as_of)
    _write(store, "late", [(2, "u8", "login", "2026-02-20 10:00"), (3, "u7", "page_viewed", "2026-01-02 10:00")])
    assert stale_months(store, as_of) == [dt.date(2026, 1, 1), dt.date(2026, 2, 1)]
    rolled, direct = _both(store, as_of)
    pd.testing.assert_frame_equal(rolled, direct)
    feb = rolled[(rolled.month == dt.date(2026, 2, 1)) & (rolled.account_id == 2)].iloc[0]
    assert (feb.users, feb.logins) == (2, 2)

    store.remove_batch("late")  # a batch taken back: its months change again
    rolled, direct = _both(store, as_of)
    pd.testing.assert_frame_equal(rolled, direct)
    assert 3 not in set(rolled.account_id)


def test_an_earlier_as_of_uses_only_what_was_known_then(tmp_path: Path) -> None:
    store = _store(tmp_path)
    _both(store, dt.date(2026, 3, 15))  # January and February stored
    rolled, direct = _both(store, dt.date(2026, 2, 1))  # the cut-off is February's first instant
    pd.testing.assert_frame_equal(rolled, direct)
    assert set(rolled.month) == {dt.date(2026, 1, 1)}


@pytest.mark.spark
@pytest.mark.xdist_group("spark")
def test_rollups_on_spark_equal_those_on_duckdb(tmp_path: Path) -> None:
    store = _store(tmp_path)
    as_of = dt.date(2026, 3, 15)
    on_duckdb, _ = _both(store, as_of)  # stores January and February
    spark = register_tables(connect("spark"), {"events": store.glob()})
    pd.testing.assert_frame_equal(_frame(account_months(spark, store, as_of)), on_duckdb)  # reads them back
    pd.testing.assert_frame_equal(_frame(direct_account_months(spark, as_of)), on_duckdb)


def test_closed_account_months_are_the_closed_rows_of_the_account_months(tmp_path: Path) -> None:
    from kizuna.usage.rollups import closed_account_months

    store = _store(tmp_path)
    as_of = dt.date(2026, 3, 15)
    tables = register_tables(connect(), {"events": store.glob()})
    closed = _frame(closed_account_months(tables, store, as_of))  # computed (nothing stored yet) and stored
    _, direct = _both(store, as_of)
    expected = direct[direct.month < dt.date(2026, 3, 1)].reset_index(drop=True)
    pd.testing.assert_frame_equal(closed, expected)
    assert stale_months(store, as_of) == []
    pd.testing.assert_frame_equal(_frame(closed_account_months(tables, store, as_of)), expected)  # read back


def _features(tmp_path: Path) -> EventStore:
    store = EventStore(tmp_path / "events")
    rows = [
        (1, "u1", "report_viewed", "2025-08-03 10:00", "reports"),  # before the six months feature adoption reads
        (1, "u1", "report_viewed", "2026-01-05 09:00", "reports"),
        (1, "u2", "report_viewed", "2026-01-31 23:59:59", "reports"),  # the same account and feature: counted once
        (2, "u9", "export_done", "2026-01-14 10:00", "export"),
        (2, None, "login", "2026-02-01 00:00", None),  # active, no feature
        (3, "u7", "report_viewed", "2026-02-02 00:00", "reports"),
        (1, "u1", "export_done", "2026-03-10 08:00", "export"),
        (2, "u9", "report_viewed", "2026-03-20 08:00", "reports"),  # after a cut-off of 2026-03-15
    ]
    store.write_batch(
        events_table(
            {
                "event_id": f"f-{i}",
                "account_id": a,
                "user_id": u,
                "event_name": name,
                "timestamp": _at(when),
                "feature": feature,
            }
            for i, (a, u, name, when, feature) in enumerate(rows)
        ),
        batch_key="features",
    )
    return store


def _adoption(tables: dict[str, object], as_of: dt.date) -> pd.DataFrame:
    from kizuna.analytics.kpi.usage import feature_adoption

    frame = feature_adoption(tables, as_of).to_pandas()  # type: ignore[arg-type]
    return frame.assign(month=pd.to_datetime(frame.month).dt.date).reset_index(drop=True)


@pytest.mark.parametrize(
    "engine", ["duckdb", pytest.param("spark", marks=[pytest.mark.spark, pytest.mark.xdist_group("spark")])]
)
def test_feature_adoption_from_the_feature_rollups_equals_the_direct_computation(tmp_path: Path, engine: str) -> None:
    from kizuna.analytics.kpi._common import prepared_key
    from kizuna.usage.rollups import feature_months, feature_rollup_dir

    store = _features(tmp_path)
    as_of = dt.date(2026, 3, 15)
    tables = register_tables(connect(engine), {"events": store.glob()})
    direct = _adoption(tables, as_of)
    assert direct.loc[:, ["month", "feature", "accounts", "active_accounts"]].values.tolist() == [
        [dt.date(2026, 1, 1), "export", 1, 2],
        [dt.date(2026, 1, 1), "reports", 1, 2],
        [dt.date(2026, 2, 1), "reports", 1, 2],
        [dt.date(2026, 3, 1), "export", 1, 1],
    ]
    for _ in range(2):  # written, then read back
        prepared = {**tables, prepared_key("feature_months", as_of): feature_months(tables, store, as_of)}
        pd.testing.assert_frame_equal(_adoption(prepared, as_of), direct)
    # the closed months of the six before March's are stored; March holds the cut-off and August 2025 is too old
    files = sorted(p.name for p in feature_rollup_dir(store).glob("*.parquet"))
    assert files == ["month=2026-01.parquet", "month=2026-02.parquet"]

    # a late batch for January: that month is computed again
    store.write_batch(
        events_table(
            [
                {
                    "event_id": "late",
                    "account_id": 4,
                    "user_id": "u4",
                    "event_name": "export_done",
                    "timestamp": _at("2026-01-20 10:00"),
                    "feature": "export",
                }
            ]
        ),
        batch_key="late",
    )
    tables = register_tables(connect(engine), {"events": store.glob()})
    prepared = {**tables, prepared_key("feature_months", as_of): feature_months(tables, store, as_of)}
    again = _adoption(prepared, as_of)
    pd.testing.assert_frame_equal(again, _adoption(tables, as_of))
    january = again[(again.month == dt.date(2026, 1, 1)) & (again.feature == "export")].iloc[0]
    assert (january.accounts, january.active_accounts) == (2, 3)
