"""The bridge from the app database (and the event files) to the analytics engine.

Reads each hub table through SQLAlchemy into Arrow (the same code on SQLite and PostgreSQL), then registers it with
the Ibis backend. The analytics library sees plain tables named as in the app database; it never imports the ORM.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

import pyarrow as pa
from sqlalchemy import JSON, BigInteger, Boolean, Date, Float, Integer, Numeric
from sqlalchemy.engine import Engine
from sqlalchemy.sql.schema import Column, Table

from kizuna import models
from kizuna.db import UTCDateTime
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
    "activities",
    "onboarding_milestones",
    "leads",
    "opportunities",
    "marketing_spend",
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


def arrow_schema(table: Table) -> pa.Schema:
    return pa.schema([pa.field(c.name, _arrow_type(c)) for c in table.columns])


def read_table(engine: Engine, name: str, *, batch_size: int = 100_000) -> pa.Table:
    """Read one app-database table into Arrow with kizuna's types (UTC timestamps, dates, int64 money).

    Rows come straight from the driver (no per-value ORM type processing) and each column is converted by Arrow in
    one vectorised step: SQLite's timestamp and date text is parsed by Arrow's ISO-8601 cast (SQLAlchemy stores UTC,
    so the parsed values are UTC), PostgreSQL's aware datetimes are converted to UTC by Arrow.
    """
    table = models.Base.metadata.tables[name]
    schema = arrow_schema(table)
    json_columns = {c.name for c in table.columns if isinstance(c.type, JSON)}
    preparer = engine.dialect.identifier_preparer
    sql = "SELECT {} FROM {}".format(
        ", ".join(preparer.quote(c.name) for c in table.columns), preparer.quote(table.name)
    )
    batches = []
    with engine.connect() as conn:
        result = conn.exec_driver_sql(sql)
        while rows := result.fetchmany(batch_size):
            columns = list(zip(*rows, strict=True))
            arrays = [
                _column(values, field, is_json=field.name in json_columns)
                for field, values in zip(schema, columns, strict=True)
            ]
            batches.append(pa.RecordBatch.from_arrays(arrays, schema=schema))
    return pa.Table.from_batches(batches, schema=schema)


def _column(values: tuple[Any, ...], field: pa.Field, *, is_json: bool) -> pa.Array:
    kind = field.type
    if is_json:
        return pa.array(
            [v if v is None or isinstance(v, str) else json.dumps(v, ensure_ascii=False) for v in values], pa.string()
        )
    if pa.types.is_timestamp(kind):
        if any(isinstance(v, str) for v in values):  # SQLite: 'YYYY-MM-DD HH:MM:SS[.ffffff]' in UTC
            return pa.array(values, pa.string()).cast(pa.timestamp("us")).cast(kind)
        return pa.array([_as_utc(v) for v in values], kind)
    if pa.types.is_date(kind) and any(isinstance(v, str) for v in values):
        return pa.array(values, pa.string()).cast(kind)
    if pa.types.is_boolean(kind) and any(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return pa.array(values, pa.int64()).cast(kind)  # SQLite stores booleans as 0/1
    return pa.array(values, kind)


def _as_utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def read_hub(engine: Engine, names: Iterable[str] = ANALYTICS_TABLES) -> dict[str, pa.Table]:
    return {name: read_table(engine, name) for name in names}


def hub_tables(
    con: Any, engine: Engine, event_store: EventStore | None = None, names: Iterable[str] = ANALYTICS_TABLES
) -> dict[str, Any]:
    """Register the hub tables (and ``events`` if there are event files) on an Ibis backend ``con``."""
    from kizuna.analytics.engine import register_tables

    sources: dict[str, Any] = dict(read_hub(engine, names))
    if event_store is not None and event_store.files():
        sources["events"] = event_store.glob()
    else:
        sources["events"] = EVENT_SCHEMA.empty_table()
    return register_tables(con, sources)
