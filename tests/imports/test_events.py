"""Product usage events: streamed, checked vectorised, stored by month; re-import replaces; failures leave nothing."""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kizuna import models as m
from kizuna.errors import ImportRejected
from kizuna.imports import events as events_module
from kizuna.imports import runs
from kizuna.imports.events import parse_timestamps
from kizuna.imports.service import import_file
from kizuna.settings import Settings
from kizuna.usage.store import EventStore
from tests import factories

TOKYO = ZoneInfo("Asia/Tokyo")


def write_events(path: Path, *, rows: int, seed: int, accounts: list[str], bad_every: int = 0) -> None:
    rng = random.Random(seed)
    start = dt.datetime(2026, 1, 1)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["account_external_id", "user_id", "event_name", "feature", "timestamp", "properties"])
        for i in range(rows):
            stamp = start + dt.timedelta(minutes=rng.randrange(0, 90 * 24 * 60))  # three months
            account = rng.choice(accounts)
            if bad_every and i % bad_every == 0:
                account = "NO-SUCH-ACCOUNT"
            writer.writerow(
                [
                    account,
                    f"u{rng.randrange(50)}",
                    rng.choice(["login", "export"]),
                    "reports",
                    stamp.strftime("%Y-%m-%d %H:%M:%S"),
                    json.dumps({"i": i}),
                ]
            )


def event_count(settings: Settings) -> int:
    return EventStore(settings.events_dir).count()


def hidden_files(settings: Settings, *, suffix: str | None = None) -> list[Path]:
    """Temporary (.tmp) and set-aside (.bak, until the caller's transaction ends) files of the event store."""
    if not settings.events_dir.exists():
        return []
    return [p for p in settings.events_dir.rglob(".*") if p.is_file() and (suffix is None or p.suffix == suffix)]


def run(session: Session, settings: Settings, path: Path, **kw: object) -> object:
    return import_file(session, entity="events", path=path, settings=settings, actor="test", **kw)  # type: ignore[arg-type]


def test_events_are_written_by_month_and_a_reimport_replaces_them(
    session: Session, settings: Settings, tmp_path: Path
) -> None:
    accounts = [factories.account(session, external_id=f"EV-{i}") for i in range(5)]
    path = tmp_path / "events.csv"
    write_events(path, rows=4000, seed=3, accounts=[a.external_id for a in accounts], bad_every=100)
    summary = run(session, settings, path)
    assert (summary.imported, summary.rejected, summary.rows_read) == (3960, 40, 4000)  # type: ignore[attr-defined]
    store = EventStore(settings.events_dir)
    months = sorted(p.parent.name for p in store.files())
    assert months == ["month=2025-12", "month=2026-01", "month=2026-02", "month=2026-03"]  # UTC months of JST times
    table = store.dataset().to_table()
    assert table.num_rows == 3960
    assert set(table["account_id"].to_pylist()) <= {a.id for a in accounts}
    first = table.sort_by("timestamp")["timestamp"][0].as_py()
    assert first.tzinfo is not None and first >= dt.datetime(2025, 12, 31, 15, tzinfo=dt.UTC)

    again = run(session, settings, path)
    assert (again.imported, again.unchanged) == (0, 3960)  # type: ignore[attr-defined]
    assert event_count(settings) == 3960 and len(store.files()) == 4
    # the replaced files are kept aside until the caller's transaction ends (put back if it rolls back)
    assert not hidden_files(settings, suffix=".tmp") and len(hidden_files(settings, suffix=".bak")) == 4
    assert session.scalar(select(func.count()).select_from(m.ImportRun).where(m.ImportRun.entity == "events")) == 2


def test_event_rejects_name_row_column_and_reason(session: Session, settings: Settings, tmp_path: Path) -> None:
    factories.account(session, external_id="R-1")
    path = tmp_path / "events.csv"
    path.write_text(
        "account_id,event,time,feature\n"
        "R-1,login,2026-01-05 10:00:00,\n"
        "R-1,login,2026/01/05 10:00,\n"
        "R-1,login,2026年1月5日 10:00,\n"
        "R-1,login,2026-01-05T01:00:00Z,\n"
        "R-9,login,2026-01-05 10:00:00,\n"
        "R-1,,2026-01-05 10:00:00,\n"
        "R-1,login,yesterday,\n",
        encoding="utf-8",
    )
    summary = run(session, settings, path)
    assert (summary.imported, summary.rejected) == (4, 3)  # type: ignore[attr-defined]
    rejected = [(r.row, r.column, r.reason) for r in summary.sample_rejections]  # type: ignore[attr-defined]
    assert rejected[0] == (6, "account_id", "unknown account: no accounts with external_id 'R-9'")
    assert rejected[1] == (7, "event", "required")
    assert rejected[2][:2] == (8, "time") and "not a timestamp" in rejected[2][2]
    stamps = set(EventStore(settings.events_dir).dataset().to_table()["timestamp"].to_pylist())
    assert stamps == {dt.datetime(2026, 1, 5, 1, 0, tzinfo=dt.UTC)}  # every spelling is the same JST instant


def test_parquet_and_jsonl_events(session: Session, settings: Settings, tmp_path: Path) -> None:
    acc = factories.account(session, external_id="PQ-1")
    pq.write_table(
        pa.table(
            {
                "event_id": ["e1", "e2", "e3"],
                "account_external_id": ["PQ-1", "PQ-1", "PQ-2"],
                "event_name": ["login", "export", "login"],
                "timestamp": pa.array(
                    [dt.datetime(2026, 2, 1, 9), dt.datetime(2026, 3, 1, 9), dt.datetime(2026, 3, 1, 9)],
                    type=pa.timestamp("us"),
                ),  # naive: read in Asia/Tokyo
            }
        ),
        tmp_path / "events.parquet",
    )
    parquet = run(session, settings, tmp_path / "events.parquet")
    assert (parquet.imported, parquet.rejected) == (2, 1)  # type: ignore[attr-defined]
    lines = [
        {
            "account_external_id": "PQ-1",
            "event": "login",
            "timestamp": "2026-04-01T09:00:00+09:00",
            "properties": {"plan": "pro", "件数": 3},
        },
        {"account_external_id": "PQ-1", "event": "login", "timestamp": 1775000000},
    ]
    (tmp_path / "events.jsonl").write_text(
        "\n".join(json.dumps(x, ensure_ascii=False) for x in lines), encoding="utf-8"
    )
    jsonl = run(session, settings, tmp_path / "events.jsonl")
    assert (jsonl.imported, jsonl.rejected) == (2, 0)  # type: ignore[attr-defined]
    table = EventStore(settings.events_dir).dataset().to_table().sort_by("timestamp")
    assert table["account_id"].to_pylist() == [acc.id] * 4
    assert table["timestamp"][0].as_py() == dt.datetime(2026, 2, 1, 0, tzinfo=dt.UTC)
    assert {"plan": "pro", "件数": 3} in [json.loads(p) for p in table["properties"].to_pylist() if p]


def test_missing_event_columns_refuse_the_file(session: Session, settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text("account_id,when\nA,2026-01-01\n", encoding="utf-8")
    with pytest.raises(ImportRejected, match="missing required columns for events: event_name, timestamp"):
        run(session, settings, path)
    assert event_count(settings) == 0


def test_an_interrupted_event_import_leaves_no_files(
    session: Session, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    factories.account(session, external_id="INT-1")
    path = tmp_path / "events.csv"
    write_events(path, rows=3000, seed=5, accounts=["INT-1"])
    monkeypatch.setattr(events_module, "CSV_BLOCK_BYTES", 16 * 1024)  # many chunks

    def interrupt(chunk: int) -> None:
        if chunk == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(events_module, "_before_chunk", interrupt)
    with pytest.raises(KeyboardInterrupt):
        run(session, settings, path)
    assert event_count(settings) == 0 and not hidden_files(settings)
    assert session.scalar(select(func.count()).select_from(m.ImportRun)) == 0


def test_a_failed_database_step_removes_the_batch_and_restores_the_previous_one(
    session: Session, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    factories.account(session, external_id="DB-1")
    path = tmp_path / "events.csv"
    write_events(path, rows=500, seed=9, accounts=["DB-1"])
    run(session, settings, path)
    before = sorted((p, p.stat().st_size) for p in EventStore(settings.events_dir).files())

    def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("database went away")

    monkeypatch.setattr(runs, "record_import_run", broken)
    with pytest.raises(RuntimeError):
        run(session, settings, path)
    assert sorted((p, p.stat().st_size) for p in EventStore(settings.events_dir).files()) == before
    assert not hidden_files(settings, suffix=".tmp")


def test_dry_run_writes_no_event_files(session: Session, settings: Settings, tmp_path: Path) -> None:
    factories.account(session, external_id="DRY-1")
    path = tmp_path / "events.csv"
    write_events(path, rows=200, seed=1, accounts=["DRY-1"])
    summary = run(session, settings, path, dry_run=True)
    assert summary.imported == 200 and event_count(settings) == 0 and not hidden_files(settings)  # type: ignore[attr-defined]


def test_timestamps_parse_vectorised_with_a_fallback_for_rare_spellings() -> None:
    column = pa.array(
        [
            "2026-01-05 10:00:00",
            "2026-01-05T10:00:00.5",
            "2026-01-05T01:00:00Z",
            "2026-01-05 10:00+09:00",
            "2026/1/5 10:00",
            "2026年1月5日 10:00",
            "",
            None,
            "nonsense",
        ]
    )
    parsed = parse_timestamps(column, TOKYO).to_pylist()
    at = dt.datetime(2026, 1, 5, 1, 0, tzinfo=dt.UTC)
    assert parsed == [at, at + dt.timedelta(milliseconds=500), at, at, at, at, None, None, None]


def test_invalid_bytes_after_the_sniffed_start_refuse_the_file(
    session: Session, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    factories.account(session, external_id="BAD-1")
    monkeypatch.setattr(events_module, "_SNIFF_BYTES", 1024)  # the bad bytes come after what detection looks at
    monkeypatch.setattr(events_module, "CSV_BLOCK_BYTES", 16 * 1024)
    path = tmp_path / "events.csv"
    with path.open("wb") as handle:
        handle.write(b"account_external_id,event_name,timestamp\n")
        for i in range(2000):
            handle.write(f"BAD-1,login,2026-01-05 10:{i % 60:02d}:00\n".encode())
        handle.write(b"BAD-1,log\xe9in,2026-01-05 10:00:00\n")
    with pytest.raises(ImportRejected, match=r"events.csv: cannot be read as utf-8 after row \d+"):
        run(session, settings, path)
    assert event_count(settings) == 0 and not hidden_files(settings)


def test_progress_is_reported_by_bytes(
    session: Session, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    factories.account(session, external_id="PRG-1")
    monkeypatch.setattr(events_module, "CSV_BLOCK_BYTES", 16 * 1024)
    path = tmp_path / "events.csv"
    write_events(path, rows=2000, seed=2, accounts=["PRG-1"])
    seen: list[tuple[int, int]] = []
    run(session, settings, path, progress=lambda done, total: seen.append((done, total)))
    size = path.stat().st_size
    assert len(seen) > 3 and all(total == size for _, total in seen)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen) and seen[-1][0] == size
