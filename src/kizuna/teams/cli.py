"""``kizuna connect teams``: a channel's incoming webhook / Workflows URL, kept by the connectors' credentials file."""

from __future__ import annotations

import typer

from kizuna.platform.cli.common import fail, settings


def register_connect(connect: typer.Typer) -> None:
    @connect.command("teams")
    def connect_teams(
        webhook_url: str = typer.Option(
            ..., "--webhook-url", prompt=True, hide_input=True, help="The channel's Workflows / incoming webhook URL"
        ),
        name: str = typer.Option(
            "default", "--name", help="A name for this channel's webhook (a playbook's `webhook:`); default: default"
        ),
    ) -> None:
        """Connect a Microsoft Teams channel: playbook cards are posted to its webhook; their buttons open signed
        kizuna links (a link secret is made on first connect)."""
        from kizuna.connectors import credentials
        from kizuna.teams.service import VENDOR, new_link_secret

        if not webhook_url.startswith("https://"):
            fail(f"a Teams webhook URL starts with https:// (got {webhook_url[:40]!r})")
        if not name.replace("-", "").replace("_", "").isalnum():
            fail(f"--name takes letters, digits, - and _ (got {name!r})")
        key = "webhook_url" if name == "default" else f"webhook_url_{name}"
        values = {key: webhook_url}
        if not credentials.load(settings(), VENDOR).get("link_secret"):
            values["link_secret"] = new_link_secret()
        typer.echo(credentials.connect(settings(), VENDOR, values))
        typer.echo("buttons open: <your kizuna address>/teams/act?token=… (signed, 14 days); see /connectors/teams")
