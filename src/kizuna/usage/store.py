"""Product usage events, kept as Parquet files partitioned by month under ``<data_dir>/events``.

Events are far too many for the app database (tens of millions), so they live where DuckDB and Spark read them fast::

    events/month=2026-01/<batch_key>-<n>.parquet

A batch is written under a key derived from its source (a file's SHA-256, a tracking request's id), and written
atomically (temporary file, then rename), so writing the same batch twice replaces it rather than adding it twice.
"""

from __future__ import annotations

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

    def write_batch(self, table: pa.Table, *, batch_key: str) -> int:
        """Write ``table`` (``EVENT_SCHEMA``) split by month; returns the number of rows written.

        Files of an earlier batch with the same key are replaced, so re-writing a batch is idempotent.
        """
        table = table.select(EVENT_SCHEMA.names).cast(EVENT_SCHEMA)
        if table.num_rows == 0:
            return 0
        months = pc.strftime(table["timestamp"], format="%Y-%m")
        for month in pc.unique(months).to_pylist():
            part = table.filter(pc.equal(months, month))
            folder = self.root / f"month={month}"
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / f"{batch_key}.parquet"
            tmp = folder / f".{batch_key}.{uuid.uuid4().hex}.tmp"
            pq.write_table(part, tmp, compression="zstd")
            os.replace(tmp, target)
        return table.num_rows

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
