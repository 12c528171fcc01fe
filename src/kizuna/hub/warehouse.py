"""The bridge from the app database (and the event files) to the analytics engine.

Reads each hub table through SQLAlchemy into Arrow (the same code on SQLite and PostgreSQL), then registers it with
the Ibis backend. The analytics library sees plain tables named as in the app database; it never imports the ORM.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlalchemy import BigInteger, Boolean, Date, Float, Integer, Numeric
from sqlalchemy.engine import Engine
from sqlalchemy.sql.schema import Column, Table

from kizuna.db import Base, UTCDateTime
from kizuna.errors import ConfigurationError, KizunaError
from kizuna.platform import processes
from kizuna.usage.store import EVENT_SCHEMA, EventStore

# The tables the analytics layer reads. (Audit log and import runs are not analytics inputs.)
ANALYTICS_TABLES = (
    "team_members",
    "accounts",
    "contacts",
    "products",
    "plans",
    "subscriptions",
    "invoices",
    "payments",
    "tickets",
    "survey_responses",
    "voc_entries",
    "voc_text_analysis",  # the e-mail measures' sentiment (kizuna.analytics.scoring.measures)
    "activities",
    "onboarding_milestones",
    "leads",
    "opportunities",
    "marketing_spend",
    "fx_rates",
)


def _arrow_type(column: Column[Any]) -> pa.DataType:
    t = column.type
    if isinstance(t, UTCDateTime):
        return pa.timestamp("us", tz="UTC")
    if isinstance(t, Date):
        return pa.date32()
    if isinstance(t, Boolean):
        return pa.bool_()
    if isinstance(t, (BigInteger, Integer)):
        return pa.int64()
    if isinstance(t, (Float, Numeric)):
        return pa.float64()
    return pa.string()


def arrow_schema(table: Table, columns: Sequence[str] | None = None) -> pa.Schema:
    """The Arrow schema of ``table`` (or of its ``columns``, in the table's order)."""
    return _schema(_columns(table, columns))


# What to read: table names (every column), or table names with the columns to read (None: every column).
HubRequest = Iterable[str] | Mapping[str, Sequence[str] | None]


def _columns(table: Table, wanted: Sequence[str] | None) -> list[Column[Any]]:
    if wanted is None:
        return list(table.columns)
    unknown = sorted(set(wanted) - set(table.columns.keys()))
    if unknown:
        raise KizunaError(f"table {table.name!r} has no column(s) {', '.join(unknown)}")
    return [c for c in table.columns if c.name in wanted]


def read_table(engine: Engine, name: str, *, batch_size: int = 100_000) -> pa.Table:
    """Read one app-database table into Arrow with kizuna's types (UTC timestamps, dates, int64 money).

    A SQLite file or a PostgreSQL database is read through its ADBC driver, which builds Arrow columns in C
    (PostgreSQL: binary COPY), instead of a Python object per value. SQLite's driver runs in a
    child process (:mod:`kizuna.hub.sqlite_reader`). Any other database (an in-memory SQLite) is read as driver rows.
    Either way each column is then cast to kizuna's type in one step: SQLite's timestamp and date text by Arrow's
    ISO-8601 parser (SQLAlchemy stores UTC), 0/1 to booleans.
    """
    return read_hub(engine, [name], batch_size=batch_size)[name]


def read_hub(engine: Engine, names: HubRequest = ANALYTICS_TABLES, *, batch_size: int = 100_000) -> dict[str, pa.Table]:
    """Read several tables (see :func:`read_table`) at once; ``names`` may give the columns to read of each."""
    return start_reading(engine, names, batch_size=batch_size)()


def _table(name: str) -> Table:
    """The definition of hub table ``name``: the tables are declared by their domains, which ``kizuna.models``
    (loaded by every entry point: the CLI, the web app, the migrations) imports."""
    table = Base.metadata.tables.get(name)
    if table is None:
        raise ConfigurationError(f"table {name!r} is not declared: import kizuna.models before reading the hub")
    return table


def start_reading(
    engine: Engine, names: HubRequest = ANALYTICS_TABLES, *, batch_size: int = 100_000
) -> Callable[[], dict[str, pa.Table]]:
    """:func:`read_hub` in two steps: start reading, and the function that waits for the tables and returns them.

    A SQLite file's readers start at once, in their own processes, so the caller can do other work while they read
    (the refresh starts its analytics engine meanwhile); any other database is read when the function is called.
    """
    wanted = dict(names) if isinstance(names, Mapping) else dict.fromkeys(names)
    columns = {name: _columns(_table(name), cols) for name, cols in wanted.items()}
    uri = _adbc_uri(engine)

    def read() -> dict[str, pa.Table]:
        if uri is None:
            return {name: _read_rows(engine, name, cols, batch_size) for name, cols in columns.items()}
        import adbc_driver_postgresql.dbapi as adbc

        with adbc.connect(uri) as conn:
            return {name: _read_postgres(conn, name, cols) for name, cols in columns.items()}

    raw = _start_sqlite_apart(uri, columns) if uri is not None and engine.dialect.name == "sqlite" else read

    def tables() -> dict[str, pa.Table]:
        read = raw()
        return {name: _conformed(read[name], _schema(cols)) for name, cols in columns.items()}

    return tables


def _schema(columns: list[Column[Any]]) -> pa.Schema:
    return pa.schema([pa.field(c.name, _arrow_type(c)) for c in columns])


def _adbc_uri(engine: Engine) -> str | None:
    """The ADBC connection string for ``engine``'s database, or None when it has no ADBC reader here."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        database = url.database
        return database if database and database != ":memory:" and not database.startswith("file:") else None
    if url.get_backend_name() == "postgresql":
        return url.set(drivername="postgresql").render_as_string(hide_password=False)
    return None


def _read_postgres(conn: Any, name: str, columns: list[Column[Any]]) -> pa.Table:
    with conn.cursor() as cur:
        cur.execute('SELECT {} FROM "{}"'.format(", ".join(f'"{c.name}"' for c in columns), name))
        return cur.fetch_arrow_table()


def _start_sqlite_apart(database: str, tables: dict[str, list[Column[Any]]]) -> Callable[[], dict[str, pa.Table]]:
    """Start reading the tables of a SQLite file through the ADBC driver, run by
    :func:`kizuna.hub.sqlite_reader.read_tables` in child processes (its own copy of SQLite must not share this
    process's file locks): one per core, each reading a share of the tables balanced by their cells. Returns the
    function that waits for them and returns the tables; it raises a reader's exception as the reader raised it."""
    from kizuna.hub.sqlite_reader import read_tables

    queries = {}
    for name, columns in tables.items():
        # SQLite columns hold values of any type: each is cast to its column's storage class so that a column
        # reaches the driver with one type
        select = ", ".join(f'CAST("{c.name}" AS {_sqlite_class(c)}) AS "{c.name}"' for c in columns)
        queries[name] = (f'SELECT count(*) FROM "{name}"', f'SELECT {select} FROM "{name}"')
    shares = _shares(database, {name: len(columns) for name, columns in tables.items()}, os.cpu_count() or 1)
    out = tempfile.TemporaryDirectory(prefix="kizuna-hub-")
    readers = processes.Pool(len(shares))
    path = str(Path(database).resolve())
    # every share is submitted at once, so that the readers work side by side
    reads = [readers.submit(read_tables, path, {n: queries[n] for n in share}, out.name) for share in shares]

    def finish() -> dict[str, pa.Table]:
        with out, readers:
            for read in reads:
                read.result()
            folder = Path(out.name)
            return {name: processes.read_table(folder / f"{name}.arrow") for name in queries}

    return finish


def _shares(database: str, widths: dict[str, int], parts: int) -> list[list[str]]:
    """The tables split into at most ``parts`` lists of about equal cells (rows × columns read; largest first).

    (Cells, not rows: the 400,000 leads read 12 columns where the 400,000 payments read 3.)
    """
    import sqlite3

    with closing(sqlite3.connect(Path(database).resolve().as_uri() + "?mode=ro", uri=True)) as conn:
        cells = {n: conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] * w for n, w in widths.items()}
    shares: list[list[str]] = [[] for _ in range(max(1, min(parts, len(widths))))]
    load = [0] * len(shares)
    for name in sorted(widths, key=lambda n: -cells[n]):
        lightest = load.index(min(load))
        shares[lightest].append(name)
        load[lightest] += cells[name] + 1
    return [share for share in shares if share]


def _sqlite_class(column: Column[Any]) -> str:
    kind = _arrow_type(column)
    if pa.types.is_integer(kind) or pa.types.is_boolean(kind):
        return "INTEGER"
    return "REAL" if pa.types.is_floating(kind) else "TEXT"


def _conformed(raw: pa.Table, schema: pa.Schema) -> pa.Table:
    return pa.Table.from_arrays(
        [pa.chunked_array([_conform(a, f) for a in raw.column(f.name).chunks], f.type) for f in schema],
        schema=schema,
    )


def _read_rows(engine: Engine, name: str, columns: list[Column[Any]], batch_size: int) -> pa.Table:
    """Rows straight from the driver (no per-value ORM type processing), one Arrow array per column and batch."""
    preparer = engine.dialect.identifier_preparer
    schema = _schema(columns)
    sql = "SELECT {} FROM {}".format(", ".join(preparer.quote(c.name) for c in columns), preparer.quote(name))
    batches = []
    with engine.connect() as conn:
        result = conn.exec_driver_sql(sql)
        while rows := result.fetchmany(batch_size):
            by_column = list(zip(*rows, strict=True))
            arrays = [_conform(_driver_values(v, f), f) for f, v in zip(schema, by_column, strict=True)]
            batches.append(pa.RecordBatch.from_arrays(arrays, schema=schema))
    return pa.Table.from_batches(batches, schema=schema)


def _driver_values(values: tuple[Any, ...], field: pa.Field) -> pa.Array:
    """Python values of one column as Arrow: text stays text (cast later), aware datetimes become UTC, dicts JSON."""
    if any(isinstance(v, (dict, list)) for v in values):
        return pa.array([v if v is None else json.dumps(v, ensure_ascii=False) for v in values], pa.string())
    if pa.types.is_timestamp(field.type) and not any(isinstance(v, str) for v in values):
        return pa.array([_as_utc(v) for v in values], field.type)
    return pa.array(values)


def _conform(column: pa.Array, field: pa.Field) -> pa.Array:
    """One column as read (ADBC or driver rows) cast to kizuna's Arrow type for it."""
    if isinstance(column.type, pa.ExtensionType):  # PostgreSQL json / numeric arrive as extension types over text
        column = column.storage
    kind = field.type
    if column.type == kind:
        return column
    if column.null_count == len(column):  # no value to type it (SQLite's driver then says int64)
        return pa.nulls(len(column), kind)
    if pa.types.is_timestamp(kind) and pa.types.is_string(column.type):
        return column.cast(pa.timestamp("us")).cast(kind)  # SQLite: 'YYYY-MM-DD HH:MM:SS[.ffffff]' in UTC
    return column.cast(kind)


def _as_utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def hub_tables(
    con: Any, engine: Engine, event_store: EventStore | None = None, names: HubRequest = ANALYTICS_TABLES
) -> dict[str, Any]:
    """Register the hub tables (and ``events`` if there are event files) on an Ibis backend ``con``."""
    from kizuna.analytics.engine import register_tables

    sources: dict[str, Any] = dict(read_hub(engine, names))
    sources["events"] = event_store.source() if event_store is not None else EVENT_SCHEMA.empty_table()
    return register_tables(con, sources)
