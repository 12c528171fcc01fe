"""What every CLI command shares: settings from the root options, the runtime, errors turned into exit codes."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import typer

from kizuna.errors import KizunaError
from kizuna.runtime import Runtime
from kizuna.settings import Settings


@dataclass
class _State:
    overrides: dict[str, object] = field(default_factory=dict)


state = _State()


def settings() -> Settings:
    return Settings(**state.overrides)  # type: ignore[arg-type]


@contextmanager
def runtime() -> Iterator[Runtime]:
    rt = Runtime.open(settings())
    try:
        yield rt
    finally:
        rt.close()


def fail(message: str, code: int = 1) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def run_app(app: typer.Typer) -> None:
    """Run the CLI; kizuna's own errors become one clear line on stderr and exit code 2 (bad input) or 1."""
    try:
        app()
    except KizunaError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(2 if exc.status_code < 500 else 1)
    except KeyboardInterrupt:
        typer.secho("interrupted: nothing of the unfinished step was written", err=True)
        sys.exit(130)
