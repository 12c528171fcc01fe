"""Behavioural churn features: one family per event type the store holds, counted point in time, identical on
DuckDB and Spark; families kept by their backtested value; probabilities calibrated on a time split."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from kizuna.analytics.engine import connect, register_tables
from kizuna.analytics.risk.behaviour import (
    LOOKBACK_DAYS,
    active_days,
    behaviour_features,
    event_counts,
    event_types,
    lifetime_counts,
    slug,
)
from kizuna.analytics.risk.selection import Calibrator, family, permutation_value
from kizuna.usage.rollups import event_rollup_dirs, event_rollups
from kizuna.usage.store import EVENT_SCHEMA, EventStore

UTC = dt.UTC
AS_OF = dt.date(2026, 3, 1)


def _events(rows: list[tuple[int, str, dt.datetime]]) -> pa.Table:
    return pa.table(
        {
            "event_id": [f"e{k}" for k in range(len(rows))],
            "account_id": [a for a, _, _ in rows],
            "user_id": [f"u{a}" for a, _, _ in rows],
            "event_name": [e for _, e, _ in rows],
            "feature": [None] * len(rows),
            "timestamp": [t for _, _, t in rows],
            "properties": [None] * len(rows),
        },
        schema=EVENT_SCHEMA,
    )


def _at(day: dt.date, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=UTC)


def _rows() -> list[tuple[int, str, dt.datetime]]:
    d = AS_OF
    rows = [
        # account 1: 3 reports in the last 30 days (two on one day), 1 in the 30 before; an export 100 days ago
        (1, "Report Created", _at(d - dt.timedelta(days=1))),
        (1, "Report Created", _at(d - dt.timedelta(days=1), 15)),
        (1, "Report Created", _at(d - dt.timedelta(days=30))),
        (1, "Report Created", _at(d - dt.timedelta(days=31))),
        (1, "export_run", _at(d - dt.timedelta(days=100))),
        # account 2: only API calls, 5 of them 45 days ago
        *[(2, "api_call", _at(d - dt.timedelta(days=45), h)) for h in range(5)],
        # on the cut-off day and after it: never counted as of AS_OF
        (1, "Report Created", dt.datetime.combine(d, dt.time(0), tzinfo=UTC)),
        (2, "api_call", _at(d + dt.timedelta(days=3))),
        # older than the look-back
        (2, "export_run", _at(d - dt.timedelta(days=400))),
    ]
    return rows


def _tables(con: Any, rows: list[tuple[int, str, dt.datetime]]) -> dict[str, Any]:
    return register_tables(con, {"events": _events(rows)})


def test_event_types_are_found_in_the_store_not_named_in_code() -> None:
    tables = _tables(connect("duckdb"), _rows())
    assert event_types(tables) == ["api_call", "Report Created", "export_run"]  # most frequent first
    assert event_types(tables, until=AS_OF - dt.timedelta(days=40)) == ["api_call", "export_run"]
    assert slug("Report Created") == "report_created"
    assert slug("  ") == "unnamed"


def test_windows_trend_share_and_recency_as_of_a_date() -> None:
    tables = _tables(connect("duckdb"), _rows())
    samples = pd.DataFrame(
        {"account_id": [1, 2, 3], "as_of": [AS_OF] * 3, "contract_seats": [2, 4, np.nan], "tenure_days": [400, 60, 10]}
    )
    f = behaviour_features(tables, samples).set_index("account_id")
    r = "ev__report_created__"
    assert f.loc[1, r + "n30"] == 3
    assert f.loc[1, r + "days30"] == 2
    assert f.loc[1, r + "per_seat30"] == 1.5
    assert f.loc[1, r + "per_day30"] == 1.5  # 3 reports over 2 active days
    assert f.loc[1, r + "trend30"] == pytest.approx(np.log(4 / 2))
    assert f.loc[1, r + "since"] == 1
    assert f.loc[1, r + "share30"] == 1.0
    assert f.loc[1, "ev__export_run__since"] == 100
    assert f.loc[1, "ev__export_run__n30"] == 0
    # the mix of event types: 30-day counts compared pairwise, most frequent type first
    assert f.loc[1, "ev_pair__api_call__report_created"] == pytest.approx(np.log(1 / 4))
    assert f.loc[1, "ev_pair__report_created__export_run"] == pytest.approx(np.log(4 / 1))
    # account 2: a young account held to its own 60 days: 5 calls then none
    assert f.loc[2, "ev__api_call__n30"] == 0
    assert f.loc[2, "ev__api_call__trend30"] == pytest.approx(np.log(1 / 6))
    assert f.loc[2, "ev__api_call__vs_base"] == pytest.approx(np.log(1 / (5 * 30 / 60 + 1)))
    assert f.loc[2, "ev_all__breadth30"] == 0 and f.loc[2, "ev_all__breadth_change"] == -1
    # account 3 never used the product: zero counts and the longest recency, no share
    assert f.loc[3, "ev_all__n30"] == 0 and f.loc[3, "ev_all__since"] == 181
    assert np.isnan(f.loc[3, r + "share30"])
    assert np.isnan(f.loc[3, r + "per_seat30"])  # seats unknown
    # the whole history, with no look-back limit: the export 400 days ago still counts
    assert f.loc[2, "ev__export_run__ever"] == 1 and f.loc[2, "ev__export_run__n30"] == 0
    assert f.loc[1, r + "ever"] == 4 and f.loc[2, "ev__api_call__ever"] == 5 and f.loc[3, r + "ever"] == 0
    # this month against the account's own 30-day rate over its tenure (4 reports in 400 days)
    assert f.loc[1, r + "vs_life"] == pytest.approx(np.log((3 + 1) / (4 * 30 / 400 + 1)))


def test_lifetime_counts_run_up_to_each_date() -> None:
    tables = _tables(connect("duckdb"), _rows())
    early = AS_OF - dt.timedelta(days=30)
    counts = lifetime_counts(tables, [early, AS_OF]).set_index(["account_id", "as_of", "event_name"])["n_ever"]
    assert counts[(1, early, "Report Created")] == 1  # the one 31 days before AS_OF
    assert counts[(1, AS_OF, "Report Created")] == 4  # not the one at 00:00 of AS_OF
    assert counts[(2, early, "api_call")] == 5 and counts[(2, AS_OF, "api_call")] == 5
    assert counts[(2, early, "export_run")] == 1
    assert lifetime_counts(tables, []).empty


@pytest.mark.parametrize("dates", [[AS_OF], [AS_OF - dt.timedelta(days=30), AS_OF]])
def test_lifetime_counts_of_a_few_dates_bucket_events_directly_with_the_same_counts(
    dates: list[dt.date], monkeypatch: pytest.MonkeyPatch
) -> None:
    from kizuna.analytics.risk import behaviour

    tables = _tables(connect("duckdb"), _rows())
    direct = lifetime_counts(tables, dates)
    monkeypatch.setattr(behaviour, "DIRECT_BUCKET_DATES", 0)  # through the daily counts, as for many dates
    pd.testing.assert_frame_equal(direct, lifetime_counts(tables, dates))
    assert not direct.empty


def test_data_on_or_after_the_date_never_changes_the_features() -> None:
    samples = pd.DataFrame({"account_id": [1, 2], "as_of": [AS_OF, AS_OF], "contract_seats": [2, 4]})
    later = [(1, "brand_new_event", _at(AS_OF + dt.timedelta(days=k))) for k in range(5)]
    before = behaviour_features(_tables(connect("duckdb"), _rows()), samples)
    after = behaviour_features(
        _tables(connect("duckdb"), _rows() + later), samples, types=["api_call", "Report Created", "export_run"]
    )
    pd.testing.assert_frame_equal(before, after)


def test_calibration_and_selection_on_a_known_signal() -> None:
    rng = np.random.default_rng(0)
    n = 4000
    signal = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(signal * 1.5 - 3)))).astype(int)
    raw = 1 / (1 + np.exp(-(signal * 4 - 1)))  # ranks well, far too confident
    cal = Calibrator("platt").fit(raw, y)
    assert np.mean((cal.transform(raw) - y) ** 2) < np.mean((raw - y) ** 2)
    iso = Calibrator("isotonic").fit(raw, y)
    assert np.mean((iso.transform(raw) - y) ** 2) < np.mean((raw - y) ** 2)
    frame = pd.DataFrame({"ev__api_call__n30": signal, "ev__api_call__trend30": signal, "noise": rng.normal(size=n)})
    frame["churned"] = y
    value = permutation_value(
        lambda f: f["ev__api_call__n30"].to_numpy(dtype=float),
        frame,
        ["ev__api_call__n30", "ev__api_call__trend30", "noise"],
    )
    assert value.iloc[0]["family"] == "events:api_call" and value.iloc[0]["auc_drop"] > 0.2
    assert value.set_index("family").loc["noise", "auc_drop"] == 0
    assert family("ev_all__n30") == "events:all" and family("tenure_days") == "tenure_days"


def test_permutation_value_on_a_matrix_equals_it_on_the_frame() -> None:
    rng = np.random.default_rng(1)
    n = 3000
    features = ["ev__api_call__n30", "noise", "ev__api_call__trend30", "seats"]
    frame = pd.DataFrame(
        {
            "ev__api_call__n30": rng.normal(size=n),
            "noise": rng.normal(size=n),
            "ev__api_call__trend30": rng.normal(size=n),
            "seats": rng.integers(1, 50, size=n),  # an integer column: converted to float like the others
        }
    )
    frame["churned"] = (rng.random(n) < 1 / (1 + np.exp(-(frame["ev__api_call__n30"] + 0.02 * frame["seats"])))).astype(
        int
    )
    weights = np.array([1.0, 0.1, 0.3, 0.05])

    def on_frame(f: pd.DataFrame) -> np.ndarray:
        return np.asarray(f[features].to_numpy(dtype=float) @ weights, dtype=float)

    by_frame = permutation_value(on_frame, frame, features, random_state=3)
    by_matrix = permutation_value(
        lambda m: np.asarray(m @ weights, dtype=float),
        frame,
        features,
        random_state=3,
        matrix=frame[features].to_numpy(dtype=float),
    )
    pd.testing.assert_frame_equal(by_frame, by_matrix)
    assert by_frame.iloc[0]["family"] == "events:api_call" and by_frame.iloc[0]["auc_drop"] > 0.05


def _random_rows(seed: int = 5) -> list[tuple[int, str, dt.datetime]]:
    """Events of 30 accounts and four types over 500 days before AS_OF, at random hours."""
    rng = np.random.default_rng(seed)
    names = ["login", "Report Created", "export_run", "api_call"]
    rows = []
    for _ in range(3000):
        day = AS_OF - dt.timedelta(days=int(rng.integers(0, 500)))
        at = dt.datetime.combine(day, dt.time(int(rng.integers(0, 24))), tzinfo=UTC)
        rows.append((int(rng.integers(1, 31)), names[int(rng.integers(0, 4))], at))
    return rows


def _sampled(dates: list[dt.date], seed: int = 6) -> pd.DataFrame:
    """A random third of the (account, date) pairs of 32 accounts (two with no event at all)."""
    every = pd.DataFrame([(a, d) for a in range(1, 33) for d in dates], columns=["account_id", "as_of"])
    return every.sample(frac=1 / 3, random_state=seed).reset_index(drop=True)


def _kept(frame: pd.DataFrame, pairs: pd.DataFrame) -> pd.DataFrame:
    return frame.merge(pairs, on=["account_id", "as_of"]).sort_values(list(frame.columns[:3])).reset_index(drop=True)


SAMPLE_DATES = [AS_OF - dt.timedelta(days=30 * k) for k in range(8, -1, -1)]


def test_counting_only_the_sampled_pairs_gives_the_whole_counts_rows_of_them() -> None:
    tables = _tables(connect("duckdb"), _random_rows())
    pairs = _sampled(SAMPLE_DATES)
    types = event_types(tables)
    for count, kwargs in (
        (event_counts, {"types": types}),
        (active_days, {}),
        (lifetime_counts, {"types": types}),
    ):
        whole = count(tables, SAMPLE_DATES, **kwargs)
        only = count(tables, SAMPLE_DATES, pairs=pairs, **kwargs)
        assert not only.empty and len(only) < len(whole)
        pd.testing.assert_frame_equal(only, _kept(whole, pairs)[list(whole.columns)], check_dtype=False)
        assert count(tables, SAMPLE_DATES, pairs=pairs.iloc[:0], **kwargs).empty
    # and the features of a share of the samples are those of the whole samples at that share
    every = pd.DataFrame([(a, d) for a in range(1, 33) for d in SAMPLE_DATES], columns=["account_id", "as_of"])
    every["contract_seats"] = every["account_id"] % 5
    every["tenure_days"] = 30 + 10 * every["account_id"]
    share = every.sample(frac=1 / 4, random_state=2)
    whole = behaviour_features(tables, every).loc[share.index]
    pd.testing.assert_frame_equal(behaviour_features(tables, share), whole)


#: a refresh in the middle of the month after AS_OF's: the rollups end on its first day
MID_MONTH = dt.date(2026, 3, 17)


def _stored(tmp_path: Any, rows: list[tuple[int, str, dt.datetime]], key: str = "batch") -> EventStore:
    """The rows as a month-partitioned event store (the rollups are kept beside its files)."""
    store = EventStore(tmp_path / "events")
    store.write_batch(_events(rows), batch_key=key)
    return store


def _rolled_rows() -> list[tuple[int, str, dt.datetime]]:
    """The random history, this month's events up to and after the refresh date, and a type seen only this month."""
    later = [
        (3, "login", _at(AS_OF + dt.timedelta(days=k), 9 + k % 10)) for k in range(0, (MID_MONTH - AS_OF).days + 3)
    ]
    return [*_random_rows(), *later, (4, "brand_new", _at(MID_MONTH - dt.timedelta(days=1)))]


def _counts_both_ways(tables: dict[str, Any], rollups: Any, dates: list[dt.date]) -> None:
    """Every count and the features, from the events alone and with the rollups: identical."""
    assert event_types(tables, until=max(dates), rollups=rollups) == event_types(tables, until=max(dates))
    types = event_types(tables, until=max(dates))
    pairs = _sampled(dates)
    for count, kwargs in (
        (event_counts, {"types": types}),
        (active_days, {}),
        (lifetime_counts, {"types": types}),
        (event_counts, {"types": types[:2], "pairs": pairs}),
        (active_days, {"pairs": pairs}),
        (lifetime_counts, {"types": types[1:], "pairs": pairs}),
    ):
        scanned = count(tables, dates, **kwargs)
        assert not scanned.empty
        pd.testing.assert_frame_equal(count(tables, dates, rollups=rollups, **kwargs), scanned)
    every = pd.DataFrame([(a, d) for a in range(1, 33) for d in dates], columns=["account_id", "as_of"])
    every["contract_seats"] = every["account_id"] % 5
    every["tenure_days"] = 30 + 10 * every["account_id"]
    pd.testing.assert_frame_equal(behaviour_features(tables, every, rollups=rollups), behaviour_features(tables, every))


@pytest.mark.parametrize("dates", [[MID_MONTH], [AS_OF, MID_MONTH], [AS_OF - dt.timedelta(days=45), MID_MONTH]])
def test_counts_read_from_the_monthly_rollups_equal_the_full_scan(tmp_path: Any, dates: list[dt.date]) -> None:
    store = _stored(tmp_path, _rolled_rows())
    tables = register_tables(connect("duckdb"), {"events": store.glob()})
    rollups = event_rollups(tables, store, MID_MONTH, days_from=MID_MONTH - dt.timedelta(days=LOOKBACK_DAYS))
    assert rollups.until == AS_OF  # (a date before it, the third case's first, is counted from the events)
    _counts_both_ways(tables, rollups, dates)


def test_event_rollups_are_reused_and_counted_again_when_a_month_changes(tmp_path: Any) -> None:
    rows = _rolled_rows()
    store = _stored(tmp_path, rows)
    tables = register_tables(connect("duckdb"), {"events": store.glob()})
    days_from = MID_MONTH - dt.timedelta(days=LOOKBACK_DAYS)
    event_rollups(tables, store, MID_MONTH, days_from=days_from)
    days_dir, months_dir = event_rollup_dirs(store)
    # every closed month stored, the current one never; the daily files of every month, read back from 180 days on
    assert {p.name for p in months_dir.glob("*.parquet")} == {f"month={m:%Y-%m}.parquet" for m in store.months()[:-1]}
    stamps = {p: p.stat().st_mtime_ns for p in [*days_dir.glob("*.parquet"), *months_dir.glob("*.parquet")]}
    rollups = event_rollups(tables, store, MID_MONTH, days_from=days_from)
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps  # read, not written
    _counts_both_ways(tables, rollups, [MID_MONTH])
    # late events of a closed month (an import of old events): that month's rollups are counted again
    late = [(1, "export_run", _at(AS_OF - dt.timedelta(days=20), h)) for h in range(6)]
    store.write_batch(_events(late), batch_key="late")
    tables = register_tables(connect("duckdb"), {"events": store.glob()})
    rollups = event_rollups(tables, store, MID_MONTH, days_from=days_from)
    changed = {p for p in stamps if p.stat().st_mtime_ns != stamps[p]}
    assert {p.name for p in changed} == {"month=2026-02.parquet"} and len(changed) == 2
    _counts_both_ways(tables, rollups, [MID_MONTH])


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    con = connect("spark")
    session = con._session
    saved = session.conf.get("spark.sql.shuffle.partitions", None)
    session.conf.set("spark.sql.shuffle.partitions", "1")
    yield con
    if saved is None:
        session.conf.unset("spark.sql.shuffle.partitions")
    else:
        session.conf.set("spark.sql.shuffle.partitions", saved)


@pytest.mark.spark
@pytest.mark.xdist_group("spark")
def test_duckdb_and_spark_count_the_same(spark: Any) -> None:
    dates = [AS_OF - dt.timedelta(days=30), AS_OF]
    duck = _tables(connect("duckdb"), _rows())
    sp = _tables(spark, _rows())
    pd.testing.assert_frame_equal(event_counts(duck, dates), event_counts(sp, dates), check_dtype=False)
    pd.testing.assert_frame_equal(active_days(duck, dates), active_days(sp, dates), check_dtype=False)
    pd.testing.assert_frame_equal(lifetime_counts(duck, dates), lifetime_counts(sp, dates), check_dtype=False)
    # the sampled pairs' counts, on both engines
    duck, sp = _tables(connect("duckdb"), _random_rows()), _tables(spark, _random_rows())
    pairs = _sampled(SAMPLE_DATES)
    for count in (event_counts, active_days, lifetime_counts):
        pd.testing.assert_frame_equal(
            count(duck, SAMPLE_DATES, pairs=pairs), count(sp, SAMPLE_DATES, pairs=pairs), check_dtype=False
        )
    samples = pd.DataFrame({"account_id": [1, 2, 1], "as_of": [AS_OF, AS_OF, dates[0]], "contract_seats": [2, 4, 2]})
    pd.testing.assert_frame_equal(behaviour_features(duck, samples), behaviour_features(sp, samples))


@pytest.mark.spark
@pytest.mark.xdist_group("spark")
def test_duckdb_and_spark_read_the_rollups_the_same(spark: Any, tmp_path: Any) -> None:
    store = _stored(tmp_path, _rolled_rows())
    days_from = MID_MONTH - dt.timedelta(days=LOOKBACK_DAYS)
    duck = register_tables(connect("duckdb"), {"events": store.glob()})
    sp = register_tables(spark, {"events": store.glob()})
    duck_rollups = event_rollups(duck, store, MID_MONTH, days_from=days_from)
    sp_rollups = event_rollups(sp, store, MID_MONTH, days_from=days_from)  # (reads the files DuckDB wrote)
    _counts_both_ways(sp, sp_rollups, [MID_MONTH])
    samples = pd.DataFrame({"account_id": [1, 2, 3, 4], "as_of": [MID_MONTH] * 4, "contract_seats": [2, 4, 2, 1]})
    pd.testing.assert_frame_equal(
        behaviour_features(duck, samples, rollups=duck_rollups), behaviour_features(sp, samples, rollups=sp_rollups)
    )
    # the rollups written by Spark's counting equal DuckDB's
    for folder in event_rollup_dirs(store):
        for path in folder.glob("*.parquet"):
            path.unlink()
    sp_rollups = event_rollups(sp, store, MID_MONTH, days_from=days_from)
    pd.testing.assert_frame_equal(
        behaviour_features(duck, samples, rollups=duck_rollups), behaviour_features(sp, samples, rollups=sp_rollups)
    )
