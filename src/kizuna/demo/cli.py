"""CLI commands of the demo domain."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this domain's commands to the root CLI (filled in by the demo work)."""
