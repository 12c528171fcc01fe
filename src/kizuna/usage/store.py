"""Product usage events, kept as Parquet files partitioned by month under ``<data_dir>/events``.

Events are far too many for the app database (tens of millions), so they live where DuckDB and Spark read them fast::

    events/month=2026-01/<batch_key>-<n>.parquet

A batch is written under a key derived from its source (a file's SHA-256, a tracking request's id), and written
atomically (temporary file, then rename), so writing the same batch twice replaces it rather than adding it twice.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

EVENT_SCHEMA = pa.schema(
    [
        pa.field("event_id", pa.string(), nullable=False),
        pa.field("account_id", pa.int64(), nullable=False),  # kizuna's accounts.id
        pa.field("user_id", pa.string()),  # the end user (contacts.external_id where known)
        pa.field("event_name", pa.string(), nullable=False),
        pa.field("feature", pa.string()),
        pa.field("timestamp", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("properties", pa.string()),  # JSON object as text
    ]
)


class EventStore:
    """Read and write the month-partitioned event files."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def files(self) -> list[Path]:
        return sorted(self.root.glob("month=*/*.parquet")) if self.root.exists() else []

    def glob(self) -> str:
        """A glob pattern over every event file, for DuckDB or Spark readers."""
        return str(self.root / "month=*" / "*.parquet")

    def source(self) -> str | pa.Table:
        """What an analytics engine registers as the ``events`` table: the glob of the event files, or an empty table
        if there are none."""
        return self.glob() if self.files() else EVENT_SCHEMA.empty_table()

    def months(self) -> list[dt.date]:
        """First days of the months that have an event folder, oldest first."""
        found = set()
        for folder in self.root.glob("month=*") if self.root.exists() else []:
            try:
                found.add(dt.datetime.strptime(folder.name.removeprefix("month="), "%Y-%m").date())
            except ValueError:
                continue
        return sorted(found)

    def month_files(self, month: dt.date) -> list[Path]:
        """The event files of ``month`` (its events, and only its: batches are split by UTC month)."""
        return sorted((self.root / f"month={month:%Y-%m}").glob("*.parquet"))

    def write_batch(self, table: pa.Table, *, batch_key: str) -> int:
        """Write ``table`` (``EVENT_SCHEMA``) split by month; returns the number of rows written.

        Files of an earlier batch with the same key are replaced, so re-writing a batch is idempotent.
        """
        writer = EventBatchWriter(self, batch_key)
        try:
            rows = writer.write(table)
            writer.publish().commit()
        except BaseException:
            writer.abort()
            raise
        return rows

    def remove_batch(self, batch_key: str) -> None:
        for path in self.root.glob(f"month=*/{batch_key}.parquet"):
            path.unlink()

    def batch_keys(self) -> set[str]:
        return {p.stem for p in self.files()}

    def dataset(self) -> ds.Dataset:
        files = [str(p) for p in self.files()]
        return ds.dataset(files, schema=EVENT_SCHEMA, format="parquet")

    def count(self) -> int:
        return sum(pq.ParquetFile(p).metadata.num_rows for p in self.files())

    def time_range(self) -> tuple[object, object]:
        files = self.files()
        if not files:
            return (None, None)
        lo = hi = None
        for path in files:
            meta = pq.ParquetFile(path).metadata
            idx = meta.schema.to_arrow_schema().get_field_index("timestamp")
            for rg in range(meta.num_row_groups):
                stats = meta.row_group(rg).column(idx).statistics
                if stats is None or not stats.has_min_max:
                    continue
                lo = stats.min if lo is None or stats.min < lo else lo
                hi = stats.max if hi is None or stats.max > hi else hi
        return (lo, hi)


def events_table(rows: Iterable[dict[str, object]]) -> pa.Table:
    """Build an ``EVENT_SCHEMA`` table from dicts (small batches, tests, the tracking API)."""
    return pa.Table.from_pylist(list(rows), schema=EVENT_SCHEMA)


class PublishedBatch:
    """A batch just put in place by :meth:`EventBatchWriter.publish`, with the files it replaced kept aside.

    ``commit()`` forgets the replaced files; ``rollback()`` removes the batch and puts the replaced files back, so the
    store is as it was before (used when the database step that goes with the batch fails).
    """

    def __init__(self, placed: list[Path], backups: list[tuple[Path, Path]]) -> None:
        self.placed = placed
        self.backups = backups  # (backup, original)
        self.done = False

    def commit(self) -> None:
        if self.done:
            return
        for backup, _ in self.backups:
            backup.unlink(missing_ok=True)
        self.done = True

    def rollback(self) -> None:
        if self.done:
            return
        for path in self.placed:
            path.unlink(missing_ok=True)
        for backup, original in self.backups:
            if backup.exists():
                os.replace(backup, original)
        self.done = True


class EventBatchWriter:
    """Stream one batch into the month partitions without holding it in memory.

    Rows go to hidden temporary files (one Parquet writer per month, invisible to :meth:`EventStore.files`); nothing
    is visible until :meth:`publish`, which replaces any earlier files of the same batch key. :meth:`abort` removes the
    temporary files (an error or Ctrl-C half-way leaves the store untouched).

    Each month's rows are buffered up to ``row_group_rows`` so that row groups stay large (fast scans, good
    compression) even when every chunk of the source spreads over many months; at most ``buffer_rows`` rows are held.
    """

    def __init__(
        self, store: EventStore, batch_key: str, *, row_group_rows: int = 131_072, buffer_rows: int = 1_048_576
    ) -> None:
        self.store = store
        self.batch_key = batch_key
        self.row_group_rows = row_group_rows
        self.buffer_rows = buffer_rows
        self._token = uuid.uuid4().hex
        self._writers: dict[str, pq.ParquetWriter] = {}
        self._temps: dict[str, Path] = {}
        self._pending: dict[str, list[pa.Table]] = {}
        self._pending_rows: dict[str, int] = {}
        self.rows = 0

    def write(self, table: pa.Table) -> int:
        """Append ``table`` (``EVENT_SCHEMA``) to the batch; returns the number of rows written."""
        if table.num_rows == 0:
            return 0
        table = table.select(EVENT_SCHEMA.names).cast(EVENT_SCHEMA)
        # yyyymm as an integer: much cheaper than strftime on millions of rows (UTC months, as write_batch).
        stamps = table["timestamp"]
        codes = pc.add(pc.multiply(pc.year(stamps), 100), pc.month(stamps))
        for code in pc.unique(codes).to_pylist():
            part = table.filter(pc.equal(codes, code))
            month = f"{code // 100:04d}-{code % 100:02d}"
            self._pending.setdefault(month, []).append(part)
            self._pending_rows[month] = self._pending_rows.get(month, 0) + part.num_rows
            if self._pending_rows[month] >= self.row_group_rows:
                self._flush(month)
        while sum(self._pending_rows.values()) > self.buffer_rows:
            self._flush(max(self._pending_rows, key=self._pending_rows.__getitem__))
        self.rows += table.num_rows
        return int(table.num_rows)

    def _flush(self, month: str) -> None:
        parts = self._pending.pop(month, [])
        self._pending_rows.pop(month, None)
        if not parts:
            return
        writer = self._writers.get(month)
        if writer is None:
            folder = self.store.root / f"month={month}"
            folder.mkdir(parents=True, exist_ok=True)
            tmp = folder / f".{self.batch_key}.{self._token}.tmp"
            self._temps[month] = tmp
            writer = pq.ParquetWriter(tmp, EVENT_SCHEMA, compression="zstd")
            self._writers[month] = writer
        writer.write_table(pa.concat_tables(parts), row_group_size=max(self.row_group_rows * 2, 1))

    def _close(self) -> None:
        for month in list(self._pending):
            self._flush(month)
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()

    def abort(self) -> None:
        self._pending.clear()
        self._pending_rows.clear()
        self._close()
        for tmp in self._temps.values():
            tmp.unlink(missing_ok=True)
        self._temps.clear()

    def publish(self) -> PublishedBatch:
        """Put the batch in place, replacing earlier files of the same key (kept aside until commit/rollback)."""
        self._close()
        backups: list[tuple[Path, Path]] = []
        for old in self.store.root.glob(f"month=*/{self.batch_key}.parquet"):
            backup = old.with_name(f".{self.batch_key}.{self._token}.bak")
            os.replace(old, backup)
            backups.append((backup, old))
        placed: list[Path] = []
        for tmp in self._temps.values():
            target = tmp.with_name(f"{self.batch_key}.parquet")
            os.replace(tmp, target)
            placed.append(target)
        self._temps.clear()
        return PublishedBatch(placed, backups)

    def batch_rows(self) -> int:
        """Rows already in the store under this batch key (from an earlier import of the same file)."""
        return sum(
            pq.ParquetFile(p).metadata.num_rows for p in self.store.root.glob(f"month=*/{self.batch_key}.parquet")
        )
