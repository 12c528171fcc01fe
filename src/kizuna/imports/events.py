"""Importing product usage events at volume: stream, validate vectorised, write Parquet by month.

Tens of millions of events never pass through Python one by one. The file is read in chunks (Arrow's streaming CSV
reader, Parquet row batches, JSON Lines in blocks of lines); each chunk is checked with ``pyarrow.compute`` — account
key looked up in a dict of ``accounts.external_id → id`` loaded once, timestamps parsed (naive ones read in the business
time zone), required fields present — and its good rows are appended to hidden per-month Parquet files. Only after
the whole file was read are the files put in place under a batch key derived from the file's SHA-256, replacing the
files of an earlier import of the same file (so importing it again replaces rather than duplicates). If anything fails
before that, the temporary files are removed; if the database step fails (or its transaction is rolled back), the batch
is removed and the files it replaced are put back. Memory stays bounded by the chunk size.

A kill -9 cannot run any of that: the database step (the ``import_runs`` row and its audit entry) is written first, its
row journalled with the batch (:class:`kizuna.usage.store.EventBatchWriter`), and only then are the files put in place.
Every events import and every start of the app first runs :func:`recover_event_batches`, which removes a dead import's
hidden files and keeps its batch only if its ``import_runs`` row committed — never events without their history row.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from kizuna.accounts.models import Account
from kizuna.errors import ImportRejected
from kizuna.imports import created, runs
from kizuna.imports.entities import EVENTS, EventColumns
from kizuna.imports.mapping import MappingFile, plan_columns
from kizuna.imports.models import ImportRun
from kizuna.imports.readers import decode, detect_format, normalize_encoding, sniff_encoding
from kizuna.imports.rejects import RejectsWriter, rejects_path
from kizuna.imports.schemas import ImportSummary, Rejection
from kizuna.imports.values import CellError, check_text, parse_datetime, shown_value
from kizuna.settings import Settings
from kizuna.usage.store import EVENT_SCHEMA, EventBatchWriter, EventStore, PublishedBatch, RecoveredBatches

log = logging.getLogger(__name__)

CSV_BLOCK_BYTES = 16 << 20
PARQUET_BATCH_ROWS = 262_144
JSONL_BATCH_LINES = 50_000
_SNIFF_BYTES = 1 << 20

_OFFSET_AT_END = r"\d:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:Z|z|[+-]\d{2}(?::?\d{2})?)$"
_FALLBACK_FORMATS = ("%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M")
_US = pa.timestamp("us", tz="UTC")
_UNIT = "\x1f"  # separates a column's name from its value in the JSON Lines reader's note of an unreadable cell
#: the text columns of an event refused when they hold a NUL, as every import refuses it (kizuna.imports.values)
_TEXT_COLUMNS = ("event_name", "user_id", "feature", "properties", "event_id")


def _before_chunk(chunk_number: int) -> None:
    """Called before each chunk is validated (a seam for tests that interrupt an import half-way)."""


def _after_publish() -> None:
    """Called once the files are in place, before the caller commits (a seam for tests that kill an import there)."""


def recover_event_batches(session: Session, settings: Settings) -> RecoveredBatches:
    """Finish what event imports killed half-way left in the event store (``EventStore.recover``): a batch stays only
    if the ``import_runs`` row written with it committed."""

    def committed(record: dict[str, Any]) -> bool:
        run = session.get(ImportRun, record["import_run_id"])
        return (
            run is not None
            and run.entity == EVENTS
            and run.file_sha256 == record["file_sha256"]
            and run.finished_at is not None
            and run.finished_at.isoformat() == record["finished_at"]
        )

    done = EventStore(settings.events_dir).recover(committed)
    if done.temporary_files or done.kept or done.rolled_back:
        log.info(
            "event store recovered: %s hidden files removed, %s batches kept, %s rolled back",
            done.temporary_files,
            done.kept,
            done.rolled_back,
        )
    return done


class _Chunks:
    """A file's header and its chunks as Arrow tables, with the row number of each chunk's first record."""

    def __init__(
        self,
        header: list[str],
        tables: Iterator[tuple[int, pa.Table]],
        encoding: str | None,
        position: Callable[[], int],
        total: int,
    ) -> None:
        self.header = header
        self.tables = tables
        self.encoding = encoding
        self.position = position
        self.total = total


def _csv_header(path: Path, delimiter: str, encoding: str) -> list[str]:
    with path.open("rb") as handle:
        head = handle.read(_SNIFF_BYTES)
    text = head.decode(encoding, errors="replace").removeprefix("\ufeff")
    first = next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), [])
    return [h.strip() for h in first]


def _open_csv(path: Path, fmt: str, encoding: str | None, name: str) -> _Chunks:
    import pyarrow.csv as pacsv

    if encoding:
        used = normalize_encoding(encoding)
    else:
        with path.open("rb") as handle:
            sample = handle.read(_SNIFF_BYTES)
        detected = sniff_encoding(sample, final=len(sample) < _SNIFF_BYTES)
        if detected is None:
            decode(path, sample[: _SNIFF_BYTES - 4], None)  # raises the detailed error
            raise ImportRejected(f"{name}: cannot tell the text encoding", file=name)
        used = detected
    delimiter = "\t" if fmt == "tsv" else ","
    header = _csv_header(path, delimiter, used)
    if not any(header):
        raise ImportRejected(f"{name}: the file is empty", file=name)
    arrow_encoding = "utf8" if used in ("utf-8", "utf-8-sig") else used
    source = pa.OSFile(str(path), "rb")
    try:
        reader = pacsv.open_csv(
            source,
            read_options=pacsv.ReadOptions(block_size=CSV_BLOCK_BYTES, encoding=arrow_encoding),
            parse_options=pacsv.ParseOptions(delimiter=delimiter),
            convert_options=pacsv.ConvertOptions(
                column_types={h: pa.string() for h in header},
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        source.close()
        raise ImportRejected(
            f"{name}: cannot be read as {used} in its first {CSV_BLOCK_BYTES >> 20} MiB: {exc}. "
            "Pass --encoding if the file is not in this encoding.",
            file=name,
            encoding=used,
        ) from None
    names = [h.strip() for h in reader.schema.names]

    def tables() -> Iterator[tuple[int, pa.Table]]:
        row = 2
        try:
            while True:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    return
                except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
                    raise ImportRejected(
                        f"{name}: cannot be read as {used} after row {row - 1} "
                        f"(byte offset about {source.tell()}): {exc}",
                        file=name,
                        encoding=used,
                    ) from None
                table = pa.Table.from_batches([batch]).rename_columns(names)
                yield row, table
                row += batch.num_rows
        finally:
            source.close()

    size = path.stat().st_size
    return _Chunks(names, tables(), used, lambda: source.tell() if not source.closed else size, size)


def _open_parquet(path: Path, name: str) -> _Chunks:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:
        raise ImportRejected(f"{name}: not a readable Parquet file ({exc})", file=name) from None
    total_rows = max(parquet.metadata.num_rows, 1)
    size = path.stat().st_size
    done = [0]

    def tables() -> Iterator[tuple[int, pa.Table]]:
        row = 1
        for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS):
            yield row, pa.Table.from_batches([batch])
            row += batch.num_rows
            done[0] = row - 1

    return _Chunks(list(parquet.schema_arrow.names), tables(), None, lambda: size * done[0] // total_rows, size)


def _open_jsonl(path: Path, encoding: str | None, name: str) -> _Chunks:
    used = normalize_encoding(encoding) if encoding else "utf-8"
    handle = path.open("r", encoding="utf-8-sig" if used == "utf-8" else used, newline="")
    size = path.stat().st_size
    first_lines: list[tuple[int, dict[str, Any]]] = []
    header: dict[str, None] = {}

    def records() -> Iterator[tuple[int, dict[str, Any]]]:
        try:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ImportRejected(
                        f"{name}: line {number} is not JSON ({exc.msg})", file=name, row=number
                    ) from None
                if not isinstance(record, dict):
                    raise ImportRejected(f"{name}: line {number} is not a JSON object", file=name, row=number)
                yield number, record
        except UnicodeDecodeError as exc:
            raise ImportRejected(f"{name}: cannot be read as {used}: {exc}", file=name, encoding=used) from None
        finally:
            handle.close()

    stream = records()
    for number, record in stream:  # the header is the keys of the first records
        first_lines.append((number, record))
        header.update(dict.fromkeys(record))
        if len(first_lines) >= 100:
            break
    names = list(header)

    def tables() -> Iterator[tuple[int, pa.Table]]:
        pending = list(first_lines)
        for item in stream:
            pending.append(item)
            if len(pending) >= JSONL_BATCH_LINES:
                yield _jsonl_table(pending, names)
                pending = []
        if pending:
            yield _jsonl_table(pending, names)

    return _Chunks(names, tables(), used, lambda: handle.tell() if not handle.closed else size, size)


def _jsonl_table(records: list[tuple[int, dict[str, Any]]], names: list[str]) -> tuple[int, pa.Table]:
    columns: dict[str, list[object]] = {n: [] for n in names}
    lines: list[int] = []
    unreadable: list[str | None] = []  # per line: "column<US>value" of a cell that is not Unicode text, else None
    for number, record in records:
        lines.append(number)
        found = None
        for n in names:
            value = record.get(n)
            cell = (
                json.dumps(value, ensure_ascii=False)
                if isinstance(value, (dict, list))
                else (None if value is None else str(value))
            )
            if cell is not None:
                try:
                    cell.encode("utf-8")
                except UnicodeEncodeError:  # a lone surrogate ("\ud800"): Arrow and Parquet hold only UTF-8
                    cell = shown_value(cell)  # escaped: the row is refused, so this is never stored
                    found = found or f"{n}{_UNIT}{cell}"
            columns[n].append(cell)
        unreadable.append(found)
    table = pa.table({n: pa.array(v, type=pa.string()) for n, v in columns.items()})
    table = table.append_column("__unreadable", pa.array(unreadable, type=pa.string()))
    return lines[0], table.append_column("__row", pa.array(lines, type=pa.int64()))


# --- vectorised validation ---------------------------------------------------------------------------------------


def _as_text(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_struct(array.type) or pa.types.is_map(array.type) or pa.types.is_list(array.type):
        return pa.array(
            [None if v is None else json.dumps(v, ensure_ascii=False, default=str) for v in array.to_pylist()],
            type=pa.string(),
        )
    if not pa.types.is_string(array.type) and not pa.types.is_large_string(array.type):
        array = pc.cast(array, pa.string())
    trimmed = pc.utf8_trim_whitespace(array.cast(pa.string()))
    return pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed)


def _fill_with_python(result: pa.Array, source: pa.Array, tz: ZoneInfo) -> pa.Array:
    """Parse, one by one, the values the vectorised paths could not (rare spellings: 2026年1月5日 10:00 ...)."""
    missing = pc.and_(pc.is_null(result), pc.is_valid(source))
    if not pc.any(missing).as_py():
        return result
    micros = pc.fill_null(result.cast(pa.int64()), 0).to_numpy(zero_copy_only=False).copy()
    valid = pc.is_valid(result).to_numpy(zero_copy_only=False).copy()
    indices = pc.indices_nonzero(missing).to_numpy()
    for i, text in zip(indices, pc.take(source, pa.array(indices)).to_pylist(), strict=True):
        if text.isdigit() and 9 <= len(text) <= 13:  # Unix epoch seconds (10 digits) or milliseconds (13)
            micros[i] = int(text) * (1_000 if len(text) > 11 else 1_000_000)
            valid[i] = True
            continue
        try:
            parsed = parse_datetime(text, tz=tz)
        except CellError:
            continue
        micros[i] = (parsed.timestamp() * 1_000_000).__round__()
        valid[i] = True
    return pa.array(micros, type=pa.int64(), mask=~valid).cast(_US)


#: the instants an event may have: those Python can hold in any time zone (0001-01-01 00:00 in Tokyo is in the year 0
#: in UTC, which crashed an import once it reached Python)
_FIRST_US = int(dt.datetime(1, 1, 2, tzinfo=dt.UTC).timestamp() * 1_000_000)
_LAST_US = int(dt.datetime(9999, 12, 30, tzinfo=dt.UTC).timestamp() * 1_000_000)


def parse_timestamps(column: pa.ChunkedArray | pa.Array, tz: ZoneInfo) -> pa.Array:
    """Timestamps as UTC microseconds; naive values are read in ``tz``; null where a value cannot be read or is outside
    the years 1 to 9999."""
    stamps = _parse_timestamps(column, tz)
    micros = stamps.cast(pa.int64())
    inside = pc.and_(pc.greater_equal(micros, _FIRST_US), pc.less_equal(micros, _LAST_US))
    return pc.if_else(inside, stamps, pa.scalar(None, _US))


def _parse_timestamps(column: pa.ChunkedArray | pa.Array, tz: ZoneInfo) -> pa.Array:
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    zone = str(tz)
    if pa.types.is_timestamp(array.type):
        if array.type.tz is None:
            array = pc.assume_timezone(array, zone, ambiguous="earliest", nonexistent="earliest")
        return array.cast(_US)
    if pa.types.is_date(array.type):
        return pc.assume_timezone(
            array.cast(pa.timestamp("us")), zone, ambiguous="earliest", nonexistent="earliest"
        ).cast(_US)
    if pa.types.is_integer(array.type) or pa.types.is_floating(array.type):
        numbers = array.cast(pa.float64()).to_numpy(zero_copy_only=False)
        micros = np.where(np.abs(numbers) > 1e11, numbers * 1_000, numbers * 1_000_000)  # epoch ms or s
        unusable = np.isnan(micros) | (np.abs(np.nan_to_num(micros)) > 9e18)  # NaN, or past int64: no instant
        return pa.array(np.where(unusable, 0, micros).astype("int64"), mask=unusable).cast(_US)
    text = _as_text(array)
    has_offset = pc.fill_null(pc.match_substring_regex(text, _OFFSET_AT_END), False)
    naive_text = pc.if_else(has_offset, pa.scalar(None, pa.string()), text)
    aware_text = pc.if_else(has_offset, text, pa.scalar(None, pa.string()))
    try:
        naive = pc.cast(naive_text, pa.timestamp("us"))
    except pa.ArrowInvalid:
        naive = pa.nulls(len(text), pa.timestamp("us"))
        iso = pc.replace_substring(naive_text, "T", " ")
        for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d", *_FALLBACK_FORMATS):
            naive = pc.coalesce(naive, pc.strptime(iso, format=fmt, unit="us", error_is_null=True))
    local = pc.assume_timezone(naive, zone, ambiguous="earliest", nonexistent="earliest").cast(_US)
    try:
        aware = pc.cast(aware_text, _US)
    except pa.ArrowInvalid:
        aware = pa.nulls(len(text), _US)
    combined = pc.if_else(has_offset, aware, local)
    return _fill_with_python(combined, text, tz)


def _account_lookup(session: Session) -> tuple[pa.Array, pa.Array]:
    rows = session.execute(select(Account.external_id, Account.id)).all()
    keys = pa.array([str(k).strip() for k, _ in rows], type=pa.string())
    ids = pa.array([i for _, i in rows], type=pa.int64())
    return keys, ids


def import_events(
    session: Session,
    *,
    path: Path,
    sha256: str,
    settings: Settings,
    actor: str,
    encoding: str | None,
    mapping: MappingFile | None,
    dry_run: bool,
    file_format: str | None,
    display_name: str,
    progress: Callable[[int, int], None] | None,
) -> ImportSummary:
    """Import a product usage events file into the event store (see the module docstring)."""

    fmt = detect_format(path, file_format)
    if fmt == "xlsx":
        raise ImportRejected(f"{display_name}: events are imported from CSV, TSV, Parquet or JSON Lines, not Excel")
    if fmt in ("csv", "tsv"):
        chunks = _open_csv(path, fmt, encoding, display_name)
    elif fmt == "parquet":
        chunks = _open_parquet(path, display_name)
    else:
        chunks = _open_jsonl(path, encoding, display_name)
    columns = EventColumns()
    plan = plan_columns(chunks.header, known=columns.known(), entity=EVENTS, mapping=mapping)
    missing = [c for c in columns.required if c not in plan.positions]
    if not set(columns.account_keys) & set(plan.positions):
        missing.append("account_external_id (or account_id)")
    if missing:
        chunks.tables.close()  # type: ignore[attr-defined]
        raise ImportRejected(
            f"{display_name}: missing required columns for events: {', '.join(missing)}. "
            f"Found: {', '.join(chunks.header)}. Rename the headers or give a mapping file (--mapping).",
            file=display_name,
            columns=missing,
        )
    account_column = next(chunks.header[plan.positions[k]] for k in columns.account_keys if k in plan.positions)
    source_of = {column: chunks.header[index] for column, index in plan.positions.items()}

    summary = ImportSummary(
        entity=EVENTS,
        file=display_name,
        format=fmt,
        encoding=chunks.encoding,
        file_sha256=sha256,
        dry_run=dry_run,
        recognised_columns=plan.recognised,
        ignored_columns=plan.ignored,
    )
    tz = ZoneInfo(settings.timezone)
    recover_event_batches(session, settings)
    keys, ids = _account_lookup(session)
    batch_key = f"import-{sha256[:32]}"
    store = EventStore(settings.events_dir)
    writer = EventBatchWriter(store, batch_key)
    previous_rows = writer.batch_rows()
    rejects = RejectsWriter(rejects_path(settings.rejects_dir, entity=EVENTS, source=Path(display_name)))
    earliest: dict[int, dt.datetime] = {}  # each account's first event in the file: no account is younger
    try:
        with rejects:
            for number, (first_row, table) in enumerate(chunks.tables):
                _before_chunk(number)
                good = _validate_chunk(
                    table, first_row, source_of, account_column, keys, ids, tz, batch_key, rejects, summary
                )
                writer.write(good)
                _earliest_events(good, earliest)
                if progress is not None:
                    progress(chunks.position(), chunks.total)
            kept = rejects.close(keep=True)
    except BaseException:
        writer.abort()
        raise
    written = writer.rows
    if previous_rows == 0:
        summary.imported = written
    elif previous_rows == written:
        summary.unchanged = written
    else:
        summary.updated = written
    summary.rejects_path = str(kept) if kept else None
    summary.sample_rejections = rejects.sample
    if dry_run:
        writer.abort()
        return summary
    # the database step first, journalled with the batch, then the files: a kill between the two is undone at the next
    # start or import (recover_event_batches) unless the row committed
    savepoint = session.begin_nested()
    try:
        summary.created_at_dated_back = created.date_back(session, earliest)
        created.add_notes(summary)
        run = runs.record_import_run(session, summary, actor=actor)
        summary.import_run_id = run.id
        assert run.finished_at is not None
        record = {"import_run_id": run.id, "file_sha256": sha256, "finished_at": run.finished_at.isoformat()}
        published = writer.publish(record=record)
    except BaseException:
        savepoint.rollback()
        writer.abort()
        raise
    try:
        _after_publish()
        savepoint.commit()
    except BaseException:
        published.rollback()
        raise
    _follow_transaction(session, published)
    return summary


def _earliest_events(good: pa.Table, earliest: dict[int, dt.datetime]) -> None:
    """Fold the first event of each account in ``good`` into ``earliest``."""
    if not good.num_rows:
        return
    firsts = good.group_by("account_id").aggregate([("timestamp", "min")])
    for account_id, first in zip(firsts["account_id"].to_pylist(), firsts["timestamp_min"].to_pylist(), strict=True):
        if account_id not in earliest or first < earliest[account_id]:
            earliest[account_id] = first


def _follow_transaction(session: Session, published: PublishedBatch) -> None:
    """Keep the batch when the caller's transaction commits; remove it (and put back what it replaced) when that
    transaction ends otherwise.

    Only the outermost transaction decides: SQLAlchemy's ``after_rollback`` also fires when a savepoint rolls back (a
    later import in the same transaction failing), which once removed an earlier import's batch. The listeners stay on
    the session (SQLAlchemy cannot remove a listener while it runs); the first outcome wins and later calls are no-ops.
    """
    root = session.get_transaction()

    def on_commit(_session: Session) -> None:
        published.commit()

    def on_end(_session: Session, transaction: Any) -> None:
        if transaction is root:
            published.rollback()  # a no-op once committed

    event.listen(session, "after_commit", on_commit)
    event.listen(session, "after_transaction_end", on_end)


def _validate_chunk(
    table: pa.Table,
    first_row: int,
    source_of: dict[str, str],
    account_column: str,
    keys: pa.Array,
    ids: pa.Array,
    tz: ZoneInfo,
    batch_key: str,
    rejects: RejectsWriter,
    summary: ImportSummary,
) -> pa.Table:
    n = table.num_rows
    summary.rows_read += n
    if "__row" in table.column_names:
        rows = table["__row"].combine_chunks()
    else:
        rows = pa.array(np.arange(first_row, first_row + n, dtype=np.int64))

    def text(column: str) -> pa.Array:
        if column in source_of:
            return _as_text(table[source_of[column]])
        return pa.nulls(n, pa.string())

    account_keys = _as_text(table[account_column])
    account_ids = pc.take(ids, pc.index_in(account_keys, value_set=keys))
    event_name = text("event_name")
    timestamp_source = table[source_of["timestamp"]]
    timestamps = parse_timestamps(timestamp_source, tz)
    event_ids = text("event_id")
    derived_ids = pc.binary_join_element_wise(pa.scalar(batch_key), pc.cast(rows, pa.string()), ":")
    event_ids = pc.coalesce(event_ids, derived_ids)

    ok_account = pc.is_valid(account_ids)
    ok_name = pc.is_valid(event_name)
    ok_time = pc.is_valid(timestamps)
    ok = pc.and_(pc.and_(ok_account, ok_name), ok_time)
    ok_text = _storable_text(table, n, rows, source_of, text, rejects, summary.file)
    if ok_text is not None:
        ok = pc.and_(ok, ok_text)
    bad = n - pc.sum(ok.cast(pa.int64())).as_py() if n else 0
    if bad:
        summary.rejected += bad
        _write_rejects(
            pc.invert(ok),
            rows,
            account_column,
            account_keys,
            ok_account,
            source_of,
            event_name,
            ok_name,
            timestamp_source,
            ok_time,
            rejects,
            summary.file,
        )
    good = pa.table(
        {
            "event_id": event_ids,
            "account_id": account_ids,
            "user_id": text("user_id"),
            "event_name": event_name,
            "feature": text("feature"),
            "timestamp": timestamps,
            "properties": text("properties"),
        }
    )
    if bad:
        good = good.filter(ok)
    return good.cast(EVENT_SCHEMA)


def _storable_text(
    table: pa.Table,
    n: int,
    rows: pa.Array,
    source_of: dict[str, str],
    text: Callable[[str], pa.Array],
    rejects: RejectsWriter,
    file: str,
) -> pa.Array | None:
    """False for the rows with a cell no text column stores (a NUL; in JSON Lines, a lone surrogate), each written to
    the rejects naming its column; None when every row is fine (the common case costs one scan per column)."""
    bad = pa.array(np.zeros(n, dtype=bool))
    found = False
    for column in _TEXT_COLUMNS:
        if column not in source_of:
            continue
        values = text(column)
        data = values.buffers()[2]  # the characters of every cell, one buffer: a NUL is rare, look for it at C speed
        if data is None or b"\x00" not in data.to_pybytes():  # memchr: ~4x faster than match_substring
            continue
        nul = pc.fill_null(pc.match_substring(values, "\x00"), False)
        if not pc.any(nul).as_py():
            continue
        found = True
        bad = pc.or_(bad, nul)
        indices = pc.indices_nonzero(nul)
        for row, value in zip(pc.take(rows, indices).to_pylist(), pc.take(values, indices).to_pylist(), strict=True):
            try:
                check_text(value)
            except CellError as exc:
                rejects.add(Rejection(file=file, row=row, column=source_of[column], value=value, reason=str(exc)))
    if "__unreadable" in table.column_names:
        notes = table["__unreadable"].combine_chunks()
        unreadable = pc.is_valid(notes)
        if pc.any(unreadable).as_py():
            found = True
            bad = pc.or_(bad, unreadable)
            indices = pc.indices_nonzero(unreadable)
            for row, note in zip(pc.take(rows, indices).to_pylist(), pc.take(notes, indices).to_pylist(), strict=True):
                column, value = note.split(_UNIT, 1)
                reason = "not valid Unicode text (a lone surrogate such as \\ud800)"
                rejects.add(Rejection(file=file, row=row, column=column, value=value, reason=reason))
    return pc.invert(bad) if found else None


def _write_rejects(
    bad: pa.Array,
    rows: pa.Array,
    account_column: str,
    account_keys: pa.Array,
    ok_account: pa.Array,
    source_of: dict[str, str],
    event_name: pa.Array,
    ok_name: pa.Array,
    timestamp_source: pa.ChunkedArray,
    ok_time: pa.Array,
    rejects: RejectsWriter,
    file: str,
) -> None:
    indices = pc.indices_nonzero(bad)

    def take(array: pa.Array) -> list[Any]:
        return pc.take(array, indices).to_pylist()  # type: ignore[no-any-return]

    raw_time = timestamp_source.combine_chunks() if isinstance(timestamp_source, pa.ChunkedArray) else timestamp_source
    for row, key, acc_ok, name_ok, t, t_ok in zip(
        take(rows), take(account_keys), take(ok_account), take(ok_name), take(raw_time), take(ok_time), strict=True
    ):
        if not acc_ok:
            reason = "required" if key is None else f"unknown account: no accounts with external_id {key!r}"
            rejects.add(Rejection(file=file, row=row, column=account_column, value=key or "", reason=reason))
        if not name_ok:
            rejects.add(
                Rejection(
                    file=file, row=row, column=source_of.get("event_name", "event_name"), value="", reason="required"
                )
            )
        if not t_ok:
            rejects.add(
                Rejection(
                    file=file,
                    row=row,
                    column=source_of["timestamp"],
                    value="" if t is None else str(t),
                    reason="required"
                    if t is None or str(t).strip() == ""
                    else "not a timestamp (use 2026-01-05T10:00:00+09:00 or 2026-01-05 10:00:00)",
                )
            )
