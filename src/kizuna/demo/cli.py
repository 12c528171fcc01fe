"""CLI commands of the demo domain: ``kizuna demo``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from kizuna.settings import Settings


def register(app: typer.Typer) -> None:
    """Add ``kizuna demo`` to the root CLI."""

    @app.command()
    def demo(
        company: str = typer.Option(
            "kizuna",
            "--company",
            help="kizuna: the Japanese B2B SaaS demo; lumen: a US analytics SaaS in USD with eight event types of its "
            "own and no logins, tickets, surveys or VoC (a second, differently built company to test models on).",
        ),
        accounts: int = typer.Option(None, "--accounts", min=10, help="Accounts (default 2,000; lumen 2,300)."),
        years: int = typer.Option(3, "--years", min=1, max=10, help="Years of history ending on --end-date."),
        seed: int = typer.Option(
            None, "--seed", help="Random seed (default 42; lumen 7): the same seed, the same company."
        ),
        end_date: str = typer.Option(
            None, "--end-date", help="'Today' of the demo company (YYYY-MM-DD); default: today, so pages are current."
        ),
        reset: bool = typer.Option(False, "--reset", help="Empty the data hub and the event files first."),
        playbooks: bool = typer.Option(
            True, "--playbooks/--no-playbooks", help="Import the example playbook library and switch it on."
        ),
    ) -> None:
        """Build a realistic Japanese B2B SaaS demo company (seeded, deterministic) into the data hub.

        Accounts, contacts, the CS team, plans and contract history, invoices and payments, usage events, tickets,
        surveys, VoC, CS activities, onboarding, leads and opportunities. The hidden truth (latent health, real churn
        reasons) is written apart under <data_dir>/demo/ for evaluating models.
        """
        import datetime as dt

        from kizuna.demo.generator import generate_demo
        from kizuna.demo.simulate import DemoOptions
        from kizuna.platform.cli.common import fail, settings
        from kizuna.platform.clock import today

        try:
            end = dt.date.fromisoformat(end_date) if end_date else today()
        except ValueError:
            fail(f"--end-date {end_date!r} is not a date (YYYY-MM-DD)")
            return
        s = settings()
        if company == "lumen":
            from kizuna.demo.lumen import LumenOptions, generate_lumen

            lumen = LumenOptions(accounts=accounts or 2300, years=years, seed=7 if seed is None else seed, end_date=end)
            done = generate_lumen(s, options=lumen, reset=reset, progress=lambda msg: typer.echo(msg, err=True))
            typer.echo(f"Lumen written to {s.data_dir.resolve()} in {sum(done.seconds.values()):.1f} s")
            for table, rows in done.rows.items():
                typer.echo(f"  {table:<22} {rows:>12,}")
            typer.echo(f"  {'events':<22} {done.events:>12,}")
            typer.echo("reporting currency: USD (set KIZUNA_CURRENCY=USD for this company)")
            return
        if company != "kizuna":
            fail(f"--company {company!r} is not one of: kizuna, lumen")
            return
        accounts = accounts or 2000
        seed = 42 if seed is None else seed
        options = DemoOptions(accounts=accounts, years=years, seed=seed, end_date=end)
        summary = generate_demo(s, options=options, reset=reset, progress=lambda msg: typer.echo(msg, err=True))
        typer.echo(f"demo company written to {s.data_dir.resolve()} in {sum(summary.seconds.values()):.1f} s")
        for table, rows in summary.rows.items():
            typer.echo(f"  {table:<22} {rows:>12,}")
        typer.echo(f"  {'events':<22} {summary.events:>12,}")
        typer.echo("seconds: " + ", ".join(f"{k} {v}" for k, v in summary.seconds.items()))
        typer.echo(f"hidden truth (for evaluating models only): {summary.truth_dir}")
        logins = _csm_logins(s)
        typer.echo(f"CSM logins linked to their team member: {logins} (kizuna serve --demo-login sets a password)")
        if playbooks:
            # the demo CS team works with the example library switched on, so `refresh` turns signals into tasks
            from kizuna.playbooks.service import import_library, set_enabled
            from kizuna.runtime import Runtime

            rt = Runtime.open(s)
            try:
                with rt.transaction() as session:
                    keys = [key for key, _changed in import_library(session, actor="demo")]
                    for key in keys:
                        set_enabled(session, actor="demo", key=key, enabled=True)
            finally:
                rt.close()
            typer.echo(f"playbooks switched on: {len(keys)}")


def _csm_logins(settings: Settings) -> int:
    """A login per CSM of the demo team, linked to its team member, so that each CSM lands on their own cockpit."""
    from sqlalchemy import select

    from kizuna.accounts.models import TeamMember, TeamRole
    from kizuna.auth.service import create_linked_logins
    from kizuna.runtime import Runtime

    rt = Runtime.open(settings)
    try:
        with rt.transaction() as session:
            members = session.execute(
                select(TeamMember.id, TeamMember.name, TeamMember.email).where(
                    TeamMember.role == TeamRole.csm, TeamMember.active.is_(True), TeamMember.email.is_not(None)
                )
            ).all()
            return create_linked_logins(session, actor="demo", members=[(int(i), n, str(e)) for i, n, e in members])
    finally:
        rt.close()
