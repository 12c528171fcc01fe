"""Core commands: ``init``, ``db upgrade|downgrade``, ``status``."""

from __future__ import annotations

import typer

from kizuna.platform.cli.common import runtime, settings


def register(app: typer.Typer) -> None:
    register_refresh(app)
    db = typer.Typer(help="Manage the app database schema (Alembic migrations).", no_args_is_help=True)
    app.add_typer(db, name="db")

    @app.command()
    def init() -> None:
        """Create the data directory and bring the app database to the newest schema."""
        from kizuna.migrations import upgrade

        s = settings()
        s.ensure_dirs()
        upgrade(s.sqlalchemy_url)
        typer.echo(f"kizuna is ready in {s.data_dir.resolve()} (database: {_safe_url(s.sqlalchemy_url)})")

    @db.command("upgrade")
    def db_upgrade(revision: str = typer.Argument("heads", help="Target revision.")) -> None:
        """Upgrade the app database to REVISION (default: newest)."""
        from kizuna.migrations import upgrade

        s = settings()
        s.ensure_dirs()
        upgrade(s.sqlalchemy_url, revision)
        typer.echo(f"database upgraded to {revision}")

    @db.command("downgrade")
    def db_downgrade(
        revision: str = typer.Argument(..., help="Target revision, or 'base' to drop everything."),
    ) -> None:
        """Downgrade the app database to REVISION."""
        from kizuna.migrations import downgrade

        downgrade(settings().sqlalchemy_url, revision)
        typer.echo(f"database downgraded to {revision}")

    @app.command()
    def status(as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table.")) -> None:
        """What is loaded: row counts, date ranges, events on disk, and the last import results."""
        import json

        from rich.console import Console
        from rich.table import Table

        from kizuna.imports.status import hub_status

        with runtime() as rt, rt.transaction() as session:
            report = hub_status(session, rt.settings)
        if as_json:
            typer.echo(json.dumps(report, ensure_ascii=False, indent=2, default=str))
            return
        console = Console()
        table = Table(title=f"kizuna — {rt.settings.data_dir}")
        for col in ("entity", "rows", "from", "to"):
            table.add_column(col)
        for row in report["entities"]:
            table.add_row(row["entity"], f"{row['rows']:,}", _day(row["from"]), _day(row["to"]))
        console.print(table)
        if report["imports"]:
            runs = Table(title="last imports")
            for col in ("entity", "file", "status", "imported", "updated", "unchanged", "rejected", "finished"):
                runs.add_column(col)
            for r in report["imports"]:
                runs.add_row(
                    r["entity"],
                    r["file_name"],
                    r["status"],
                    str(r["imported"]),
                    str(r["updated"]),
                    str(r["unchanged"]),
                    str(r["rejected"]),
                    str(r["finished_at"] or ""),
                )
            console.print(runs)


def _day(value: object) -> str:
    """A date or timestamp as its (UTC) calendar day, for the status table."""
    return "" if value is None else str(value)[:10]


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


#: ``kizuna refresh``'s exit status when some steps were skipped for want of data (and the others ran)
REFRESH_SKIPPED_EXIT = 3


def register_refresh(app: typer.Typer) -> None:
    @app.command()
    def refresh(
        as_of: str = typer.Option(None, "--as-of", help="Compute as of this date (YYYY-MM-DD); default today."),
        only: list[str] = typer.Option(None, "--only", help="Run only these steps (e.g. kpis, health)."),
        act_on_history: bool = typer.Option(
            False,
            "--act-on-history",
            help="The hub's first refresh acts on the present (playbooks, expansion opportunities, onboarding "
            "plans) instead of being quiet; later refreshes act only on what is new since the previous one "
            "(docs/playbooks.md, Back-fill).",
        ),
    ) -> None:
        """Recompute everything derived from the data hub: KPIs, scores, models, text analytics, segments, triggers.

        Exit status: 0 every step ran; 3 some steps were skipped because the data cannot support them yet (each
        listed with its reason; the other steps ran); 2 bad arguments; 1 an internal error.
        """
        import datetime as dt
        import json

        from kizuna.domains import REFRESH_STEPS
        from kizuna.migrations import require_current
        from kizuna.pipeline.refresh import refresh as run_refresh
        from kizuna.pipeline.refresh import skipped_steps

        day = dt.date.fromisoformat(as_of) if as_of else None
        with runtime() as rt:
            require_current(rt.engine)
            summaries = run_refresh(rt, REFRESH_STEPS, as_of=day, only=only or None, act_on_history=act_on_history)
        for step, summary in summaries.items():
            typer.echo(f"{step}: {json.dumps(summary, ensure_ascii=False, default=str)}")
        if any(summary.get("quiet") for summary in summaries.values()):
            typer.echo(
                "quiet: the hub's first refresh acted on nothing of its history (no task, e-mail, opportunity or "
                "onboarding plan); the next refresh acts on what is new since. `kizuna refresh --act-on-history` "
                "acts on the present now.",
                err=True,
            )
        skipped = skipped_steps(summaries)
        if skipped:
            typer.echo(f"skipped {len(skipped)} of {len(summaries)} steps (the others ran):", err=True)
            for step, reason in skipped.items():
                typer.echo(f"  {step}: {reason}", err=True)
            raise typer.Exit(REFRESH_SKIPPED_EXIT)
