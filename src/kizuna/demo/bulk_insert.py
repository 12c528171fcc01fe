"""Bulk inserts of the demo's hub rows: one compiled Core ``insert()`` per table, executemany in large batches."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert
from sqlalchemy.engine import Connection

BATCH = 20_000  # rows per executemany


def insert_rows(conn: Connection, table: Any, rows: Sequence[dict[str, Any]]) -> int:
    """Bulk insert ``rows`` (dicts with the same keys) with one compiled Core ``insert()``, executemany per batch.

    The bind processors of each column's type (``UTCDateTime``, ``Date``, ``Boolean`` ...) are applied column by column,
    then the DBAPI's executemany runs on plain tuples: the same SQL and values as ``conn.execute(insert(table), rows)``
    without SQLAlchemy's per-row parameter bookkeeping, which dominates at millions of rows.
    """
    if not rows:
        return 0
    given = list(rows[0])
    dialect = conn.dialect
    compiled = insert(table).inline().compile(dialect=dialect, column_keys=given)
    keys = list(compiled.positiontup or []) if dialect.positional else list(compiled.params)
    processors = {k: table.c[k].type.bind_processor(dialect) for k in keys}
    sql = str(compiled)
    for start in range(0, len(rows), BATCH):
        chunk = rows[start : start + BATCH]
        columns: list[list[Any]] = []
        for k in keys:
            if k in rows[0]:
                values = [r[k] for r in chunk]
            else:  # a column left to its Python-side default
                default = table.c[k].default
                value = default.arg(None) if default.is_callable else default.arg
                values = [value] * len(chunk)
            proc = processors[k]
            columns.append([None if v is None else proc(v) for v in values] if proc else values)
        tuples = zip(*columns, strict=True)
        params: list[Any] = list(tuples) if dialect.positional else [dict(zip(keys, t, strict=True)) for t in tuples]
        conn.exec_driver_sql(sql, params)
    return len(rows)
