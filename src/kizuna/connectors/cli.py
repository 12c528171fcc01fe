"""``kizuna connect status``: every connector's last run; the vendors' own set-ups join the same ``connect`` group."""

from __future__ import annotations

import typer

from kizuna.platform.cli.common import runtime


def register_connect(connect: typer.Typer) -> None:
    @connect.command("status")
    def status() -> None:
        """Each connected system: credentials present, last run (status, counts, rejects), events received."""
        from kizuna.connectors import credentials, service

        with runtime() as rt, rt.transaction() as session:
            rows = service.status(session, configured=credentials.configured(rt.settings))
            if not rows:
                typer.echo("no system connected yet: `kizuna connect --help` lists the set-ups")
            for row in rows:
                run = row.last_run
                last = "never run" if run is None else f"{run.kind} {run.status} at {run.started_at:%Y-%m-%d %H:%M}Z"
                counts = "" if run is None else " ".join(f"{k}={v}" for k, v in sorted(run.counts.items()))
                typer.echo(
                    f"{row.vendor:<12} {'configured' if row.configured else 'no credentials':<14} {last} {counts}"
                    f" | events received {row.events}"
                )
