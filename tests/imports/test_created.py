"""Accounts imported without ``created_at`` are dated by rule, never by the import's clock: the start of the import's
day, then back to their first subscription line or product event (on SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from kizuna import models as m
from kizuna.imports.schemas import ImportSummary
from kizuna.imports.service import import_file
from kizuna.platform.clock import today
from kizuna.settings import Settings


def run(session: Session, settings: Settings, entity: str, path: Path, **kw: Any) -> ImportSummary:
    return import_file(session, entity=entity, path=path, settings=settings, actor="test", **kw)


def created(session: Session) -> dict[str, dt.datetime]:
    session.expire_all()
    return {k: v for k, v in session.execute(select(m.Account.external_id, m.Account.created_at))}


def test_accounts_without_created_at_start_at_the_import_day_not_its_clock_time(
    session: Session, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "accounts.csv"
    path.write_text("external_id,name,created_at\nU-1,株式会社ひとつ,\nU-2,ふたつ商事,2024-04-01\n", encoding="utf-8")
    before = dt.datetime.now(dt.UTC)
    summary = run(session, settings, "accounts", path)
    assert (summary.imported, summary.created_at_assumed) == (2, 1)
    assert any("1 new accounts had no created_at" in note for note in summary.notes)
    dates = created(session)
    assert dates["U-2"] == dt.datetime(2024, 3, 31, 15, tzinfo=dt.UTC)  # 2024-04-01 in Asia/Tokyo
    # the start of the business day (Asia/Tokyo), and not later than the start of the UTC today a refresh runs as of
    # (from 15:00 UTC on, Tokyo's day has begun and the start of the UTC day is the earlier of the two)
    start_of_today = dt.datetime.combine(today(), dt.time(0), tzinfo=dt.UTC)
    tokyo = ZoneInfo("Asia/Tokyo")
    business_day = dt.datetime.combine(before.astimezone(tokyo).date(), dt.time(0), tzinfo=tokyo)
    assert dates["U-1"] == min(business_day.astimezone(dt.UTC), start_of_today)
    assert dates["U-1"] <= start_of_today < before and start_of_today - dates["U-1"] <= dt.timedelta(days=1)

    again = run(session, settings, "accounts", path)
    assert (again.unchanged, again.created_at_assumed, again.notes) == (2, 0, [])
    assert created(session) == dates


def test_subscriptions_and_events_date_back_the_accounts_they_show_older(
    session: Session, settings: Settings, tmp_path: Path
) -> None:
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("external_id,name\nB-1,一商事\nB-2,二商事\nB-3,三商事\n", encoding="utf-8")
    run(session, settings, "accounts", accounts)
    undated = created(session)["B-1"]
    (tmp_path / "products.csv").write_text("external_id,name\nP,Cloud\n", encoding="utf-8")
    run(session, settings, "products", tmp_path / "products.csv")
    (tmp_path / "plans.csv").write_text(
        "external_id,product_external_id,name,list_price_minor,currency\nPRO,P,Pro,5000,JPY\n", encoding="utf-8"
    )
    run(session, settings, "plans", tmp_path / "plans.csv")
    lines = tmp_path / "subscriptions.csv"
    lines.write_text(
        "external_id,account_external_id,plan_external_id,mrr_minor,start_date\n"
        "S1,B-1,PRO,5000,2025-06-01\nS2,B-1,PRO,5000,2024-02-01\nS3,B-2,PRO,5000,2026-01-15\n",
        encoding="utf-8",
    )
    summary = run(session, settings, "subscriptions", lines, currency="JPY")
    assert (summary.imported, summary.created_at_dated_back) == (3, 2)
    assert any("2 accounts were dated back" in note for note in summary.notes)
    dates = created(session)
    assert dates["B-1"] == dt.datetime(2024, 1, 31, 15, tzinfo=dt.UTC)  # the first line: 2024-02-01 in Asia/Tokyo
    assert dates["B-2"] == dt.datetime(2026, 1, 14, 15, tzinfo=dt.UTC)
    assert dates["B-3"] == undated  # no line, no event: still the import's day

    again = run(session, settings, "subscriptions", lines, currency="JPY")
    assert (again.unchanged, again.created_at_dated_back, again.notes) == (3, 0, [])
    assert created(session) == dates

    events = tmp_path / "events.csv"
    events.write_text(
        "account_external_id,event_name,timestamp\n"
        "B-3,login,2025-09-01T10:00:00+09:00\nB-3,login,2025-08-20T09:30:00+09:00\nB-1,login,2025-01-01T00:00:00Z\n",
        encoding="utf-8",
    )
    summary = run(session, settings, "events", events)
    assert summary.created_at_dated_back == 1  # B-1 is older than its events already
    dates = created(session)
    assert dates["B-3"] == dt.datetime(2025, 8, 20, 0, 30, tzinfo=dt.UTC)
    assert dates["B-1"] == dt.datetime(2024, 1, 31, 15, tzinfo=dt.UTC)
