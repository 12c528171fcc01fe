"""CSV and Excel downloads of list pages, safe from formula injection.

A text cell that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, tab or carriage
return) is prefixed with a single quote, as OWASP recommends; numbers stay numbers.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import quote

from fastapi.responses import Response

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def safe_cell(value: Any) -> Any:
    """The value as it may go into a spreadsheet cell: formulas neutralised, dates as ISO text, None as blank."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return value
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def _disposition(filename: str) -> str:
    ascii_name = filename.encode("ascii", "ignore").decode() or "export"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


def csv_bytes(columns: Sequence[tuple[str, str]], rows: Iterable[dict[str, Any]]) -> bytes:
    """UTF-8 with BOM so Excel on Japanese Windows opens it without mojibake."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([safe_cell(label) for _, label in columns])
    for row in rows:
        writer.writerow([safe_cell(row.get(key)) for key, _ in columns])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def xlsx_bytes(columns: Sequence[tuple[str, str]], rows: Iterable[dict[str, Any]], *, sheet: str = "kizuna") -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    worksheet = workbook.create_sheet(title=sheet[:31])
    worksheet.append([safe_cell(label) for _, label in columns])
    for row in rows:
        worksheet.append([safe_cell(row.get(key)) for key, _ in columns])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def export_response(
    fmt: str, *, filename: str, columns: Sequence[tuple[str, str]], rows: Iterable[dict[str, Any]]
) -> Response:
    """A download of ``rows`` as ``csv`` or ``xlsx`` (``filename`` without extension)."""
    if fmt == "xlsx":
        return Response(
            xlsx_bytes(columns, rows),
            media_type=XLSX_MEDIA_TYPE,
            headers={"Content-Disposition": _disposition(f"{filename}.xlsx")},
        )
    return Response(
        csv_bytes(columns, rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": _disposition(f"{filename}.csv")},
    )
