"""CLI commands of the imports domain."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this domain's commands to the root CLI (filled in by the imports work)."""
