"""E-mail in tests: the app as kizuna serve builds it, on the web tests' world; hubs with real commits on SQLite and
PostgreSQL, and a real IMAP server on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kizuna.migrations import upgrade
from kizuna.runtime import Runtime
from kizuna.settings import Settings
from tests.mail.imap_peer import ImapServer, imap_server
from tests.web.fixtures import _world_template, world  # noqa: F401


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def hub(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Runtime]:
    """A hub with real commits (each batch of a pull is its own transaction), on SQLite then PostgreSQL."""
    settings = Settings(data_dir=tmp_path / "hub", kpi_processes=1, scheduler_in_process=False)
    if request.param == "postgres":
        settings = settings.model_copy(update={"database_url": request.getfixturevalue("scratch_postgres_url")})
    settings.ensure_dirs()
    upgrade(settings.sqlalchemy_url)
    runtime = Runtime.open(settings)
    yield runtime
    runtime.close()


@pytest.fixture
def imap(tmp_path: Path) -> Iterator[ImapServer]:
    """pymap on loopback, plain IMAP (STARTTLS is tested apart)."""
    with imap_server(tmp_path / "imap") as server:
        yield server
