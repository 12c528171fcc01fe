"""Alembic migrations of the app database (dated revisions)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from kizuna.errors import ConfigurationError

HERE = Path(__file__).parent


def alembic_config(url: str) -> Config:
    """An Alembic config for ``url`` built in code, so the package needs no alembic.ini at run time."""
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(rev)s_%%(slug)s")
    return config


def require_current(engine: Engine) -> None:
    """Refuse to work on a database whose schema is older (or newer) than this kizuna's: one clear line instead of a
    "no such column" half-way through a refresh or a page."""
    heads = set(
        ScriptDirectory.from_config(alembic_config(engine.url.render_as_string(hide_password=False))).get_heads()
    )
    with engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    if current != heads:
        found = ", ".join(sorted(current)) or "nothing (a new database)"
        raise ConfigurationError(
            f"the database schema is at {found}, this kizuna needs {', '.join(sorted(heads))}: "
            "run `kizuna init` (or `kizuna db upgrade`) first"
        )


def upgrade(url: str, revision: str = "heads") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)
