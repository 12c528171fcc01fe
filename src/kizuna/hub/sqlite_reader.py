"""Read SQLite tables with the ADBC driver in a process of its own (a :class:`~kizuna.platform.processes.Pool` task).

The ADBC SQLite driver carries its own copy of SQLite. Two copies of SQLite in one process break its file locking
(POSIX locks belong to the process, so one copy closing the file drops the other's locks): the app's writers then
meet "database is locked" or worse. So :mod:`kizuna.hub.warehouse` runs :func:`read_tables` in child processes, one
per core, each given a share of the tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from kizuna.errors import KizunaError
from kizuna.platform import processes


def read_tables(database: str, queries: Mapping[str, tuple[str, str]], out: str) -> None:
    """Run each table's ``(count_sql, sql)`` of ``queries`` on the SQLite file ``database`` (read only) and write
    the result to ``out/<name>.arrow`` (an Arrow IPC file for :func:`~kizuna.platform.processes.read_table`).

    KizunaError naming the table and the file if the driver fails.
    """
    # the driver manager's low-level API: its DB-API module imports pandas, which this process does not need
    import adbc_driver_manager
    import adbc_driver_sqlite
    import pyarrow as pa

    handle = adbc_driver_sqlite.connect(Path(database).as_uri() + "?mode=ro")
    try:
        with adbc_driver_manager.AdbcConnection(handle) as conn:

            def query(sql: str, batch_rows: int | None = None) -> pa.Table:
                with adbc_driver_manager.AdbcStatement(conn) as statement:
                    if batch_rows is not None:
                        statement.set_options(**{"adbc.sqlite.query.batch_rows": str(batch_rows)})
                    statement.set_sql_query(sql)
                    stream, _ = statement.execute_query()
                    return pa.RecordBatchReader._import_from_c(stream.address).read_all()

            for name, (count_sql, sql) in queries.items():
                try:
                    n = query(count_sql).column(0)[0].as_py()
                    # the driver infers a column's type from its first batch (an all-null batch says int64, and a
                    # later text value then fails): one batch holding every row makes it see every value
                    table = query(sql, batch_rows=n + 1)
                except adbc_driver_manager.Error as error:
                    # (the driver's errors cannot be rebuilt from their message alone: this one reaches the parent)
                    raise KizunaError(f"reading {name!r} from {database} failed: {error}", table=name) from error
                processes.write_table(Path(out) / f"{name}.arrow", table)
    finally:
        handle.close()
