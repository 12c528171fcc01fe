"""``kizuna connect slack`` keeps the bot token and signing secret owner-only and never prints them."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from typer.testing import CliRunner

from kizuna.cli import build_app

TOKEN = "xoxb-1234-5678-abcdefghijkl"
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


def test_connect_slack_keeps_the_secrets_owner_only_and_unprinted(tmp_path: Path) -> None:
    app, data = build_app(), str(tmp_path / "data")
    assert CliRunner().invoke(app, ["--data-dir", data, "init"]).exit_code == 0
    connected = CliRunner().invoke(
        app, ["--data-dir", data, "connect", "slack", "--bot-token", TOKEN, "--signing-secret", SECRET]
    )
    assert connected.exit_code == 0, connected.output
    assert TOKEN not in connected.output and SECRET not in connected.output
    assert "bot_token …ijkl" in connected.output and "/slack/actions" in connected.output
    path = Path(data) / "connectors" / "slack.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == {"bot_token": TOKEN, "signing_secret": SECRET}
    status = CliRunner().invoke(app, ["--data-dir", data, "connect", "status"])
    assert "slack" in status.output and "configured" in status.output and TOKEN not in status.output
