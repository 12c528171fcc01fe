"""The broken-import corpus: files that once crashed an import, lost its good rows or misread a value.

Each case is imported twice on SQLite and on PostgreSQL. The first import must not crash, must keep every good row and
must report every bad one with its file, row, column and value (the same reason on both databases); the second import
of the same file must change nothing. The files are written by the tests, so every byte of a case is in this module.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kizuna import models as m
from kizuna.imports.rejects import read_rejects
from kizuna.imports.schemas import ImportSummary
from kizuna.imports.service import import_file
from kizuna.settings import Settings
from kizuna.usage.store import EventStore
from tests import factories

LONG = 200_000  # characters: past the csv module's default field limit (131,072)


@dataclass(frozen=True)
class Bad:
    """A rejected cell: its row, column, the start of the value shown and a word of the reason."""

    row: int
    column: str
    value: str
    reason: str


@dataclass(frozen=True)
class Case:
    name: str
    entity: str
    file_name: str
    content: Callable[[], bytes]
    good: tuple[str, ...]  # external ids that must be in the database after the import
    bad: tuple[Bad, ...]
    setup: Callable[[Session], None] = lambda session: None
    options: dict[str, Any] = field(default_factory=dict)


def _csv(*rows: list[object]) -> Callable[[], bytes]:
    def build() -> bytes:
        lines = []
        for row in rows:
            cells = []
            for cell in row:
                text = str(cell)
                if any(c in text for c in ',"\n'):
                    text = '"' + text.replace('"', '""') + '"'
                cells.append(text)
            lines.append(",".join(cells))
        return ("\n".join(lines) + "\n").encode("utf-8")

    return build


def _jsonl(*records: dict[str, object]) -> Callable[[], bytes]:
    # ensure_ascii keeps a lone surrogate as the escape \ud800, as JSON writers do; json.loads turns it back
    return lambda: ("\n".join(json.dumps(r) for r in records) + "\n").encode("utf-8")


def _parquet(table: Callable[[], pa.Table]) -> Callable[[], bytes]:
    def build() -> bytes:
        sink = pa.BufferOutputStream()
        pq.write_table(table(), sink)
        return bytes(sink.getvalue().to_pybytes())

    return build


def _account_and_plan(session: Session) -> None:
    factories.account(session, external_id="ACC-1")
    factories.plan(session, external_id="PLAN-1")


def _account(session: Session) -> None:
    factories.account(session, external_id="ACC-1")


def _account_with_lowercase_contact(session: Session) -> None:
    account = factories.account(session, external_id="ACC-1")
    factories.contact(session, account, external_id="C-1", email="dup@x.example")


SUBS = ["external_id", "account_external_id", "plan_external_id", "quantity", "mrr_minor", "currency", "start_date"]

CORPUS = (
    Case(
        "integer beyond 64 bits",
        "subscriptions",
        "subs_huge.csv",
        _csv(
            SUBS,
            ["S-1", "ACC-1", "PLAN-1", 3, 50000, "JPY", "2026-01-01"],
            ["S-2", "ACC-1", "PLAN-1", 3, 10**20, "JPY", "2026-01-01"],
            ["S-3", "ACC-1", "PLAN-1", 10**30, 5000, "JPY", "2026-01-01"],
            ["S-4", "ACC-1", "PLAN-1", 4, 6000, "JPY", "2026-02-01"],
        ),
        good=("S-1", "S-4"),
        bad=(Bad(3, "mrr_minor", str(10**20), "out of range"), Bad(4, "quantity", str(10**30), "out of range")),
        setup=_account_and_plan,
    ),
    Case(
        "3,000,000,000 seats (past a 32-bit integer column)",
        "subscriptions",
        "subs_seats.csv",
        _csv(
            SUBS,
            ["S-1", "ACC-1", "PLAN-1", 3_000_000_000, 5000, "JPY", "2026-01-01"],
            ["S-2", "ACC-1", "PLAN-1", 2_147_483_647, 5000, "JPY", "2026-01-01"],
        ),
        good=("S-2",),
        bad=(Bad(2, "quantity", "3000000000", "out of range"),),
        setup=_account_and_plan,
    ),
    Case(
        "numbers that are not finite or too large to write out",
        "subscriptions",
        "subs_infinite.csv",
        _csv(
            SUBS,
            ["S-1", "ACC-1", "PLAN-1", "Infinity", 5000, "JPY", "2026-01-01"],
            ["S-2", "ACC-1", "PLAN-1", 1, "1e999999999", "JPY", "2026-01-01"],
            ["S-3", "ACC-1", "PLAN-1", "sNaN", "Infinity", "JPY", "2026-01-01"],
            ["S-4", "ACC-1", "PLAN-1", "1e3", "5e3", "JPY", "2026-01-01"],
        ),
        good=("S-4",),
        bad=(
            Bad(2, "quantity", "Infinity", "not a whole number"),
            Bad(3, "mrr_minor", "1e999999999", "out of range"),
            Bad(4, "quantity", "sNaN", "not a whole number"),
            Bad(4, "mrr_minor", "Infinity", "not an amount"),
        ),
        setup=_account_and_plan,
    ),
    Case(
        "Parquet: a timestamp in the year 10000 (past what Python holds)",
        "voc_entries",
        "voc.parquet",
        _parquet(
            lambda: pa.table(
                {
                    "external_id": ["V-1", "V-2", "V-3"],
                    "account_external_id": ["ACC-1"] * 3,
                    "channel": ["call_center"] * 3,
                    "text": ["a", "b", "c"],
                    "recorded_at": pa.array(
                        [3 * 10**14, 253_402_300_800_000_000 + 10**12, 1_767_600_000_000_000], pa.timestamp("us")
                    ),
                }
            )
        ),
        good=("V-1", "V-3"),
        bad=(Bad(2, "recorded_at", "10000-01-12", "not a date"),),
        setup=_account,
    ),
    Case(
        "JSON Lines: numbers past every column",
        "subscriptions",
        "subs.jsonl",
        _jsonl(
            {
                "external_id": "S-1",
                "account_external_id": "ACC-1",
                "plan_external_id": "PLAN-1",
                "quantity": 1e300,
                "mrr_minor": 1,
                "currency": "JPY",
                "start_date": "2026-01-01",
            },
            {
                "external_id": "S-2",
                "account_external_id": "ACC-1",
                "plan_external_id": "PLAN-1",
                "quantity": 1,
                "mrr_minor": 10**40,
                "currency": "JPY",
                "start_date": "2026-01-01",
            },
            {
                "external_id": "S-3",
                "account_external_id": "ACC-1",
                "plan_external_id": "PLAN-1",
                "quantity": 3_000_000_000,
                "mrr_minor": 1,
                "currency": "JPY",
                "start_date": 20260101,
            },
            {
                "external_id": "S-4",
                "account_external_id": "ACC-1",
                "plan_external_id": "PLAN-1",
                "quantity": 2,
                "mrr_minor": 2.5e3,
                "currency": "JPY",
                "start_date": "2026-01-01",
            },
        ),
        good=("S-4",),
        bad=(
            Bad(1, "quantity", "1e+300", "out of range"),
            Bad(2, "mrr_minor", str(10**40), "out of range"),
            Bad(3, "quantity", "3000000000", "out of range"),
            Bad(3, "start_date", "20260101", "a number alone"),
        ),
        setup=_account_and_plan,
    ),
    Case(
        "a CSV cell over 131,072 characters: long text kept, a short column refuses it",
        "voc_entries",
        "voc_long.csv",
        _csv(
            ["external_id", "account_external_id", "channel", "text", "recorded_at", "author"],
            ["V-1", "ACC-1", "call_center", "長い" * (LONG // 2), "2026-01-05 10:00", "山田"],
            ["V-2", "ACC-1", "call_center", "short", "2026-01-05 10:00", "x" * LONG],
            ["V-3", "ACC-1", "call_center", "also short", "2026-01-05 10:00", "佐藤"],
        ),
        good=("V-1", "V-3"),
        bad=(Bad(3, "author", "x" * 50, "too long"),),
        setup=_account,
    ),
    Case(
        "a NUL byte in text",
        "accounts",
        "accounts_nul.csv",
        _csv(
            ["external_id", "name", "industry"], ["A-1", "株式会社\x00ヌル", "製造"], ["A-2", "株式会社ふつう", "製造"]
        ),
        good=("A-2",),
        bad=(Bad(2, "name", "株式会社\\x00ヌル", "NUL"),),
    ),
    Case(
        "a lone surrogate in JSON Lines text",
        "accounts",
        "accounts_surrogate.jsonl",
        _jsonl(
            {"external_id": "A-1", "name": "bad \ud800 name"},
            {"external_id": "A-2", "name": "good name"},
        ),
        good=("A-2",),
        bad=(Bad(1, "name", "bad \\ud800 name", "not valid Unicode"),),
    ),
    Case(
        "the date 2024 in a CSV is not an Excel serial",
        "subscriptions",
        "subs_year.csv",
        _csv(
            SUBS,
            ["S-1", "ACC-1", "PLAN-1", 1, 5000, "JPY", "2024"],
            ["S-2", "ACC-1", "PLAN-1", 1, 5000, "JPY", "45658"],
            ["S-3", "ACC-1", "PLAN-1", 1, 5000, "JPY", "2024-01-01"],
        ),
        good=("S-3",),
        bad=(Bad(2, "start_date", "2024", "not a date"), Bad(3, "start_date", "45658", "not a date")),
        setup=_account_and_plan,
    ),
    Case(
        "timestamps that cannot be moved to UTC",
        "voc_entries",
        "voc_year_one.csv",
        _csv(
            ["external_id", "account_external_id", "channel", "text", "recorded_at"],
            ["V-1", "ACC-1", "call_center", "a", "0001-01-01 00:00"],
            ["V-2", "ACC-1", "call_center", "b", "9999-12-31 23:59"],
            ["V-3", "ACC-1", "call_center", "c", "2026-01-05 10:00"],
        ),
        good=("V-2", "V-3"),  # 9999-12-31 23:59 in Tokyo is 14:59 UTC: representable
        bad=(Bad(2, "recorded_at", "0001-01-01 00:00", "out of range"),),
        setup=_account,
    ),
    Case(
        "dup@x and DUP@x at one account are one address",
        "contacts",
        "contacts_case.csv",
        _csv(
            ["external_id", "account_external_id", "name", "email"],
            ["C-1", "ACC-1", "山田", "dup@x.example"],
            ["C-2", "ACC-1", "山田 (大文字)", "DUP@X.example"],
            ["C-3", "ACC-1", "佐藤", "sato@x.example"],
        ),
        good=("C-1", "C-3"),
        bad=(Bad(3, "email", "DUP@X.example", "same account_id + email as row 2"),),
        setup=_account,
    ),
    Case(
        "an address already stored in another case",
        "contacts",
        "contacts_existing_case.csv",
        _csv(["external_id", "account_external_id", "name", "email"], ["C-9", "ACC-1", "山田", "Dup@X.example"]),
        good=(),
        bad=(Bad(2, "email", "Dup@X.example", "same account_id + email as the existing"),),
        setup=_account_with_lowercase_contact,
    ),
)

MODELS: dict[str, Any] = {
    "subscriptions": m.Subscription,
    "voc_entries": m.VocEntry,
    "accounts": m.Account,
    "contacts": m.Contact,
}


def _import(session: Session, settings: Settings, case: Case, path: Path) -> ImportSummary:
    return import_file(session, entity=case.entity, path=path, settings=settings, actor="corpus", **case.options)


def _rows(session: Session, model: Any) -> list[tuple[Any, ...]]:
    columns = list(model.__table__.columns)
    return [tuple(r) for r in session.execute(select(*columns).order_by(model.id))]


def _rejects(summary: ImportSummary) -> list[dict[str, str]]:
    assert summary.rejects_path is not None, "bad rows were not reported"
    with Path(summary.rejects_path).open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("case", CORPUS, ids=[c.name for c in CORPUS])
def test_a_broken_file_keeps_its_good_rows_reports_its_bad_ones_and_imports_again_to_the_same(
    session: Session, settings: Settings, tmp_path: Path, case: Case
) -> None:
    case.setup(session)
    path = tmp_path / case.file_name
    path.write_bytes(case.content())
    model = MODELS[case.entity]
    already = {r for r in session.scalars(select(model.external_id))}

    first = _import(session, settings, case, path)

    stored = set(session.scalars(select(model.external_id))) - already
    assert stored == set(case.good), "good rows lost (or bad rows stored)"
    assert first.rejected == len({b.row for b in case.bad})
    assert first.imported == len(case.good)
    reported = _rejects(first)
    assert len(reported) == len(case.bad), reported
    for bad, line in zip(case.bad, reported, strict=True):
        assert line["file"] == case.file_name
        assert (int(line["row"]), line["column"]) == (bad.row, bad.column), line
        assert line["value"].lstrip("'").startswith(bad.value), line["value"][:80]
        assert bad.reason in line["reason"], line["reason"]
    before = _rows(session, model)

    second = _import(session, settings, case, path)

    assert (second.imported, second.updated, second.unchanged) == (0, 0, len(case.good))
    assert second.rejected == first.rejected
    assert _rows(session, model) == before


EVENTS_HEADER = ["account_external_id", "event_name", "timestamp", "properties"]

EVENT_CORPUS = (
    Case(
        "events: a NUL byte in an event name",
        "events",
        "events_nul.csv",
        _csv(
            EVENTS_HEADER,
            ["ACC-1", "lo\x00gin", "2026-01-05 10:00", "{}"],
            ["ACC-1", "login", "2026-01-05 10:00", "{}"],
        ),
        good=("1",),
        bad=(Bad(2, "event_name", "lo\\x00gin", "NUL"),),
        setup=_account,
    ),
    Case(
        "events: a lone surrogate in JSON Lines",
        "events",
        "events_surrogate.jsonl",
        _jsonl(
            {"account_external_id": "ACC-1", "event_name": "bad \ud800", "timestamp": "2026-01-05 10:00"},
            {"account_external_id": "ACC-1", "event_name": "ok", "timestamp": "2026-01-05 10:00"},
        ),
        good=("1",),
        bad=(Bad(1, "event_name", "bad \\ud800", "not valid Unicode"),),
        setup=_account,
    ),
    Case(
        "events: timestamps that are a year, past 64 bits or before the year 1 in UTC",
        "events",
        "events_times.csv",
        _csv(
            EVENTS_HEADER,
            ["ACC-1", "login", "2024", "{}"],
            ["ACC-1", "login", str(10**30), "{}"],
            ["ACC-1", "login", "0001-01-01 00:00", "{}"],
            ["ACC-1", "login", "2026-01-05 10:00", "{}"],
        ),
        good=("1",),
        bad=(
            Bad(2, "timestamp", "2024", "not a timestamp"),
            Bad(3, "timestamp", str(10**30), "not a timestamp"),
            Bad(4, "timestamp", "0001-01-01 00:00", "not a timestamp"),
        ),
        setup=_account,
    ),
    Case(
        "events: a cell over 131,072 characters",
        "events",
        "events_long.csv",
        _csv(
            EVENTS_HEADER, ["ACC-1", "login", "2026-01-05 10:00", "x" * LONG], ["ACC-1", "x", "2026-01-05 11:00", "{}"]
        ),
        good=("2",),
        bad=(),
        setup=_account,
    ),
)


@pytest.mark.parametrize("case", EVENT_CORPUS, ids=[c.name for c in EVENT_CORPUS])
def test_a_broken_events_file_keeps_its_good_events_reports_its_bad_ones_and_imports_again_to_the_same(
    session: Session, settings: Settings, tmp_path: Path, case: Case
) -> None:
    case.setup(session)
    path = tmp_path / case.file_name
    path.write_bytes(case.content())
    store = EventStore(settings.events_dir)
    good = int(case.good[0])  # for events: how many rows are good

    first = _import(session, settings, case, path)

    assert (first.imported, first.rejected, store.count()) == (good, len({b.row for b in case.bad}), good)
    reported = _rejects(first) if case.bad else []
    assert len(reported) == len(case.bad), reported
    for bad, line in zip(case.bad, reported, strict=True):
        assert line["file"] == case.file_name
        assert (int(line["row"]), line["column"]) == (bad.row, bad.column), line
        assert line["value"].lstrip("'").startswith(bad.value), line["value"][:80]
        assert bad.reason in line["reason"], line["reason"]

    second = _import(session, settings, case, path)

    assert (second.imported, second.updated, second.unchanged, second.rejected) == (0, 0, good, first.rejected)
    assert store.count() == good


def test_a_rejects_file_with_a_value_past_the_csv_limit_still_reads(tmp_path: Path) -> None:
    # written before values were cut at 200 characters: the run's page reads it
    path = tmp_path / "accounts-old.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "row", "column", "value", "reason"])
        writer.writerow(["old.csv", 2, "name", "x" * LONG, "too long: 200000 characters, at most 200"])
    previous = csv.field_size_limit(131_072)  # Python's default, whatever ran before in this process
    try:
        assert [(r["row"], len(r["value"])) for r in read_rejects(path)] == [("2", LONG)]
    finally:
        csv.field_size_limit(previous)
