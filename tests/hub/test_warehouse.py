"""warehouse: the ADBC reader and the driver-row reader give the same Arrow tables, with kizuna's types."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pyarrow as pa
import pytest
from sqlalchemy import Column, Integer
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from kizuna import models
from kizuna.db import make_engine
from kizuna.errors import KizunaError
from kizuna.hub.warehouse import (
    ANALYTICS_TABLES,
    _adbc_uri,
    _read_rows,
    _start_sqlite_apart,
    arrow_schema,
    read_hub,
    read_table,
)
from kizuna.migrations import upgrade
from tests import factories


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def committed_engine(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[Engine]:
    """A migrated database whose rows are committed (ADBC reads over its own connection)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/hub.sqlite3"
    else:
        url = request.getfixturevalue("scratch_postgres_url")
    upgrade(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()


def _fill(engine: Engine) -> None:
    with Session(engine) as session:
        owner = factories.team_member(session)
        # more than the SQLite driver's default batch (1,024 rows) with a null column first, a value later
        for _ in range(1_100):
            factories.account(session, industry=None, owner_id=None, created_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
        last = factories.account(
            session,
            name="最後の顧客 'quoted'",
            industry="製造",
            owner_id=owner.id,
            created_at=dt.datetime(2026, 3, 4, 5, 6, 7, 891_011, tzinfo=dt.UTC),
        )
        plan = factories.plan(session)
        factories.subscription(session, last, plan, start_date=dt.date(2026, 3, 1), end_date=None)
        factories.contact(session, last, is_champion=True, deactivated_at=dt.datetime(2026, 5, 1, tzinfo=dt.UTC))
        session.commit()


def test_adbc_and_row_readers_agree(committed_engine: Engine) -> None:
    assert _adbc_uri(committed_engine) is not None
    _fill(committed_engine)
    hub = read_hub(committed_engine)
    assert list(hub) == list(ANALYTICS_TABLES)
    for name, table in hub.items():
        sql_table = models.Base.metadata.tables[name]
        schema = arrow_schema(sql_table)
        assert table.schema == schema, name
        assert table.equals(_read_rows(committed_engine, name, list(sql_table.columns), batch_size=500)), name

    accounts = hub["accounts"].to_pylist()
    assert len(accounts) == 1_101
    assert accounts[0]["industry"] is None and accounts[-1]["industry"] == "製造"
    assert accounts[-1]["name"] == "最後の顧客 'quoted'"
    assert accounts[-1]["created_at"] == dt.datetime(2026, 3, 4, 5, 6, 7, 891_011, tzinfo=dt.UTC)
    contact = hub["contacts"].to_pylist()[0]
    assert contact["is_champion"] is True and contact["deactivated_at"] == dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
    line = hub["subscriptions"].to_pylist()[0]
    assert line["start_date"] == dt.date(2026, 3, 1) and line["end_date"] is None
    assert hub["subscriptions"].schema.field("mrr_minor").type == pa.int64()


def test_only_the_columns_asked_for_are_read(committed_engine: Engine) -> None:
    _fill(committed_engine)
    whole = read_hub(committed_engine, ["accounts", "subscriptions"])
    # in the table's order, whatever order they are asked in; None: every column
    some = read_hub(committed_engine, {"accounts": ("industry", "id", "created_at"), "subscriptions": None})
    assert some["accounts"].column_names == ["id", "industry", "created_at"]
    assert some["accounts"].equals(whole["accounts"].select(["id", "industry", "created_at"]))
    assert some["subscriptions"].equals(whole["subscriptions"])
    with pytest.raises(KizunaError, match=r"no column\(s\) colour"):
        read_hub(committed_engine, {"accounts": ("id", "colour")})


def test_in_memory_sqlite_is_read_as_rows() -> None:
    engine = make_engine("sqlite://")
    models.Base.metadata.create_all(engine)
    assert _adbc_uri(engine) is None
    with Session(engine) as session:
        factories.account(session, industry=None)
        session.commit()
    accounts = read_table(engine, "accounts")
    assert accounts.num_rows == 1 and accounts.schema == arrow_schema(models.Base.metadata.tables["accounts"])
    assert read_table(engine, "contacts").num_rows == 0


def test_a_failing_sqlite_reader_is_reported(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path}/hub.sqlite3"
    upgrade(url)
    engine = make_engine(url)
    _fill(engine)
    accounts = list(models.Base.metadata.tables["accounts"].columns)
    # two children: the one asked for a table the file lacks fails while the other reads its share
    monkeypatch.setattr("kizuna.hub.warehouse._shares", lambda *_: [["accounts"], ["nope"]])
    with pytest.raises(KizunaError, match="no such table: nope"):
        _start_sqlite_apart(str(engine.url.database), {"accounts": accounts, "nope": [Column("id", Integer)]})()
    engine.dispose()
