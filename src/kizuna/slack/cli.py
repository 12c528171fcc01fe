"""``kizuna connect slack``: the bot token and the signing secret, kept by the connectors' credentials file."""

from __future__ import annotations

import typer

from kizuna.platform.cli.common import settings


def register_connect(connect: typer.Typer) -> None:
    @connect.command("slack")
    def connect_slack(
        bot_token: str = typer.Option(
            ..., "--bot-token", prompt=True, hide_input=True, help="The app's bot token (xoxb-…)"
        ),
        signing_secret: str = typer.Option(
            ..., "--signing-secret", prompt=True, hide_input=True, help="The app's signing secret (Basic Information)"
        ),
        api_base: str = typer.Option(None, "--api-base", help="Another address for Slack's Web API (a proxy)"),
    ) -> None:
        """Connect Slack: the bot token posts playbook messages, the signing secret verifies button clicks."""
        from kizuna.connectors import credentials

        values = {"bot_token": bot_token, "signing_secret": signing_secret, "api_base": api_base or ""}
        typer.echo(credentials.connect(settings(), "slack", values, public=("api_base",)))
        typer.echo("interactivity request URL: POST <your kizuna address>/slack/actions")
