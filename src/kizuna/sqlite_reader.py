"""Read SQLite tables into Arrow IPC files in a process of their own: ``python -m kizuna.sqlite_reader``.

The ADBC SQLite driver carries its own copy of SQLite. Two copies of SQLite in one process break its file locking
(POSIX locks belong to the process, so one copy closing the file drops the other's locks): the app's writers then
meet "database is locked" or worse. So :mod:`kizuna.warehouse` runs the driver here, in a child process, and reads
the files it writes. Input on stdin, JSON: ``{"database": path, "out": folder, "queries": {name: [count_sql, sql]}}``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main() -> None:
    import adbc_driver_sqlite.dbapi as adbc
    import pyarrow as pa

    job = json.loads(sys.stdin.read())
    out = Path(job["out"])
    uri = Path(job["database"]).as_uri() + "?mode=ro"
    with adbc.connect(uri) as conn:
        for name, (count_sql, sql) in job["queries"].items():
            with conn.cursor() as cur:
                cur.execute(count_sql)
                (n,) = cur.fetchone()  # type: ignore[misc]
                # the driver infers a column's type from its first batch (an all-null batch says int64, and a later
                # text value then fails): one batch holding every row makes it see every value
                cur.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(n + 1)})
                cur.execute(sql)
                table = cur.fetch_arrow_table()
            with pa.OSFile(str(out / f"{name}.arrow"), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
                writer.write_table(table)


if __name__ == "__main__":
    main()
