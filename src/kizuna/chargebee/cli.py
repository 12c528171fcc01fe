"""``kizuna connect chargebee`` (the site, the API key and the webhook's Basic-auth pair, kept by the connectors'
credentials file, never echoed) and ``kizuna chargebee backfill``."""

from __future__ import annotations

import typer

from kizuna.platform.cli.common import fail, runtime, settings


def register_connect(connect: typer.Typer) -> None:
    @connect.command("chargebee")
    def connect_chargebee(
        site: str = typer.Option(..., "--site", prompt=True, help="The site's name: <site>.chargebee.com"),
        api_key: str = typer.Option(..., "--api-key", prompt=True, hide_input=True, help="A read-only API key"),
        webhook_user: str = typer.Option(
            ..., "--webhook-user", prompt=True, help="The user name set on Chargebee's webhook (Basic auth)"
        ),
        webhook_password: str = typer.Option(
            ..., "--webhook-password", prompt=True, hide_input=True, help="The password set on Chargebee's webhook"
        ),
        api_base: str = typer.Option(None, "--api-base", help="Another address for Chargebee's API (a proxy)"),
    ) -> None:
        """Connect Chargebee: the API key for the back-fill and the webhook's Basic-auth user and password."""
        from kizuna.connectors import credentials

        values = {
            "site": site,
            "api_key": api_key,
            "webhook_user": webhook_user,
            "webhook_password": webhook_password,
            "api_base": api_base or "",
        }
        typer.echo(credentials.connect(settings(), "chargebee", values, public=("site", "api_base", "webhook_user")))
        typer.echo(
            "webhook endpoint: POST <your kizuna address>/webhooks/chargebee; then run `kizuna chargebee backfill`"
        )


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Chargebee: back-fill customers, subscriptions and invoices.", no_args_is_help=True)
    app.add_typer(group, name="chargebee")

    @group.command("backfill")
    def backfill(page_size: int = typer.Option(100, "--page-size", min=1, max=100)) -> None:
        """Read today's coupons, item prices, customers, subscriptions and invoices from Chargebee (resumes after a
        crash)."""
        from kizuna.chargebee import jobs
        from kizuna.errors import KizunaError

        with runtime() as rt:
            try:
                run = jobs.backfill(rt, client=jobs.client_of(rt.settings), actor="cli", page_size=page_size)
            except KizunaError as exc:
                fail(str(exc))
                return
        counts = " ".join(f"{k}={v}" for k, v in sorted(run.counts.items()))
        typer.echo(f"chargebee back-fill {run.status}: {counts}")
