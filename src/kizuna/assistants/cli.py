"""``kizuna mcp``: the MCP server on stdio (for Claude Desktop and other MCP clients)."""

from __future__ import annotations

import os

import typer

from kizuna.platform.cli.common import fail, runtime


def register(app: typer.Typer) -> None:
    @app.command("mcp")
    def mcp_command() -> None:
        """Serve kizuna to AI assistants over the Model Context Protocol (stdio), as the API key in KIZUNA_API_KEY."""
        from kizuna.assistants.server import build_server, principal_of

        secret = os.environ.get("KIZUNA_API_KEY", "")
        if not secret:
            fail("set KIZUNA_API_KEY to an API key with the read or write scope (Settings → API keys in the web app)")
        with runtime() as rt:
            build_server(rt, principal_of(rt, secret)).run("stdio")
