"""``kizuna create-user`` as an administrator runs it: the installed command in a fresh process (SQLite, PostgreSQL).

In-process CLI tests load every table before the command runs; a fresh process loads only what the command imports,
which is how ``create-user`` once always failed (``NoReferencedTableError`` on ``users.team_member_id`` →
``team_members``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kizuna.auth import service
from kizuna.auth.models import User
from kizuna.db import make_engine
from kizuna.migrations import upgrade

KIZUNA = str(Path(sys.executable).parent / "kizuna")


def _kizuna(data_dir: Path, database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KIZUNA_DATA_DIR": str(data_dir)}
    env.pop("KIZUNA_DATABASE_URL", None)
    command = [KIZUNA, "--data-dir", str(data_dir), "--database-url", database_url]
    return subprocess.run([*command, *args], capture_output=True, text=True, env=env, timeout=120, check=False)


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_create_user_in_a_fresh_process_creates_a_user_who_can_log_in(
    database: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    data_dir = tmp_path / "kizuna-data"
    data_dir.mkdir()
    url = request.getfixturevalue("scratch_postgres_url") if database == "postgres" else None
    url = url or f"sqlite:///{data_dir / 'kizuna.sqlite3'}"
    upgrade(url)

    created = _kizuna(
        data_dir,
        url,
        "create-user",
        "lead@example.jp",
        "--role",
        "manager",
        "--password",
        "long enough",
    )

    assert created.returncode == 0, created.stderr + created.stdout
    assert "Traceback" not in created.stderr and "created" in created.stdout
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            user = session.scalars(select(User).where(User.email == "lead@example.jp")).one()
            assert user.role == "manager"
            assert service.authenticate(session, email="lead@example.jp", password="long enough").id == user.id
    finally:
        engine.dispose()
