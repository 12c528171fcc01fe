"""``kizuna connect stripe`` (the keys, kept by the connectors' credentials file, never echoed) and
``kizuna stripe backfill``."""

from __future__ import annotations

import typer

from kizuna.platform.cli.common import fail, runtime, settings


def register_connect(connect: typer.Typer) -> None:
    @connect.command("stripe")
    def connect_stripe(
        api_key: str = typer.Option(
            ..., "--api-key", prompt=True, hide_input=True, help="A restricted key (rk_…) with read access, or sk_…"
        ),
        webhook_secret: str = typer.Option(
            ..., "--webhook-secret", prompt=True, hide_input=True, help="The endpoint's signing secret (whsec_…)"
        ),
        api_base: str = typer.Option(None, "--api-base", help="Another address for Stripe's API (a proxy)"),
    ) -> None:
        """Connect Stripe: the API key for the back-fill and the webhook endpoint's signing secret."""
        from kizuna.connectors import credentials

        values = {"api_key": api_key, "webhook_secret": webhook_secret, "api_base": api_base or ""}
        typer.echo(credentials.connect(settings(), "stripe", values, public=("api_base",)))
        typer.echo("webhook endpoint: POST <your kizuna address>/webhooks/stripe; then run `kizuna stripe backfill`")


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Stripe: back-fill customers, subscriptions and invoices.", no_args_is_help=True)
    app.add_typer(group, name="stripe")

    @group.command("backfill")
    def backfill(
        page_size: int = typer.Option(100, "--page-size", min=1, max=100),
    ) -> None:
        """Read today's coupons, customers, prices, subscriptions and invoices from Stripe (resumes after a crash)."""
        from kizuna.errors import KizunaError
        from kizuna.stripe import jobs

        with runtime() as rt:
            try:
                run = jobs.backfill(rt, client=jobs.client_of(rt.settings), actor="cli", page_size=page_size)
            except KizunaError as exc:
                fail(str(exc))
                return
        counts = " ".join(f"{k}={v}" for k, v in sorted(run.counts.items()))
        typer.echo(f"stripe back-fill {run.status}: {counts}")
