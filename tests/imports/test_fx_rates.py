"""Exchange rates import as a table: (date, currency) is the key, the rate a positive decimal number of base-currency
units per unit; the base currency's rate is 1; each refused row names file, row, column and value (SQLite and
PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from kizuna import models as m
from kizuna.imports.rejects import read_rejects
from kizuna.imports.service import import_file
from kizuna.settings import Settings


def test_rates_import_keyed_by_date_and_currency_and_bad_rows_are_named(
    session: Session, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "rates.csv"
    path.write_text(
        "date,currency,rate\n"
        "2026-01-01,usd,148.25\n"
        '2026/02/01,USD,"1,150.5"\n'
        "2026-01-01,EUR,１６０．５\n"
        "2026-01-01,USD,149\n"  # the same key as row 2
        "2026-01-01,GBP,0\n"
        "2026-01-01,JPY,2\n"
        "2026-01-01,CHF,abc\n"
        "2026-01-01,DOLLAR,1.2\n",
        encoding="utf-8",
    )
    summary = import_file(session, entity="fx_rates", path=path, settings=settings, actor="test")
    assert (summary.imported, summary.rejected) == (3, 5)
    assert summary.rejects_path is not None
    rejects = read_rejects(Path(summary.rejects_path))
    rows = {(int(r["row"]), r["column"]): (r["value"], r["reason"]) for r in rejects}
    assert any(row == 5 and "already in row 2" in reason for (row, _), (_, reason) in rows.items())
    assert rows[(6, "rate")] == ("0", "must be more than 0")
    assert rows[(7, "rate")] == ("2", "JPY is the base currency: its rate is 1")
    assert rows[(8, "rate")][1] == "not a number"
    assert rows[(9, "currency")][0] == "DOLLAR"
    got = set(session.execute(select(m.FxRate.date, m.FxRate.currency, m.FxRate.rate)))
    assert got == {
        (dt.date(2026, 1, 1), "USD", 148.25),
        (dt.date(2026, 2, 1), "USD", 1150.5),
        (dt.date(2026, 1, 1), "EUR", 160.5),
    }
    again = import_file(session, entity="fx_rates", path=path, settings=settings, actor="test")
    assert (again.imported, again.unchanged) == (0, 3)
