"""The app database on SQLite and PostgreSQL: migrations both ways, UTC times, Japanese text, money."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from kizuna import models as m
from kizuna.cli import build_app
from kizuna.db import make_engine
from kizuna.errors import ConfigurationError
from kizuna.migrations import downgrade, require_current, upgrade
from kizuna.settings import Settings
from tests import factories


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_migrations_upgrade_downgrade_upgrade(backend: str, tmp_path, request: pytest.FixtureRequest) -> None:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'm.sqlite3'}"
    else:
        url = request.getfixturevalue("scratch_postgres_url")
    upgrade(url)
    engine = make_engine(url)
    assert set(m.Base.metadata.tables) <= set(inspect(engine).get_table_names())
    engine.dispose()
    downgrade(url, "base")
    engine = make_engine(url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    upgrade(url)


def test_times_come_back_as_utc_and_japanese_text_round_trips(session: Session) -> None:
    tokyo = dt.timezone(dt.timedelta(hours=9))
    acc = factories.account(
        session, name="株式会社サンプル㈱ ｶﾌﾞｼｷ", created_at=dt.datetime(2026, 4, 1, 9, 0, tzinfo=tokyo)
    )
    session.expire_all()
    got = session.scalars(select(m.Account).where(m.Account.id == acc.id)).one()
    assert got.name == "株式会社サンプル㈱ ｶﾌﾞｼｷ"
    assert got.created_at == dt.datetime(2026, 4, 1, 0, 0, tzinfo=dt.UTC)
    assert got.created_at.tzinfo is not None


def test_naive_datetimes_are_refused(session: Session) -> None:
    factories.account(session)
    with pytest.raises(Exception, match="naive datetime"):
        factories.account(session, created_at=dt.datetime(2026, 1, 1))


def test_money_is_integer_minor_units(session: Session) -> None:
    acc = factories.account(session)
    plan = factories.plan(session)
    sub = factories.subscription(session, acc, plan, mrr_minor=12_345_678_901)
    session.expire_all()
    assert session.get(m.Subscription, sub.id).mrr_minor == 12_345_678_901  # type: ignore[union-attr]


def test_migrations_match_the_models(tmp_path) -> None:
    """Every table and column declared in the models is created by the migrations (no drift)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    url = f"sqlite:///{tmp_path / 'drift.sqlite3'}"
    upgrade(url)
    engine = make_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), m.Base.metadata)
    engine.dispose()
    structural = [d for d in diff if d[0] in {"add_table", "remove_table", "add_column", "remove_column"}]
    assert structural == []


def test_the_migration_history_has_one_head() -> None:
    """Domains may branch while being built, but main always joins them: ``alembic upgrade head`` must work."""
    from alembic.script import ScriptDirectory

    from kizuna.migrations import alembic_config

    assert len(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()) == 1


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_kpi_snapshots_are_carried_from_points_to_series_and_back(
    backend: str, tmp_path, request: pytest.FixtureRequest
) -> None:
    from sqlalchemy import text

    url = (
        f"sqlite:///{tmp_path / 'k.sqlite3'}"
        if backend == "sqlite"
        else request.getfixturevalue("scratch_postgres_url")
    )
    upgrade(url, "0012idx")
    engine = make_engine(url)
    points = [
        ("2026-05-31", "mrr_minor", "2026-04-01", "JPY", "", "", 100.0),
        ("2026-05-31", "mrr_minor", "2026-05-01", "JPY", "", "", 150.5),
        ("2026-05-31", "nps", "2026-05-01", "", "plan", "Pro", None),
        ("2026-06-30", "mrr_minor", "2026-06-01", "JPY", "", "", 7.0),
    ]
    with engine.begin() as conn:
        for as_of, metric, month, currency, dimension, value_of, value in points:
            conn.execute(
                text(
                    "INSERT INTO kpi_values (as_of, metric, month, currency, dimension, dimension_value, value, "
                    "computed_at) VALUES (:a, :m, :mo, :c, :d, :dv, :v, :t)"
                ),
                {
                    "a": dt.date.fromisoformat(as_of),
                    "m": metric,
                    "mo": dt.date.fromisoformat(month),
                    "c": currency,
                    "d": dimension,
                    "dv": value_of,
                    "v": value,
                    "t": "2026-06-30 00:00:00.000000"
                    if backend == "sqlite"
                    else dt.datetime(2026, 6, 30, tzinfo=dt.UTC),
                },
            )
    engine.dispose()
    upgrade(url)
    engine = make_engine(url)
    with Session(engine) as session:
        from kizuna.kpis.service import load_kpi

        may = load_kpi(session, as_of=dt.date(2026, 5, 31))
        assert may.month.tolist() == [dt.date(2026, 4, 1), dt.date(2026, 5, 1)] and may.value.tolist() == [100.0, 150.5]
        assert load_kpi(session, as_of=dt.date(2026, 5, 31), by="plan").value.isna().all()
        assert load_kpi(session).value.tolist() == [7.0]
    engine.dispose()
    downgrade(url, "0012idx")
    engine = make_engine(url)
    with engine.connect() as conn:
        back = conn.execute(text("SELECT metric, month, value FROM kpi_values ORDER BY as_of, dimension, month"))
        assert [(r[0], str(r[1]), r[2]) for r in back] == [
            ("mrr_minor", "2026-04-01", 100.0),
            ("mrr_minor", "2026-05-01", 150.5),
            ("nps", "2026-05-01", None),
            ("mrr_minor", "2026-06-01", 7.0),
        ]
    engine.dispose()


def test_work_on_an_old_schema_is_refused_with_the_way_out(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    upgrade(url, "0013series")
    engine = make_engine(url)
    try:
        with pytest.raises(ConfigurationError, match=r"at 0013series, this kizuna needs .*run `kizuna init`"):
            require_current(engine)
        upgrade(url)
        require_current(engine)
    finally:
        engine.dispose()
    settings = Settings(data_dir=tmp_path / "never-initialised")
    result = CliRunner().invoke(build_app(), ["--data-dir", str(settings.data_dir), "refresh"])
    assert isinstance(result.exception, ConfigurationError) and "a new database" in str(result.exception)
