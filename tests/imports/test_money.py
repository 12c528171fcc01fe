"""Money columns named for what they hold: ``*_minor`` is minor units, the plain name (``mrr``, ``list_price``,
``amount``) an amount of the row's currency; a missing currency is an error naming the column; the x100 trap is
named; kizuna's own hub-shaped rows re-import unchanged (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kizuna import models as m
from kizuna.imports.mapping import MappingFile
from kizuna.imports.rows import NO_CURRENCY
from kizuna.imports.schemas import ImportSummary
from kizuna.imports.service import import_file
from kizuna.settings import Settings
from tests import factories


def run(session: Session, settings: Settings, entity: str, path: Path, **kw: Any) -> ImportSummary:
    return import_file(session, entity=entity, path=path, settings=settings, actor="test", **kw)


@pytest.fixture
def hub(session: Session) -> Session:
    for key in ("M-1", "M-2", "M-3", "M-4"):
        factories.account(session, external_id=key)
    factories.plan(session, external_id="PRO-USD", currency="USD", list_price_minor=4900)
    return session


def mrr(session: Session) -> dict[str, tuple[int, str]]:
    session.expire_all()
    rows = session.execute(select(m.Subscription.external_id, m.Subscription.mrr_minor, m.Subscription.currency))
    return {key: (minor, currency) for key, minor, currency in rows}


HEAD = "external_id,account_external_id,plan_external_id,start_date,"


def test_minor_columns_hold_minor_units_and_plain_names_amounts(
    hub: Session, settings: Settings, tmp_path: Path
) -> None:
    minor = tmp_path / "minor.csv"
    minor.write_text(HEAD + "mrr_minor,currency\nS-1,M-1,PRO-USD,2026-01-01,5000,USD\n", encoding="utf-8")
    assert run(hub, settings, "subscriptions", minor).imported == 1
    amounts = tmp_path / "amounts.csv"
    amounts.write_text(
        HEAD + 'mrr,currency\nS-2,M-2,PRO-USD,2026-01-01,$12.50,USD\nS-3,M-3,PRO-USD,2026-01-01,"¥5,000",JPY\n',
        encoding="utf-8",
    )
    summary = run(hub, settings, "subscriptions", amounts)
    assert summary.imported == 2 and summary.recognised_columns["mrr"] == "mrr"
    assert mrr(hub) == {"S-1": (5000, "USD"), "S-2": (1250, "USD"), "S-3": (5000, "JPY")}


def test_a_fraction_in_a_minor_column_is_refused_naming_file_row_column_value(
    hub: Session, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "subs.csv"
    path.write_text(
        HEAD + "mrr_minor,currency\nS-1,M-1,PRO-USD,2026-01-01,12.50,USD\nS-2,M-2,PRO-USD,2026-01-01,1250,USD\n",
        encoding="utf-8",
    )
    summary = run(hub, settings, "subscriptions", path)
    assert (summary.imported, summary.rejected) == (1, 1)  # the good row is kept
    bad = summary.sample_rejections[0]
    assert (bad.file, bad.row, bad.column, bad.value) == ("subs.csv", 2, "mrr_minor", "12.50")
    assert bad.reason.startswith("minor units (cents of USD) are whole numbers")


def test_money_without_a_currency_is_an_error_naming_the_column_unless_the_import_says_it(
    hub: Session, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "subs.csv"
    path.write_text(HEAD + "mrr\nS-1,M-1,PRO-USD,2026-01-01,10\nS-2,M-2,PRO-USD,2026-01-01,9.99\n", encoding="utf-8")
    summary = run(hub, settings, "subscriptions", path)
    assert (summary.imported, summary.rejected) == (0, 2)  # never a silent ¥10
    assert {(r.row, r.column, r.reason) for r in summary.sample_rejections} == {
        (2, "mrr", NO_CURRENCY),
        (3, "mrr", NO_CURRENCY),
    }
    assert mrr(hub) == {}

    summary = run(hub, settings, "subscriptions", path, currency="USD")  # --currency USD
    assert (summary.imported, summary.rejected) == (2, 0)
    assert mrr(hub) == {"S-1": (1000, "USD"), "S-2": (999, "USD")}
    # an update without a currency reads the row's own currency: the same file again changes nothing
    again = run(hub, settings, "subscriptions", path)
    assert (again.unchanged, again.rejected) == (2, 0)

    other = tmp_path / "other.csv"
    other.write_text(HEAD + "mrr_minor\nS-3,M-3,PRO-USD,2026-01-01,5000\n", encoding="utf-8")
    mapping = MappingFile.from_dict({"defaults": {"currency": "JPY"}}, source="jpy.yaml")
    assert run(hub, settings, "subscriptions", other, mapping=mapping).imported == 1
    assert mrr(hub)["S-3"] == (5000, "JPY")


def test_values_that_look_like_the_x100_trap_are_named(hub: Session, settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "subs.csv"
    rows = ["S-1,M-1,PRO-USD,2026-01-01,49.00", "S-2,M-2,PRO-USD,2026-01-01,4900", "S-3,M-3,PRO-USD,2026-01-01,59.00"]
    rows.append("S-4,M-4,PRO-USD,2026-01-01,49")
    path.write_text(HEAD + "mrr\n" + "\n".join(rows) + "\n", encoding="utf-8")
    summary = run(hub, settings, "subscriptions", path, currency="USD")
    assert summary.imported == 4  # imported as written: a warning, not a refusal
    assert summary.notes == [
        "mrr (USD): rows 3 are about 100 times larger or smaller than the column's other values (median 4,900 minor "
        "units): check that the column holds amounts (not minor units: else name it mrr_minor) (the x100 trap, "
        "docs/imports.md)"
    ]
    plain = tmp_path / "plain.csv"
    plain.write_text(HEAD + "mrr\n" + "\n".join(r for r in rows if ",4900" not in r) + "\n", encoding="utf-8")
    assert run(hub, settings, "subscriptions", plain, currency="USD").notes == []


def test_hub_rows_written_with_kizuna_s_column_names_re_import_unchanged(
    hub: Session, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "subs.csv"
    path.write_text(
        HEAD + "mrr,currency\nS-1,M-1,PRO-USD,2026-01-01,12.34,USD\nS-2,M-2,PRO-USD,2026-01-01,50000,JPY\n",
        encoding="utf-8",
    )
    run(hub, settings, "subscriptions", path)
    before = mrr(hub)
    exported = tmp_path / "export.csv"
    with exported.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(
            ["external_id", "account_external_id", "plan_external_id", "start_date", "mrr_minor", "currency"]
        )
        for sub in hub.scalars(select(m.Subscription).order_by(m.Subscription.external_id)):
            account = hub.get_one(m.Account, sub.account_id).external_id
            plan = hub.get_one(m.Plan, sub.plan_id).external_id
            writer.writerow([sub.external_id, account, plan, sub.start_date, sub.mrr_minor, sub.currency])
    summary = run(hub, settings, "subscriptions", exported)
    assert (summary.unchanged, summary.updated, summary.rejected, summary.notes) == (2, 0, 0, [])
    assert mrr(hub) == before == {"S-1": (1234, "USD"), "S-2": (50000, "JPY")}
