"""``kizuna mail import FILE.eml|FILE.mbox|DIR``: customers' e-mails into activities and VoC entries."""

from __future__ import annotations

from pathlib import Path

import typer

from kizuna.platform.cli.common import fail, runtime


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="E-mail in: customers' messages into the timeline and VoC.", no_args_is_help=True)
    app.add_typer(group, name="mail")

    @group.command("import")
    def import_(
        path: Path = typer.Argument(..., help="An .eml file, an .mbox file, or a folder of them"),
        analyse: bool = typer.Option(True, "--analyse/--no-analyse", help="Give the new VoC entries a sentiment now"),
    ) -> None:
        """Read messages (once each, by Message-ID) onto the sender's account; unmatched senders are rejects."""
        from kizuna.errors import KizunaError
        from kizuna.mail import service
        from kizuna.voc.service import analyse_entries

        with runtime() as rt:
            try:
                with rt.transaction(write=True) as session:
                    run_id, log = service.import_mail(session, path, actor="cli")
                if analyse and log.counts.get("voc_entries"):
                    with rt.transaction(write=True) as session:
                        analyse_entries(session)
            except KizunaError as exc:
                fail(str(exc))
                return
        counts = " ".join(f"{k}={v}" for k, v in sorted(log.counts.items()))
        typer.echo(f"mail import (run {run_id}): {counts}")
        for reject in log.rejects[:20]:
            typer.echo(f"  rejected {reject['record']}: {reject['field']}={reject['value']!r}: {reject['reason']}")
