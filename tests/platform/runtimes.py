"""``db_runtime``: a Runtime with real commits on a fresh, migrated database -- SQLite, then PostgreSQL.

Import it into a test package's conftest.py: ``from tests.platform.runtimes import db_runtime``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kizuna.migrations import upgrade
from kizuna.runtime import Runtime
from kizuna.settings import Settings


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_runtime(request: pytest.FixtureRequest, settings: Settings) -> Iterator[Runtime]:
    if request.param == "postgres":
        settings = settings.model_copy(update={"database_url": request.getfixturevalue("scratch_postgres_url")})
    settings.ensure_dirs()
    upgrade(settings.sqlalchemy_url)
    rt = Runtime.open(settings)
    yield rt
    rt.close()
