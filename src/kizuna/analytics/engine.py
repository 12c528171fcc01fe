"""Connect the analytics engine: DuckDB (embedded default) or Apache Spark, both through Ibis.

Every metric is written once as an Ibis expression and runs on either backend. Data reaches the engine as Arrow
tables or Parquet files (never through DuckDB's sqlite/postgres extensions, which download at run time).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa

EngineName = Literal["duckdb", "spark"]

_spark_lock = threading.Lock()


def connect(engine: EngineName = "duckdb", *, threads: int | None = None) -> Any:
    """Return an Ibis backend. Spark runs in local mode with UTC as its session time zone."""
    import ibis

    if engine == "duckdb":
        import duckdb

        con = ibis.duckdb.connect()
        if threads:
            con.raw_sql(f"SET threads = {int(threads)}")
        con.raw_sql("SET TimeZone = 'UTC'")
        # long queries would draw a progress bar on the terminal; in Jupyter DuckDB refuses any progress-bar setting
        # without ipywidgets (and draws none there)
        with contextlib.suppress(duckdb.InvalidInputException):
            con.raw_sql("SET enable_progress_bar = false")
        return con
    if engine == "spark":
        return ibis.pyspark.connect(spark_session())
    raise ValueError(f"unknown analytics engine {engine!r}: use 'duckdb' or 'spark'")


@contextmanager
def threads(con: Any, count: int) -> Iterator[None]:
    """Run DuckDB on ``count`` threads inside the block, then as before (nothing on Spark, which spreads its own)."""
    if con.name != "duckdb":
        yield
        return
    before = con.raw_sql("SELECT current_setting('threads')").fetchone()[0]
    con.raw_sql(f"SET threads = {int(count)}")
    try:
        yield
    finally:
        con.raw_sql(f"SET threads = {int(before)}")


def spark_session() -> Any:
    """The process's one local Spark session (created on first use)."""
    from pyspark.sql import SparkSession

    with _spark_lock:
        return (
            SparkSession.builder.master("local[2]")
            .appName("kizuna")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.ui.enabled", "false")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.sql.ansi.enabled", "false")
            # tables live in a directory of this process's own, never a leftover ./spark-warehouse
            .config("spark.sql.warehouse.dir", _spark_warehouse())
            .getOrCreate()
        )


def _spark_warehouse() -> str:
    import atexit
    import shutil
    import tempfile

    path = tempfile.mkdtemp(prefix="kizuna-spark-")
    atexit.register(shutil.rmtree, path, True)
    return path


def register_tables(con: Any, tables: Mapping[str, pa.Table | Path | str]) -> dict[str, Any]:
    """Make each Arrow table (or Parquet file / glob) an Ibis table on ``con``; returns name -> ibis.Table."""
    out: dict[str, Any] = {}
    for name, source in tables.items():
        if isinstance(source, pa.Table):
            if con.name == "pyspark":
                # Arrow straight into a temporary view: keeps the declared types (a column that is all null would
                # become VOID through pandas) and writes nothing to the warehouse directory
                con._session.createDataFrame(source).createOrReplaceTempView(name)
                out[name] = con.table(name)
            else:
                # a view over the Arrow table itself: nothing is copied (a copy of every hub table would be a
                # second one in memory, and time); the connection keeps the table alive
                con.con.register(name, source)
                out[name] = con.table(name)
        else:
            out[name] = con.read_parquet(str(source), table_name=name)
    return out
