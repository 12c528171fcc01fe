"""Read SQLite tables into Arrow IPC files in a process of their own: ``python -m kizuna.hub.sqlite_reader``.

The ADBC SQLite driver carries its own copy of SQLite. Two copies of SQLite in one process break its file locking
(POSIX locks belong to the process, so one copy closing the file drops the other's locks): the app's writers then
meet "database is locked" or worse. So :mod:`kizuna.hub.warehouse` runs the driver here, in a child process, and reads
the files it writes. Input on stdin, JSON: ``{"database": path, "out": folder, "queries": {name: [count_sql, sql]}}``.
"""

from __future__ import annotations

from pathlib import Path

from kizuna.platform import processes as children


def main() -> None:
    # the driver manager's low-level API: its DB-API module imports pandas (1.5 s of a 6-s read)
    import adbc_driver_manager
    import adbc_driver_sqlite
    import pyarrow as pa

    job = children.read_job()
    out = Path(job["out"])
    database = adbc_driver_sqlite.connect(Path(job["database"]).as_uri() + "?mode=ro")
    with adbc_driver_manager.AdbcConnection(database) as conn:

        def query(sql: str, batch_rows: int | None = None) -> pa.Table:
            with adbc_driver_manager.AdbcStatement(conn) as statement:
                if batch_rows is not None:
                    statement.set_options(**{"adbc.sqlite.query.batch_rows": str(batch_rows)})
                statement.set_sql_query(sql)
                stream, _ = statement.execute_query()
                return pa.RecordBatchReader._import_from_c(stream.address).read_all()

        for name, (count_sql, sql) in job["queries"].items():
            n = query(count_sql).column(0)[0].as_py()
            # the driver infers a column's type from its first batch (an all-null batch says int64, and a later
            # text value then fails): one batch holding every row makes it see every value
            children.write_table(out / f"{name}.arrow", query(sql, batch_rows=n + 1))
    database.close()


if __name__ == "__main__":
    main()
