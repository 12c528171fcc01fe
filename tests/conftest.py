"""Shared fixtures: real databases (a SQLite file and the PostgreSQL server), rolled back after each test.

``session`` runs each test that asks for it on both SQLite and PostgreSQL. ``runtime`` gives a fresh, migrated SQLite
data directory for tests that need real commits (CLI, imports, jobs).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

from kizuna.db import make_engine
from kizuna.migrations import upgrade
from kizuna.platform import cache
from kizuna.runtime import Runtime
from kizuna.settings import Settings
from tests.web.demo_app import demo_app  # noqa: F401  (one demo company per session, shared by every domain's page tests)

POSTGRES_ADMIN_URL = os.environ.get("KIZUNA_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def _fresh_postgres_database(name: str) -> str:
    admin = make_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0"))
    admin.dispose()
    return make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def _drop_postgres_database(name: str) -> None:
    admin = make_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'kizuna.sqlite3'}"
    upgrade(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def postgres_engine() -> Iterator[Engine]:
    # one database per test process, so parallel runs (xdist workers, several checkouts) never share one
    name = f"kizuna_test_{_worker()}_{os.getpid()}"
    url = _fresh_postgres_database(name)
    upgrade(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()
    _drop_postgres_database(name)


@pytest.fixture
def scratch_postgres_url() -> Iterator[str]:
    """An empty PostgreSQL database of this test alone (not migrated), dropped afterwards whatever happens."""
    name = f"kizuna_scratch_{_worker()}_{os.getpid()}"
    url = _fresh_postgres_database(name)
    try:
        yield url
    finally:
        # the test's engines may still hold connections: FORCE ends them
        _drop_postgres_database(name)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_engine(request: pytest.FixtureRequest) -> Engine:
    return request.getfixturevalue(f"{request.param}_engine")  # type: ignore[no-any-return]


@pytest.fixture
def session(db_engine: Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test; services' own savepoints work. The app's
    caches start empty (they are kept per database, and every test's rolled-back rows share one)."""
    cache.clear_all()
    connection = db_engine.connect()
    outer = connection.begin()
    sess = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield sess
    finally:
        sess.close()
        outer.rollback()
        connection.close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "kizuna-data")


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    """A fresh, migrated SQLite data directory with real commits."""
    settings.ensure_dirs()
    upgrade(settings.sqlalchemy_url)
    rt = Runtime.open(settings)
    yield rt
    rt.close()
