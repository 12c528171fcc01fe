"""``kizuna playbooks list|import|export|enable|disable|dry-run|run|log`` and ``kizuna worker``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from kizuna.platform.cli.common import runtime


def _echo_workload(loads: list[Any]) -> None:
    """Generated tasks per CSM: open, waiting, released today, against the daily budget."""
    if not loads:
        typer.echo("generated tasks per CSM: none yet")
        return
    typer.echo("generated tasks per CSM (open / waiting / released today / daily budget):")
    for w in loads:
        typer.echo(
            f"  {w.owner_name or '(no owner)':<20} open {w.open:>4}  waiting {w.waiting:>5}  "
            f"released today {w.released_today:>3}  budget {w.budget:>3}"
        )
    typer.echo(
        f"  {'total':<20} open {sum(w.open for w in loads):>4}  waiting {sum(w.waiting for w in loads):>5}  "
        f"released today {sum(w.released_today for w in loads):>3}"
    )


def register(app: typer.Typer) -> None:
    playbooks = typer.Typer(help="Playbooks: triggers + conditions + actions, as versioned YAML.", no_args_is_help=True)
    app.add_typer(playbooks, name="playbooks")

    @playbooks.command("list")
    def list_() -> None:
        """Every playbook with its version, trigger and switch."""
        from kizuna.playbooks.service import list_playbooks

        with runtime() as rt, rt.transaction() as session:
            for p in list_playbooks(session):
                state = "on " if p.enabled else "off"
                typer.echo(f"{state}  {p.key:<24} v{p.current_version:<3} {p.trigger_type:<20} {p.name}")

    @playbooks.command("import")
    def import_(
        paths: list[Path] = typer.Argument(None, help="YAML files or directories."),
        library: bool = typer.Option(False, "--library", help="Import the example library shipped with kizuna."),
        actor: str = typer.Option("cli", "--actor"),
    ) -> None:
        """Import playbooks from YAML (a changed definition becomes a new version)."""
        from kizuna.playbooks.service import LIBRARY_DIR, import_playbook

        files: list[Path] = []
        for path in [*(paths or []), *([LIBRARY_DIR] if library else [])]:
            files.extend(sorted(path.glob("*.yaml")) if path.is_dir() else [path])
        if not files:
            raise typer.BadParameter("give YAML files, a directory, or --library")
        with runtime() as rt, rt.transaction() as session:
            for file in files:
                playbook, changed = import_playbook(
                    session, actor=actor, yaml_text=file.read_text(encoding="utf-8"), source=str(file)
                )
                note = f"v{playbook.current_version}" if changed else "unchanged"
                typer.echo(f"{playbook.key}: {note}")

    @playbooks.command("export")
    def export(
        key: str,
        version: int = typer.Option(None, "--version"),
        output: Path = typer.Option(None, "--output", "-o", help="Write here instead of stdout."),
    ) -> None:
        """Print (or write) a playbook's YAML."""
        from kizuna.playbooks.service import export_playbook

        with runtime() as rt, rt.transaction() as session:
            text = export_playbook(session, key=key, version=version)
        if output:
            output.write_text(text, encoding="utf-8")
        else:
            typer.echo(text, nl=False)

    @playbooks.command("enable")
    def enable(key: str, actor: str = typer.Option("cli", "--actor")) -> None:
        """Switch a playbook on (run `dry-run` first)."""
        from kizuna.playbooks.service import set_enabled

        with runtime() as rt, rt.transaction() as session:
            set_enabled(session, actor=actor, key=key, enabled=True)
        typer.echo(f"{key}: on")

    @playbooks.command("disable")
    def disable(key: str, actor: str = typer.Option("cli", "--actor")) -> None:
        """Switch a playbook off."""
        from kizuna.playbooks.service import set_enabled

        with runtime() as rt, rt.transaction() as session:
            set_enabled(session, actor=actor, key=key, enabled=False)
        typer.echo(f"{key}: off")

    @playbooks.command("dry-run")
    def dry_run(
        key: str = typer.Argument(None, help="A stored playbook's key."),
        file: Path = typer.Option(None, "--file", "-f", help="Or a YAML file that is not imported yet."),
        limit: int = typer.Option(50, "--limit", help="Show at most this many accounts."),
    ) -> None:
        """Which accounts the playbook would act on now, and why -- without acting."""
        from kizuna.playbooks.schemas import parse_playbook_yaml
        from kizuna.playbooks.service import evaluate_definition, evaluate_playbook

        with runtime() as rt, rt.transaction() as session:
            lang = rt.settings.language
            if file:
                definition = parse_playbook_yaml(file.read_text(encoding="utf-8"), source=str(file))
                report = evaluate_definition(session, definition, dry_run=True, language=lang)
            elif key:
                report = evaluate_playbook(session, key=key, dry_run=True, language=lang)
            else:
                raise typer.BadParameter("give a playbook key or --file")
            session.rollback()
        if report.skipped:
            typer.echo(f"skipped: {report.skipped}")
        for o in report.outcomes[:limit]:
            extra = f"  [{o.detail}]" if o.detail else ""
            if o.task:
                extra += f"  task: {o.task} (stakes {o.stakes:,.0f})"
            typer.echo(f"{o.outcome:<14} {o.account_id:>8}  {o.account_name}  -- {o.reason}{extra}")
        if len(report.outcomes) > limit:
            typer.echo(f"... and {len(report.outcomes) - limit} more")
        typer.echo(f"summary: {report.summary()}")

    @playbooks.command("run")
    def run(
        keys: list[str] = typer.Argument(None, help="Playbook keys (default: every enabled playbook)."),
        actor: str = typer.Option("cli", "--actor"),
    ) -> None:
        """Evaluate playbooks now, run their due actions, and deliver the emails and webhooks."""
        from kizuna.platform.clock import today
        from kizuna.platform.outbox.service import deliver_queued
        from kizuna.playbooks.jobs import evaluate_enabled, process_jobs
        from kizuna.slack.delivery import senders
        from kizuna.tasks.service import release_waiting
        from kizuna.teams.delivery import senders as teams_senders

        with runtime() as rt:
            for summary in evaluate_enabled(rt, keys=keys or None, actor=actor):
                typer.echo(f"evaluated: {summary}")
            done = process_jobs(rt)
            typer.echo(f"jobs: {done.as_dict()}")
            with rt.transaction(write=True) as session:
                released = release_waiting(session, today=today())
            typer.echo(f"tasks released within the daily budgets: {sum(released.values())}")
            report = deliver_queued(
                rt.sessions, settings=rt.settings, senders={**senders(rt.settings), **teams_senders(rt.settings)}
            )
            typer.echo(f"messages: {report.as_dict()}")

    @playbooks.command("log")
    def log_(
        key: str = typer.Argument(None),
        account_id: int = typer.Option(None, "--account"),
        limit: int = typer.Option(50, "--limit"),
    ) -> None:
        """The run log: each account a run looked at, why, the outcome and what its actions did."""
        from kizuna.platform.clock import today
        from kizuna.playbooks.service import run_log
        from kizuna.tasks.service import workload

        with runtime() as rt, rt.transaction() as session:
            rows = run_log(session, key=key, account_id=account_id, limit=limit)
            loads = workload(session, today=today())
        _echo_workload(loads)
        for r in rows:
            actions = "; ".join(
                f"{a['type']}={a['status']}" + (f" ({a['result']})" if a["result"] else "") for a in r["actions"]
            )
            typer.echo(
                f"{r['at']:%Y-%m-%d %H:%M} run {r['run_id']} {r['playbook']} account {r['account_id']}: "
                f"{r['outcome']} -- {r['reason']}" + (f" | {actions}" if actions else "")
            )

    @playbooks.command("capacity")
    def capacity(
        member: str = typer.Argument(None, help="A team member's email (or external id) to set the budget of."),
        budget: int = typer.Option(None, "--set", min=0, help="New generated tasks a day for that member."),
        default: bool = typer.Option(False, "--default", help="Back to the default budget for that member."),
        actor: str = typer.Option("cli", "--actor"),
    ) -> None:
        """Generated tasks per CSM (open, waiting, released today, daily budget); set a CSM's daily budget."""
        from sqlalchemy import or_, select

        from kizuna.accounts.models import TeamMember
        from kizuna.platform.cli.common import fail
        from kizuna.platform.clock import today
        from kizuna.tasks.service import set_daily_budget, workload

        with runtime() as rt, rt.transaction() as session:
            if member:
                if budget is None and not default:
                    raise typer.BadParameter("give --set N or --default with a team member")
                found = session.scalars(
                    select(TeamMember).where(or_(TeamMember.email == member, TeamMember.external_id == member))
                ).first()
                if found is None:
                    fail(f"no team member with email or external id {member!r}")
                    return
                set_daily_budget(session, actor=actor, member_id=found.id, budget=None if default else budget)
                shown = "default" if found.daily_task_budget is None else found.daily_task_budget
                typer.echo(f"{found.name}: daily budget {shown}")
            loads = workload(session, today=today())
        _echo_workload(loads)

    @app.command()
    def worker(
        interval: float = typer.Option(30.0, "--interval", help="Seconds between rounds."),
        once: bool = typer.Option(False, "--once", help="Do one round and exit."),
    ) -> None:
        """Run the scheduler in the foreground: evaluate playbooks, run pending jobs, send emails and webhooks."""
        from kizuna.playbooks.jobs import run_worker

        with runtime() as rt:
            run_worker(rt, interval=interval, once=once)
