"""The event store's streaming batch writer: invisible until published, replaceable, and undoable."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from kizuna.usage.store import EventBatchWriter, EventStore, events_table


def _events(n: int, *, month: int, account: int = 1) -> object:
    at = dt.datetime(2026, month, 10, tzinfo=dt.UTC)
    return events_table(
        {"event_id": f"e{month}-{i}", "account_id": account, "event_name": "login", "timestamp": at} for i in range(n)
    )


def test_a_batch_is_invisible_until_published_and_replaces_the_same_key(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "events")
    writer = EventBatchWriter(store, "import-abc")
    writer.write(_events(3, month=1))  # type: ignore[arg-type]
    writer.write(_events(2, month=2))  # type: ignore[arg-type]
    writer.write(_events(1, month=1))  # type: ignore[arg-type]
    assert store.files() == [] and writer.rows == 6
    writer.publish().commit()
    assert store.count() == 6 and [p.parent.name for p in store.files()] == ["month=2026-01", "month=2026-02"]

    again = EventBatchWriter(store, "import-abc")
    assert again.batch_rows() == 6
    again.write(_events(4, month=3))  # type: ignore[arg-type]
    published = again.publish()
    assert store.count() == 4
    published.rollback()  # the database step failed: the earlier batch comes back
    assert store.count() == 6 and sorted(p.name for p in store.root.rglob("*") if p.is_file()) == [
        "import-abc.parquet",
        "import-abc.parquet",
    ]


def test_abort_leaves_nothing_behind(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "events")
    writer = EventBatchWriter(store, "import-x")
    writer.write(_events(5, month=4))  # type: ignore[arg-type]
    writer.abort()
    assert store.files() == [] and not [p for p in store.root.rglob("*") if p.is_file()]
