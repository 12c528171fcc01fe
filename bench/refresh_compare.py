"""Compare what two refreshes stored: every table of two data directories' SQLite databases, row by row.

    cp -a demo before && cp -a demo after        # one demo, refreshed by two versions of kizuna
    PYTHONPATH=old/src kizuna --data-dir before refresh --as-of 2026-12-06
    PYTHONPATH=new/src kizuna --data-dir after refresh --as-of 2026-12-06
    .venv/bin/python bench/refresh_compare.py before after

Row ids and the columns whose name ends in ``_at`` (when a row was written) are left out, and so are the columns of
``DEFAULT_IGNORED`` (times and worker names under other names) and any named with ``--ignore table.column``; the
audit row of a model's training still differs, by the time in the model's file name it quotes. The other columns are
compared as text, each table as a sorted list of rows, so rows written in another order still match. Prints, per
table, the rows only one side holds (at most ``--show`` of them); exits 1 when any table differs. Not a test.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from collections import Counter
from pathlib import Path

DEFAULT_IGNORED = (
    "risk_models.file_name",  # the time it was saved
    "audit_log.at",
    "outbound_messages.outbox_path",  # the time it was written
    "outbound_messages.lease_owner",  # the worker process
    "outbound_messages.lease_until",
    "pending_jobs.lease_until",
)


def _rows(db: sqlite3.Connection, table: str, ignored: set[str]) -> tuple[list[str], Counter[tuple[str, ...]]]:
    columns = [
        row[1]
        for row in db.execute(f'PRAGMA table_info("{table}")')
        if row[1] != "id" and not row[1].endswith("_at") and f"{table}.{row[1]}" not in ignored
    ]
    if not columns:
        return columns, Counter()
    listed = ", ".join(f'"{c}"' for c in columns)
    cursor = db.execute(f'SELECT {listed} FROM "{table}"')
    rows = Counter(tuple("" if v is None else str(v) for v in row) for row in cursor)
    return columns, rows


def compare(before: Path, after: Path, *, ignored: set[str], show: int = 3) -> int:
    """Print the differences; return the number of tables that differ."""
    old = sqlite3.connect(f"file:{before / 'kizuna.sqlite3'}?mode=ro", uri=True)
    new = sqlite3.connect(f"file:{after / 'kizuna.sqlite3'}?mode=ro", uri=True)
    query = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
    tables = sorted({r[0] for r in old.execute(query)} | {r[0] for r in new.execute(query)})
    differing = 0
    for table in tables:
        try:
            columns, left = _rows(old, table, ignored)
            _, right = _rows(new, table, ignored)
        except sqlite3.OperationalError as exc:
            print(f"{table}: cannot compare ({exc})")
            differing += 1
            continue
        only_left, only_right = left - right, right - left
        if not only_left and not only_right:
            print(f"{table}: {sum(left.values()):,} rows, identical")
            continue
        differing += 1
        print(
            f"{table}: DIFFERS: {sum(left.values()):,} rows before, {sum(right.values()):,} after; "
            f"{sum(only_left.values()):,} only before, {sum(only_right.values()):,} only after ({', '.join(columns)})"
        )
        for label, rows in (("before", only_left), ("after", only_right)):
            for row in sorted(rows)[:show]:
                print(f"  only {label}: {row}"[:1000])
    return differing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path, help="data directory refreshed by one version")
    parser.add_argument("after", type=Path, help="data directory refreshed by the other")
    parser.add_argument("--ignore", action="append", default=list(DEFAULT_IGNORED), help="table.column to leave out")
    parser.add_argument("--show", type=int, default=3, help="rows shown of each side's difference")
    args = parser.parse_args()
    differing = compare(args.before, args.after, ignored=set(args.ignore), show=args.show)
    print(f"{differing} table(s) differ" if differing else "every table identical")
    sys.exit(1 if differing else 0)


if __name__ == "__main__":
    main()
