"""Product usage events, kept as Parquet files partitioned by month under ``<data_dir>/events``.

Events are far too many for the app database (tens of millions), so they live where DuckDB and Spark read them fast::

    events/month=2026-01/<batch_key>-<n>.parquet

A batch is written under a key derived from its source (a file's SHA-256, a tracking request's id), and written
atomically (temporary file, then rename), so writing the same batch twice replaces it rather than adding it twice.

A writer killed half-way (kill -9, a power cut) must not leave hidden files behind nor, once its files are in place,
events that its database step never recorded. Each writer keeps a journal, ``events/.writers/<token>.json``, locked
(``flock``) for as long as the writer lives: created before its first temporary file, it says which files the batch
put in place and which it set aside (and, for an import, which ``import_runs`` row goes with it) before any of them is
moved. :meth:`EventStore.recover` finishes what a dead writer (an unlocked journal) left: it removes its temporary
files, and either keeps its batch (the database step committed) or puts the set-aside files back.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import logging
import os
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

log = logging.getLogger(__name__)

#: the folder of the writers' journals, under the event store's root
JOURNALS = ".writers"

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

    def recover(self, committed: Callable[[dict[str, Any]], bool]) -> RecoveredBatches:
        """Finish what writers that died left behind (see the module docstring); returns what was done.

        ``committed(record)`` says whether the database step of a batch that was being put in place committed; it is
        asked only for batches whose journal holds a ``record`` (an import's ``import_runs`` row). Others (tracking,
        demo) are kept: their files were complete before they were moved. Live writers are left alone."""
        done = RecoveredBatches()
        folder = self.root / JOURNALS
        for path in sorted(folder.glob("*.json")) if folder.exists() else []:
            journal = _Journal.take_over(path)
            if journal is None:
                continue  # its writer is alive
            try:
                state = journal.read()
                token = path.stem
                for tmp in self.root.glob(f"month=*/.*.{token}.tmp"):
                    tmp.unlink(missing_ok=True)
                    done.temporary_files += 1
                if state.get("state") == "publishing":
                    placed = [Path(p) for p in state.get("placed", [])]
                    backups = [(Path(b), Path(o)) for b, o in state.get("backups", [])]
                    record = state.get("record")
                    if record is None or committed(record):
                        for backup, _ in backups:
                            backup.unlink(missing_ok=True)
                        done.kept += 1
                    else:
                        _undo(placed, backups)
                        done.rolled_back += 1
                        log.warning("event batch %s rolled back: its import was never recorded", state.get("batch_key"))
            finally:
                journal.remove()
        for fresh in sorted(folder.glob("*.new")) if folder.exists() else []:  # killed while creating its journal
            journal = _Journal.take_over(fresh)
            if journal is not None:
                journal.remove()
        # hidden files of writers without a journal (killed before journals existed): a temporary file is never
        # published; a set-aside file goes back only where nothing replaced it
        for hidden in sorted(self.root.glob("month=*/.*")) if self.root.exists() else []:
            parts = hidden.name.rsplit(".", 2)
            if len(parts) != 3 or parts[2] not in ("tmp", "bak") or (folder / f"{parts[1]}.json").exists():
                continue
            original = hidden.with_name(f"{parts[0].removeprefix('.')}.parquet")
            if parts[2] == "bak" and not original.exists():
                os.replace(hidden, original)
            else:
                hidden.unlink(missing_ok=True)
            done.temporary_files += 1
        return done

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


@dataclass
class RecoveredBatches:
    """What :meth:`EventStore.recover` did."""

    temporary_files: int = 0  # hidden files of dead writers removed (or set-aside files put back)
    kept: int = 0  # batches whose database step had committed: their set-aside files removed
    rolled_back: int = 0  # batches whose database step never committed: removed, the files they replaced put back


class _Journal:
    """A writer's journal: a JSON file locked (``flock``, released by the kernel when the process dies) while its
    writer lives."""

    def __init__(self, path: Path, handle: IO[str]) -> None:
        self.path = path
        self._handle: IO[str] | None = handle

    @classmethod
    def create(cls, path: Path, state: dict[str, Any]) -> _Journal:
        """A new journal, locked before it appears under its name (so no recovery ever takes a live writer's)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fresh = path.with_suffix(".new")
        handle = fresh.open("w+", encoding="utf-8")
        fcntl.flock(handle, fcntl.LOCK_EX)
        journal = cls(path, handle)
        journal.write(state, durable=False)
        os.replace(fresh, path)  # the same open file: the lock goes with it
        return journal

    @classmethod
    def take_over(cls, path: Path) -> _Journal | None:
        """The journal of a dead writer, now locked by us; None when its writer still holds it (or it is gone)."""
        try:
            handle = path.open("r+", encoding="utf-8")
        except FileNotFoundError:
            return None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return None
        if not path.exists():  # removed by its writer between our open and our lock
            handle.close()
            return None
        return cls(path, handle)

    def write(self, state: dict[str, Any], *, durable: bool = True) -> None:
        assert self._handle is not None
        self._handle.seek(0)
        self._handle.truncate()
        self._handle.write(json.dumps(state))
        self._handle.flush()
        if durable:
            os.fsync(self._handle.fileno())

    def read(self) -> dict[str, Any]:
        assert self._handle is not None
        self._handle.seek(0)
        try:
            state = json.loads(self._handle.read() or "{}")
        except json.JSONDecodeError:  # killed while writing it: nothing was moved yet (it is rewritten before that)
            return {}
        return state if isinstance(state, dict) else {}

    def remove(self) -> None:
        """Delete the journal, then let go of its lock (in this order: no one may take over a finished writer)."""
        if self._handle is None:
            return
        self.path.unlink(missing_ok=True)
        self._handle.close()
        self._handle = None


def _undo(placed: list[Path], backups: list[tuple[Path, Path]]) -> None:
    for path in placed:
        path.unlink(missing_ok=True)
    for backup, original in backups:
        if backup.exists():
            os.replace(backup, original)


class PublishedBatch:
    """A batch just put in place by :meth:`EventBatchWriter.publish`, with the files it replaced kept aside.

    ``commit()`` forgets the replaced files; ``rollback()`` removes the batch and puts the replaced files back, so the
    store is as it was before (used when the database step that goes with the batch fails). Until one of them, the
    writer's journal stays locked, so that :meth:`EventStore.recover` leaves the batch alone.
    """

    def __init__(self, placed: list[Path], backups: list[tuple[Path, Path]], journal: _Journal | None = None) -> None:
        self.placed = placed
        self.backups = backups  # (backup, original)
        self.done = False
        self._journal = journal

    def commit(self) -> None:
        if self.done:
            return
        for backup, _ in self.backups:
            backup.unlink(missing_ok=True)
        self.done = True
        if self._journal is not None:
            self._journal.remove()

    def rollback(self) -> None:
        if self.done:
            return
        _undo(self.placed, self.backups)
        self.done = True
        if self._journal is not None:
            self._journal.remove()


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
        self._journal: _Journal | None = None
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
            if self._journal is None:  # before the first temporary file: recover() finds every file of ours by it
                path = self.store.root / JOURNALS / f"{self._token}.json"
                self._journal = _Journal.create(path, {"state": "writing", "batch_key": self.batch_key})
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
        if self._journal is not None:
            self._journal.remove()
            self._journal = None

    def publish(self, *, record: dict[str, Any] | None = None) -> PublishedBatch:
        """Put the batch in place, replacing earlier files of the same key (kept aside until commit/rollback).

        ``record`` names the database row that goes with the batch (an import's ``import_runs`` row, not committed
        yet); it is journalled before any file moves, so that :meth:`EventStore.recover` can tell, after a crash,
        whether to keep the batch (the row committed) or to put the replaced files back."""
        self._close()
        olds = sorted(self.store.root.glob(f"month=*/{self.batch_key}.parquet"))
        backups = [(old.with_name(f".{self.batch_key}.{self._token}.bak"), old) for old in olds]
        placed = [tmp.with_name(f"{self.batch_key}.parquet") for tmp in self._temps.values()]
        state = {
            "state": "publishing",
            "batch_key": self.batch_key,
            "placed": [str(p) for p in placed],
            "backups": [(str(b), str(o)) for b, o in backups],
            "record": record,
        }
        if self._journal is None:  # nothing was written (a file of only rejected rows): it may still replace files
            self._journal = _Journal.create(self.store.root / JOURNALS / f"{self._token}.json", state)
        # on disk before any file moves when a database row depends on it (a power cut); a kill loses no written page
        self._journal.write(state, durable=record is not None)
        moved: list[tuple[Path, Path]] = []
        put: list[Path] = []
        try:
            for backup, old in backups:
                os.replace(old, backup)
                moved.append((backup, old))
            for tmp, target in zip(self._temps.values(), placed, strict=True):
                os.replace(tmp, target)
                put.append(target)
        except BaseException:
            _undo(put, moved)  # only what was moved: an old file not yet set aside has the batch's own name
            raise
        self._temps.clear()
        journal, self._journal = self._journal, None
        return PublishedBatch(placed, backups, journal)

    def batch_rows(self) -> int:
        """Rows already in the store under this batch key (from an earlier import of the same file)."""
        return sum(
            pq.ParquetFile(p).metadata.num_rows for p in self.store.root.glob(f"month=*/{self.batch_key}.parquet")
        )
