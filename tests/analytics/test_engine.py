"""The analytics engines take Arrow tables with their declared types, all-null columns included."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from kizuna.analytics.engine import connect, register_tables, threads

TABLE = pa.table(
    {
        "id": pa.array([1, 2], pa.int64()),
        "end_date": pa.array([None, None], pa.date32()),  # all null: must stay a date, not VOID
        "opened_at": pa.array([dt.datetime(2026, 1, 1, tzinfo=dt.UTC)] * 2, pa.timestamp("us", tz="UTC")),
    }
)


@pytest.mark.parametrize(
    "engine",
    ["duckdb", pytest.param("spark", marks=[pytest.mark.spark, pytest.mark.xdist_group("spark")])],
)
def test_register_tables_keeps_types_of_all_null_columns(engine: str) -> None:
    con = connect(engine)  # type: ignore[arg-type]
    table = register_tables(con, {"lines": TABLE})["lines"]
    assert table.schema()["end_date"].is_date()
    counted = table.filter(table.end_date.isnull()).count().execute()
    assert counted == 2


def test_duckdb_threads_for_a_block_then_as_before() -> None:
    con = connect("duckdb", threads=2)

    def setting() -> int:
        return int(con.raw_sql("SELECT current_setting('threads')").fetchone()[0])

    with threads(con, 1):
        assert setting() == 1
    assert setting() == 2
    with pytest.raises(RuntimeError), threads(con, 1):
        raise RuntimeError("a failed refresh")
    assert setting() == 2
