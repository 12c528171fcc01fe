"""``kizuna tasks list|done|snooze``."""

from __future__ import annotations

import typer

from kizuna.platform.cli.common import runtime


def register(app: typer.Typer) -> None:
    tasks = typer.Typer(help="Tasks (calls to action) for the CS team.", no_args_is_help=True)
    app.add_typer(tasks, name="tasks")

    @tasks.command("list")
    def list_(
        owner_id: int = typer.Option(None, "--owner"),
        account_id: int = typer.Option(None, "--account"),
        limit: int = typer.Option(50, "--limit"),
    ) -> None:
        """Open tasks, earliest due first."""
        from kizuna.tasks.service import list_tasks

        with runtime() as rt, rt.transaction() as session:
            for t in list_tasks(session, owner_id=owner_id, account_id=account_id, limit=limit):
                typer.echo(f"{t.id:>6} {t.priority:<7} due {t.due_on or '-'}  account {t.account_id}  {t.title}")

    @tasks.command("done")
    def done(task_id: int, outcome: str = typer.Option(None, "--outcome"), actor: str = typer.Option("cli")) -> None:
        """Complete a task."""
        from kizuna.tasks.service import complete_task

        with runtime() as rt, rt.transaction() as session:
            complete_task(session, actor=actor, task_id=task_id, outcome=outcome)
        typer.echo(f"task {task_id} done")

    @tasks.command("snooze")
    def snooze(task_id: int, until: str, actor: str = typer.Option("cli")) -> None:
        """Snooze a task until a date (YYYY-MM-DD)."""
        import datetime as dt

        from kizuna.tasks.service import snooze_task

        with runtime() as rt, rt.transaction() as session:
            snooze_task(session, actor=actor, task_id=task_id, until=dt.date.fromisoformat(until))
        typer.echo(f"task {task_id} snoozed until {until}")
