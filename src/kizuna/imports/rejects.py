"""The rejects file: one line per refused cell, in a CSV that Excel opens safely.

UTF-8 with a BOM (so Excel in Japan does not read it as CP932), columns ``file, row, column, value, reason``, and every
value that looks like a formula (``=``, ``+``, ``-``, ``@`` at the start) prefixed with ``'`` so that opening the file
never runs it.
"""

from __future__ import annotations

import csv
import datetime as dt
import fcntl
import os
import re
from pathlib import Path
from types import TracebackType

from kizuna.imports.schemas import Rejection
from kizuna.imports.values import neutralize_formula

REJECTS_HEADER = ("file", "row", "column", "value", "reason")
SAMPLE_SIZE = 20


def rejects_path(rejects_dir: Path, *, entity: str, source: Path) -> Path:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
    stem = re.sub(r"[^\w.-]+", "_", source.stem)[:80]
    return rejects_dir / f"{entity}-{stem}-{stamp}.csv"


class RejectsWriter:
    """Collects rejections, streaming them to a temporary file; ``close()`` keeps the file only if it is not empty."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self._tmp = target.with_name(f".{target.name}.tmp")
        self._handle: object | None = None
        self._writer: csv.DictWriter[str] | None = None
        self.rows: set[int] = set()
        self.count = 0
        self.sample: list[Rejection] = []

    def add(self, rejection: Rejection) -> None:
        if self._writer is None:
            self.target.parent.mkdir(parents=True, exist_ok=True)
            handle = open(self._tmp, "w", encoding="utf-8-sig", newline="")  # noqa: SIM115 - closed in close()
            fcntl.flock(handle, fcntl.LOCK_EX)  # held while we live: remove_dead_rejects leaves this file alone
            self._handle = handle
            self._writer = csv.DictWriter(handle, fieldnames=REJECTS_HEADER)
            self._writer.writeheader()
        self._writer.writerow(
            {
                "file": neutralize_formula(rejection.file),
                "row": rejection.row,
                "column": neutralize_formula(rejection.column),
                "value": neutralize_formula(rejection.value),
                "reason": neutralize_formula(rejection.reason),
            }
        )
        self.count += 1
        self.rows.add(rejection.row)
        if len(self.sample) < SAMPLE_SIZE:
            self.sample.append(rejection)

    def close(self, *, keep: bool = True) -> Path | None:
        """Finish the file; returns its path, or None when nothing was rejected (or ``keep`` is false)."""
        if self._handle is None:
            return None
        self._handle.close()  # type: ignore[attr-defined]
        self._handle = None
        if not keep:
            self._tmp.unlink(missing_ok=True)
            return None
        os.replace(self._tmp, self.target)
        return self.target

    def __enter__(self) -> RejectsWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is not None:
            self.close(keep=False)


def remove_dead_rejects(rejects_dir: Path) -> int:
    """Remove the temporary rejects files of imports that were killed (their lock is free); returns how many."""
    removed = 0
    for tmp in sorted(rejects_dir.glob(".*.tmp")) if rejects_dir.exists() else []:
        try:
            handle = tmp.open("rb")
        except FileNotFoundError:
            continue
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # an import is writing it
            tmp.unlink(missing_ok=True)
            removed += 1
    return removed


def read_rejects(path: Path, *, limit: int = 200) -> list[dict[str, str]]:
    """The first ``limit`` lines of a rejects file, as written (``file, row, column, value, reason``)."""
    out: list[dict[str, str]] = []
    # files written before values were cut at SHOWN_VALUE_CHARS may hold cells past the csv module's default limit
    csv.field_size_limit(max(csv.field_size_limit(), path.stat().st_size + 1))
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for line in csv.DictReader(handle):
            out.append({k: line.get(k) or "" for k in REJECTS_HEADER})
            if len(out) >= limit:
                break
    return out
