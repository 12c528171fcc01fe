"""Printing a frame in the format the user asked for: a table on the terminal, CSV or JSON for other programs."""

from __future__ import annotations

import sys

import pandas as pd
import typer

FORMATS = ("table", "csv", "json")


def print_frame(frame: pd.DataFrame, fmt: str = "table", *, title: str | None = None) -> None:
    """Print ``frame`` as ``table`` (rich), ``csv`` (UTF-8, header row) or ``json`` (one object per row)."""
    if fmt not in FORMATS:
        raise typer.BadParameter(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if fmt == "csv":
        frame.to_csv(sys.stdout, index=False)
        return
    if fmt == "json":
        typer.echo(frame.to_json(orient="records", force_ascii=False, date_format="iso", indent=1))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column in frame.columns:
        table.add_column(str(column), justify="right" if pd.api.types.is_numeric_dtype(frame[column]) else "left")
    for row in frame.itertuples(index=False):
        table.add_row(*(_cell(v) for v in row))
    Console().print(table)
    if frame.empty:
        typer.echo("(no rows — has `kizuna refresh` run?)")


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
