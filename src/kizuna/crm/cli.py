"""``kizuna connect hubspot|salesforce`` (the set-ups) and ``kizuna hubspot|salesforce sync``."""

from __future__ import annotations

import typer

from kizuna.platform.cli.common import fail, runtime


def register_connect(connect: typer.Typer) -> None:
    @connect.command("hubspot")
    def hubspot(
        access_token: str = typer.Option(..., "--access-token", help="A private app's access token (pat-...)."),
        currency: str = typer.Option("JPY", "--currency", help="Deals' currency when a deal names none."),
        host: str = typer.Option(None, "--host", help="The API's base URL (default https://api.hubapi.com)."),
    ) -> None:
        """Connect a HubSpot portal: companies, contacts and deals in; CS fields out to kizuna_* properties."""
        from kizuna.connectors import credentials
        from kizuna.platform.cli.common import settings

        path = credentials.save(
            settings(), "hubspot", {"access_token": access_token, "currency": currency, "host": host or ""}
        )
        typer.echo(f"hubspot: credentials saved in {path} (token {credentials.redacted({'t': access_token})['t']})")

    @connect.command("salesforce")
    def salesforce(
        instance_url: str = typer.Option(None, "--instance-url", help="https://<your domain>.my.salesforce.com"),
        access_token: str = typer.Option(None, "--access-token", help="An OAuth access token of the org."),
        username: str = typer.Option(None, "--username"),
        password: str = typer.Option(None, "--password"),
        security_token: str = typer.Option(None, "--security-token"),
        domain: str = typer.Option(None, "--domain", help="login (default) or test (a sandbox)."),
        currency: str = typer.Option("JPY", "--currency", help="Opportunities' currency (single-currency orgs)."),
    ) -> None:
        """Connect a Salesforce org: Accounts, Contacts and Opportunities in; CS fields out to Kizuna_*__c fields."""
        from kizuna.connectors import credentials
        from kizuna.platform.cli.common import settings

        if not ((instance_url and access_token) or (username and password)):
            fail("give --instance-url and --access-token, or --username and --password (and --security-token)")
        values = {
            "instance_url": instance_url,
            "access_token": access_token,
            "username": username,
            "password": password,
            "security_token": security_token,
            "domain": domain,
            "currency": currency,
        }
        path = credentials.save(settings(), "salesforce", {k: v for k, v in values.items() if v})
        typer.echo(f"salesforce: credentials saved in {path}")


def register(app: typer.Typer) -> None:
    for vendor, name in (("hubspot", "HubSpot"), ("salesforce", "Salesforce")):
        group = typer.Typer(
            help=f"{name}: the two-way CRM sync (set it up with `kizuna connect {vendor}`).", no_args_is_help=True
        )
        app.add_typer(group, name=vendor)
        _sync_command(group, vendor)


def _sync_command(group: typer.Typer, vendor: str) -> None:
    @group.command("sync")
    def sync(
        push: bool = typer.Option(True, "--push/--no-push", help="Write the CS fields back to the CRM after the pull."),
        full: bool = typer.Option(
            False, "--full", help="Read every record again, not only those changed since the last sync."
        ),
        actor: str = typer.Option("cli", "--actor"),
    ) -> None:
        """Pull what changed since the last sync (resuming where a failed one stopped), then push the CS fields."""
        from kizuna.crm import jobs
        from kizuna.errors import KizunaError

        with runtime() as rt:
            try:
                adapter = jobs.ADAPTERS[vendor](rt.settings)
                run = jobs.sync(lambda: rt.transaction(write=True), adapter, actor=actor, push=push, full=full)
            except KizunaError as e:
                fail(str(e))
                return
            except Exception as e:
                fail(f"{vendor} sync failed: {e} (the pages read so far are kept; run it again to resume)")
                return
        counts = " ".join(f"{k}={v}" for k, v in sorted(run.counts.items()))
        typer.echo(f"{vendor}: {run.status} {counts}")
        for r in run.rejects[:20]:
            typer.echo(f"  rejected {r['record']} {r['field']}={r['value']!r}: {r['reason']}")
