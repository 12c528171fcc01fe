"""Time zone per import: naive timestamps are read in the ``timezone`` given to the import (``--timezone``), else the
mapping's ``timezone:``, else the company's (``Settings.timezone``)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from kizuna import models as m
from kizuna.errors import ImportRejected
from kizuna.imports.mapping import MappingFile
from kizuna.imports.schemas import ImportSummary
from kizuna.imports.service import import_file
from kizuna.settings import Settings
from kizuna.usage.store import EventStore
from tests import factories


def run(session: Session, settings: Settings, entity: str, path: Path, **kw: Any) -> ImportSummary:
    return import_file(session, entity=entity, path=path, settings=settings, actor="test", **kw)


def created(session: Session, external_id: str) -> dt.datetime:
    session.expire_all()
    return session.scalars(select(m.Account.created_at).where(m.Account.external_id == external_id)).one()


def test_the_option_then_the_mapping_then_the_company_zone(
    session: Session, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "accounts.csv"
    path.write_text("external_id,name,created_at\nZ-1,株式会社ゾーン,2026-01-05 09:00\n", encoding="utf-8")
    summary = run(session, settings, "accounts", path)
    assert created(session, "Z-1") == dt.datetime(2026, 1, 5, 0, tzinfo=dt.UTC)  # Asia/Tokyo, the company's
    assert summary.timezone == "Asia/Tokyo" and summary.notes == []

    mapping = MappingFile.from_dict({"timezone": "America/New_York"}, source="ny.yaml")
    summary = run(session, settings, "accounts", path, mapping=mapping)
    assert created(session, "Z-1") == dt.datetime(2026, 1, 5, 14, tzinfo=dt.UTC)  # 09:00 EST
    assert summary.updated == 1 and summary.timezone == "America/New_York"
    assert summary.notes == ["naive timestamps read in America/New_York (the company's time zone: Asia/Tokyo)"]

    summary = run(session, settings, "accounts", path, mapping=mapping, timezone="UTC")  # the option wins
    assert created(session, "Z-1") == dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)
    again = run(session, settings, "accounts", path, mapping=mapping, timezone="UTC")
    assert (again.updated, again.unchanged) == (0, 1)  # the same import twice changes nothing


def test_events_are_read_in_the_import_zone(session: Session, settings: Settings, tmp_path: Path) -> None:
    factories.account(session, external_id="TZ-1")
    path = tmp_path / "events.csv"
    path.write_text(
        "account_external_id,event_name,timestamp\nTZ-1,login,2026-01-05 10:00:00\nTZ-1,login,2026-01-05T10:00:00Z\n",
        encoding="utf-8",
    )
    run(session, settings, "events", path, timezone="UTC")
    stamps = set(EventStore(settings.events_dir).dataset().to_table()["timestamp"].to_pylist())
    assert stamps == {dt.datetime(2026, 1, 5, 10, 0, tzinfo=dt.UTC)}  # naive read in UTC; an offset keeps its instant


def test_an_unknown_zone_is_refused_naming_it(session: Session, settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "accounts.csv"
    path.write_text("external_id,name\nZ-2,株式会社\n", encoding="utf-8")
    with pytest.raises(ImportRejected, match="unknown time zone 'Mars/Olympus'"):
        run(session, settings, "accounts", path, timezone="Mars/Olympus")
    with pytest.raises(ImportRejected, match=r"zone\.yaml: timezone: unknown time zone 'JST'"):
        MappingFile.from_dict({"columns": {"顧客": "name"}, "timezone": "JST"}, source="zone.yaml")
    assert session.scalars(select(m.Account).where(m.Account.external_id == "Z-2")).first() is None


def test_the_cli_option(tmp_path: Path) -> None:
    from kizuna.cli import build_app

    app, data = build_app(), str(tmp_path / "data")
    path = tmp_path / "accounts.csv"
    path.write_text("external_id,name,created_at\nZ-3,株式会社,2026-01-05 09:00\n", encoding="utf-8")
    assert CliRunner().invoke(app, ["--data-dir", data, "init"]).exit_code == 0
    result = CliRunner().invoke(app, ["--data-dir", data, "import", "accounts", str(path), "--timezone", "UTC"])
    assert result.exit_code == 0, result.output
    assert "note: naive timestamps read in UTC (the company's time zone: Asia/Tokyo)" in result.output
