"""Reading import files: CSV, TSV, Excel (.xlsx), Parquet and JSON Lines, as a header and numbered rows.

Text files come in the encodings Japanese teams really have: UTF-8, UTF-8 with a BOM (Excel's "CSV UTF-8"), CP932
(Excel's default "CSV" in Japan — Shift_JIS with the NEC/IBM extensions such as ①, ㈱, 髙) and UTF-16 with a BOM
(Excel's "Unicode text"). The encoding is detected unless given; a file that cannot be decoded is refused with the
byte offset and row of the first bad byte.

Row numbers are the ones a person sees: in CSV, TSV and Excel the header is row 1, so the first record is row 2; in
JSON Lines the row is the line number; in Parquet the first record is row 1.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kizuna.errors import ImportRejected

FORMATS = ("csv", "tsv", "xlsx", "parquet", "jsonl")
_EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".txt": "tsv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}
# Names people type for the encodings we read; Shift_JIS is always read as its superset CP932.
ENCODING_ALIASES = {
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "s-jis": "cp932",
    "ms932": "cp932",
    "windows-31j": "cp932",
    "cp932": "cp932",
    "utf8": "utf-8",
    "utf-8": "utf-8",
    "utf-8-sig": "utf-8-sig",
    "utf8-sig": "utf-8-sig",
    "utf8bom": "utf-8-sig",
}


@dataclass
class SourceRows:
    """A file's header and its records, each as ``(row_number, values aligned with header)``."""

    path: Path
    format: str
    encoding: str | None
    header: list[str]
    rows: Iterator[tuple[int, list[object]]]
    done: Callable[[], float] = lambda: 0.0  # the share of the file read so far, 0..1 (for progress bars)


def detect_format(path: Path, override: str | None = None) -> str:
    if override:
        fmt = override.lower().lstrip(".")
        fmt = {"excel": "xlsx", "xls": "xlsx", "json": "jsonl", "ndjson": "jsonl", "pq": "parquet"}.get(fmt, fmt)
        if fmt not in FORMATS:
            raise ImportRejected(f"{path.name}: unknown format {override!r} (use one of {', '.join(FORMATS)})")
        return fmt
    found = _EXTENSIONS.get(path.suffix.lower())
    if found is None:
        raise ImportRejected(
            f"{path.name}: cannot tell the format from the extension {path.suffix!r} "
            f"(use .csv, .tsv, .xlsx, .parquet or .jsonl, or pass the format)",
            file=path.name,
        )
    return found


def normalize_encoding(encoding: str) -> str:
    name = encoding.strip().lower()
    if name in ENCODING_ALIASES:
        return ENCODING_ALIASES[name]
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise ImportRejected(f"unknown encoding {encoding!r}") from None


def _row_of_offset(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _decode_error(path: Path, data: bytes, encoding: str, exc: UnicodeDecodeError) -> str:
    bad = data[exc.start : exc.start + 4].hex(" ")
    return f"byte offset {exc.start} (line {_row_of_offset(data, exc.start)}, bytes {bad}) is not valid {encoding}"


def sniff_encoding(data: bytes, *, final: bool) -> str | None:
    """The encoding of ``data`` (all of a file when ``final``, else its first bytes), or None if none fits."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    for encoding in ("utf-8", "cp932"):
        try:
            codecs.getincrementaldecoder(encoding)("strict").decode(data, final=final)
            return encoding
        except UnicodeDecodeError:
            continue
    return None


def decode(path: Path, data: bytes, encoding: str | None) -> tuple[str, str]:
    """Decode a whole text file; returns ``(text, encoding used)`` or refuses the file with where it went wrong."""
    if encoding:
        used = normalize_encoding(encoding)
        try:
            return data.decode(used), used
        except UnicodeDecodeError as exc:
            raise ImportRejected(
                f"{path.name}: cannot be read as {used}: {_decode_error(path, data, used, exc)}",
                file=path.name,
                encoding=used,
                offset=exc.start,
            ) from None
    detected = sniff_encoding(data, final=True)
    if detected is not None:
        return data.decode(detected), detected
    reasons = []
    for tried in ("utf-8", "cp932"):
        try:
            data.decode(tried)
        except UnicodeDecodeError as exc:
            reasons.append(f"{tried}: {_decode_error(path, data, tried, exc)}")
    raise ImportRejected(
        f"{path.name}: cannot tell the text encoding (tried UTF-8, UTF-8 with BOM and CP932/Shift_JIS) — "
        + "; ".join(reasons)
        + ". Save it as 'CSV UTF-8' or pass --encoding.",
        file=path.name,
    )


def _text_rows(path: Path, fmt: str, encoding: str | None) -> SourceRows:
    text, used = decode(path, path.read_bytes(), encoding)
    text = text.removeprefix("\ufeff")
    buffer = io.StringIO(text, newline="")
    # The csv module refuses a cell over 131,072 characters (a global limit) and cannot resume after refusing: raise
    # it to the size of this file, so that no cell can exceed it and a long cell meets its column's own limit instead
    # (kept in a text column such as a VoC entry's text, refused as "too long" in a short one).
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
    reader = csv.reader(buffer, delimiter="\t" if fmt == "tsv" else ",")
    try:
        header = next(reader)
    except StopIteration:
        raise ImportRejected(f"{path.name}: the file is empty", file=path.name) from None

    def rows() -> Iterator[tuple[int, list[object]]]:
        # A record is one spreadsheet row even when a quoted cell spans several lines.
        for number, record in enumerate(reader, start=2):
            if not any(cell.strip() for cell in record):
                continue
            yield number, list(record)

    length = max(len(text), 1)
    return SourceRows(path, fmt, used, [h.strip() for h in header], rows(), lambda: buffer.tell() / length)


def _xlsx_rows(path: Path, sheet: str | None) -> SourceRows:
    import openpyxl

    # data_only=False: a formula is read as its text ("=HYPERLINK(...)") and never evaluated.
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=False)
    except Exception as exc:  # zipfile.BadZipFile, KeyError, InvalidFileException ...
        raise ImportRejected(f"{path.name}: not a readable .xlsx workbook ({exc})", file=path.name) from None
    if sheet is not None and sheet not in book.sheetnames:
        book.close()
        raise ImportRejected(
            f"{path.name}: no sheet named {sheet!r} (sheets: {', '.join(book.sheetnames)})", file=path.name
        )
    worksheet = book[sheet] if sheet else book.worksheets[0]
    cells = worksheet.iter_rows(values_only=True)
    last_row = max(worksheet.max_row or 1, 1)
    position = [0]
    try:
        header_cells = next(cells)
    except StopIteration:
        book.close()
        raise ImportRejected(f"{path.name}: the sheet {worksheet.title!r} is empty", file=path.name) from None
    header = ["" if h is None else str(h).strip() for h in header_cells]
    while header and header[-1] == "":
        header.pop()

    def rows() -> Iterator[tuple[int, list[object]]]:
        try:
            for number, record in enumerate(cells, start=2):
                position[0] = number
                values = list(record[: len(header)])
                if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
                    continue
                values += [None] * (len(header) - len(values))
                yield number, values
        finally:
            book.close()

    return SourceRows(path, "xlsx", None, header, rows(), lambda: min(position[0] / last_row, 1.0))


def _parquet_rows(path: Path) -> SourceRows:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:
        raise ImportRejected(f"{path.name}: not a readable Parquet file ({exc})", file=path.name) from None
    header = list(parquet.schema_arrow.names)
    total = max(parquet.metadata.num_rows, 1)
    position = [0]

    def rows() -> Iterator[tuple[int, list[object]]]:
        for batch in parquet.iter_batches(batch_size=10_000):
            columns = [_python_values(batch.column(i)) for i in range(batch.num_columns)]
            for values in zip(*columns, strict=True):
                position[0] += 1
                yield position[0], list(values)

    return SourceRows(path, "parquet", None, header, rows(), lambda: position[0] / total)


def _python_values(column: Any) -> list[object]:
    """A Parquet column's values as Python objects; a column Python cannot hold (a timestamp in the year 10000)
    comes as Arrow's text of each value instead, which the column's parser then refuses naming the row."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        values: list[object] = column.to_pylist()
    except (OverflowError, ValueError):
        values = pc.cast(column, pa.string()).to_pylist()
    return values


def _jsonl_rows(path: Path, encoding: str | None) -> SourceRows:
    text, used = decode(path, path.read_bytes(), encoding)
    records: list[tuple[int, dict[str, object]]] = []
    header: dict[str, None] = {}
    for number, line in enumerate(text.removeprefix("\ufeff").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ImportRejected(
                f"{path.name}: line {number} is not JSON ({exc.msg} at column {exc.colno})", file=path.name, row=number
            ) from None
        if not isinstance(record, dict):
            raise ImportRejected(f"{path.name}: line {number} is not a JSON object", file=path.name, row=number)
        header.update(dict.fromkeys(record))
        records.append((number, record))
    names = list(header)

    position = [0]

    def rows() -> Iterator[tuple[int, list[object]]]:
        for index, (number, record) in enumerate(records, start=1):
            position[0] = index
            yield number, [_json_cell(record.get(name)) for name in names]

    total = max(len(records), 1)
    return SourceRows(path, "jsonl", used, names, rows(), lambda: position[0] / total)


def _json_cell(value: object) -> object:
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return value


def merge_header_rows(source: SourceRows) -> SourceRows:
    """A header written on two rows (SurveyMonkey's exports: the question, then under it each of its columns:
    ``Response``, ``Open-Ended Response`` or a choice) as one: a question with one column is named by the question,
    one with several by ``question / column``. A question's cell spans its columns, so a blank top cell continues
    the question on its left."""
    try:
        second_row, second = next(source.rows)
    except StopIteration:
        raise ImportRejected(
            f"{source.path.name}: the header is two rows (header_rows: 2) but the file has one", file=source.path.name
        ) from None
    if second_row != 2:
        raise ImportRejected(
            f"{source.path.name}: the header is two rows (header_rows: 2) but row 2 is blank", file=source.path.name
        )
    tops: list[str] = []
    for name in source.header:
        tops.append(name or (tops[-1] if tops else ""))
    width = {top: tops.count(top) for top in tops}
    header = []
    for index, top in enumerate(tops):
        sub = str(second[index]).strip() if index < len(second) and second[index] is not None else ""
        header.append(top if width[top] == 1 or not sub else f"{top} / {sub}" if top else sub)
    return SourceRows(source.path, source.format, source.encoding, header, source.rows, source.done)


def read_rows(
    path: Path,
    *,
    fmt: str | None = None,
    encoding: str | None = None,
    sheet: str | None = None,
    header_rows: int = 1,
) -> SourceRows:
    """Open ``path`` and return its header and numbered rows (for the entities kept in the app database);
    ``header_rows=2`` merges a header written on two rows (:func:`merge_header_rows`)."""
    if not path.exists():
        raise ImportRejected(f"{path}: no such file", file=str(path))
    fmt = detect_format(path, fmt)
    if fmt in ("csv", "tsv"):
        source = _text_rows(path, fmt, encoding)
    elif fmt == "xlsx":
        source = _xlsx_rows(path, sheet)
    elif fmt == "parquet":
        source = _parquet_rows(path)
    else:
        source = _jsonl_rows(path, encoding)
    return merge_header_rows(source) if header_rows == 2 else source
