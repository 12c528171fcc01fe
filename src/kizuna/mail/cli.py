"""``kizuna connect mail`` (the IMAP mailbox; the password kept by the connectors' credentials file, never echoed),
``kizuna mail pull`` (new messages over IMAP) and ``kizuna mail import FILE.eml|FILE.mbox|DIR``."""

from __future__ import annotations

from pathlib import Path

import typer

from kizuna.platform.cli.common import fail, runtime, settings


def _report(what: str, counts: dict[str, int], rejects: list[dict[str, object]]) -> None:
    typer.echo(f"{what}: " + " ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    for reject in rejects[:20]:
        typer.echo(f"  rejected {reject['record']}: {reject['field']}={reject['value']!r}: {reject['reason']}")


def register_connect(connect: typer.Typer) -> None:
    @connect.command("mail")
    def connect_mail(
        host: str = typer.Option(..., "--host", help="The IMAP server (imap.example.co.jp)"),
        user: str = typer.Option(..., "--user", help="The login (often the mailbox's address)"),
        password: str = typer.Option(..., "--password", prompt=True, hide_input=True, help="The login's password"),
        security: str = typer.Option(
            "ssl", "--security", help="ssl (TLS from the start, port 993), starttls (port 143) or none (loopback only)"
        ),
        port: int = typer.Option(None, "--port", min=1, max=65535, help="Default 993 for ssl, 143 otherwise"),
        mailbox: str = typer.Option("INBOX", "--mailbox", help="The folder customers' mail arrives in"),
        ca_file: Path = typer.Option(None, "--ca-file", help="A certificate authority to trust (a company's own CA)"),
        check: bool = typer.Option(True, "--check/--no-check", help="Log in and open the mailbox before saving"),
    ) -> None:
        """Connect a customer mailbox over IMAP: its messages become activities and VoC entries on their accounts."""
        from kizuna.connectors import credentials
        from kizuna.errors import KizunaError
        from kizuna.mail.imap import DEFAULT_PORTS, SECURITY, Mailbox, MailboxAddress

        if security not in SECURITY:
            fail(f"--security {security!r}: one of {', '.join(SECURITY)}")
        values = {
            "host": host,
            "port": str(port or DEFAULT_PORTS[security]),
            "user": user,
            "password": password,
            "mailbox": mailbox,
            "security": security,
            "ca_file": str(ca_file.resolve()) if ca_file else "",
        }
        if check:
            try:
                with Mailbox(MailboxAddress.from_credentials(values)) as box:
                    typer.echo(f"logged in: {mailbox} opened (UIDVALIDITY {box.uid_validity})")
            except KizunaError as exc:
                fail(f"{exc} (nothing saved; --no-check saves without trying)")
        public = ("host", "port", "user", "mailbox", "security", "ca_file")
        typer.echo(credentials.connect(settings(), "mail", values, public=public))
        typer.echo("then run `kizuna mail pull` (the scheduler pulls it every connector_sync_minutes)")


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="E-mail in: customers' messages into the timeline and VoC.", no_args_is_help=True)
    app.add_typer(group, name="mail")

    @group.command("pull")
    def pull(
        batch_size: int = typer.Option(50, "--batch-size", min=1, max=1000, help="Messages committed together"),
        analyse: bool = typer.Option(True, "--analyse/--no-analyse", help="Give the new VoC entries a sentiment now"),
    ) -> None:
        """Read the messages that arrived in the connected mailbox since the last pull (resumes after a crash)."""
        from kizuna.errors import KizunaError
        from kizuna.mail import jobs

        with runtime() as rt:
            try:
                run = jobs.pull(
                    rt, address=jobs.address_of(rt.settings), actor="cli", batch_size=batch_size, analyse=analyse
                )
            except KizunaError as exc:
                fail(f"{exc} (the batches read so far are kept; run it again to resume)")
                return
        _report(f"mail pull {run.status} (run {run.id})", run.counts, run.rejects)

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
                        analyse_entries(session, models_dir=rt.settings.models_dir)
            except KizunaError as exc:
                fail(str(exc))
                return
        _report(f"mail import (run {run_id})", log.counts, log.rejects)
