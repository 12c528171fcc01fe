"""``kizuna import ENTITY FILE``: load a CSV, TSV, Excel, Parquet or JSON Lines file into the data hub."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import typer

from kizuna.platform.cli.common import fail, runtime

PROGRESS_MIN_BYTES = 20 * 1024 * 1024


def register(app: typer.Typer) -> None:
    @app.command("import")
    def import_command(
        entity: str = typer.Argument(
            ...,
            help="What the file holds: accounts, contacts, team_members, products, plans, subscriptions, invoices, "
            "payments, events, tickets, survey_responses, voc_entries, activities, onboarding_milestones, leads, "
            "opportunities, marketing_spend, fx_rates.",
        ),
        file: Path = typer.Argument(..., help="The file: .csv, .tsv, .xlsx, .parquet or .jsonl.", exists=False),
        encoding: str = typer.Option(
            None, "--encoding", help="Text encoding of a CSV/TSV (default: detected; utf-8, utf-8-sig, cp932)."
        ),
        mapping: str = typer.Option(
            None,
            "--mapping",
            help="A ready mapping of a product's export (salesforce, hubspot, stripe, zendesk, intercom, google_forms, "
            "surveymonkey; docs/imports.md) or a YAML file mapping the file's headers to kizuna columns.",
        ),
        sheet: str = typer.Option(None, "--sheet", help="Excel: the sheet to read (default: the first)."),
        file_format: str = typer.Option(
            None, "--format", help="Override the format chosen by extension (csv, tsv, xlsx, parquet, jsonl)."
        ),
        dry_run: bool = typer.Option(False, "--dry-run", help="Validate and report; write nothing but the rejects."),
        actor: str = typer.Option("cli", "--actor", help="Who runs the import (recorded in the audit log)."),
        currency: str = typer.Option(
            None,
            "--currency",
            help="ISO currency of rows without a currency column or cell, e.g. JPY, USD (money without one is "
            "rejected).",
        ),
        timezone: str = typer.Option(
            None,
            "--timezone",
            help="Time zone of the file's naive timestamps, e.g. UTC, America/New_York (default: the mapping's "
            "timezone, else the company's).",
        ),
    ) -> None:
        """Import FILE into ENTITY: validate every row, upsert by external id, write bad rows to a rejects file.

        Exit code 0 when rows were imported (even if some were rejected), 2 when the whole file was refused.
        """
        from kizuna.errors import KizunaError
        from kizuna.imports.service import import_file, record_failed_import

        with runtime() as rt:
            progress_cm, callback = _progress(file)
            try:
                # IMMEDIATE on SQLite: an import reads (existing keys) and then writes while the scheduler, a worker
                # or the web app write too; a deferred transaction died at its first write ("database is locked")
                with progress_cm, rt.transaction(write=True) as session:
                    summary = import_file(
                        session,
                        entity=entity,
                        path=file,
                        settings=rt.settings,
                        actor=actor,
                        encoding=encoding,
                        mapping=mapping,
                        dry_run=dry_run,
                        file_format=file_format,
                        sheet=sheet,
                        progress=callback,
                        timezone=timezone,
                        currency=currency,
                    )
            except KizunaError as exc:
                if not dry_run and file.is_file():
                    with rt.transaction(write=True) as session:
                        record_failed_import(session, entity=entity, path=file, actor=actor, message=str(exc))
                fail(str(exc), code=2 if exc.status_code < 500 else 1)
                return
        _print_summary(summary)
        if summary.refused_entirely:
            raise typer.Exit(2)


def _progress(file: Path) -> tuple[AbstractContextManager[object], Callable[[int, int], None] | None]:
    """A rich progress bar by bytes read for large files; a no-op otherwise."""
    import contextlib

    size = file.stat().st_size if file.is_file() else 0
    if size < PROGRESS_MIN_BYTES:
        return contextlib.nullcontext(), None
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn, TransferSpeedColumn

    bar = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        transient=True,
    )
    task = bar.add_task(f"importing {file.name}", total=size)

    def update(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    return bar, update


def _print_summary(summary: object) -> None:
    from kizuna.imports.schemas import ImportSummary

    assert isinstance(summary, ImportSummary)
    prefix = "dry run — nothing written. " if summary.dry_run else ""
    typer.echo(
        f"{prefix}{summary.entity} from {summary.file} ({summary.format}"
        + (f", {summary.encoding}" if summary.encoding else "")
        + f"): {summary.rows_read:,} rows read — imported {summary.imported:,}, updated {summary.updated:,}, "
        f"unchanged {summary.unchanged:,}, rejected {summary.rejected:,} in {summary.seconds:.1f} s"
    )
    for note in summary.notes:
        typer.echo(f"note: {note}")
    if summary.ignored_columns:
        typer.echo(f"ignored columns: {', '.join(summary.ignored_columns)}")
    if summary.rejects_path:
        typer.echo(f"rejects: {summary.rejects_path}")
        for r in summary.sample_rejections[:5]:
            typer.echo(f"  row {r.row}, {r.column} = {r.value!r}: {r.reason}")
