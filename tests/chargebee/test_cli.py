"""``kizuna connect chargebee`` keeps the key and the webhook password owner-only and never prints them;
``kizuna chargebee backfill`` reads the loopback Chargebee API and its run shows on ``kizuna connect status``."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from typer.testing import CliRunner

from kizuna.cli import build_app
from tests.chargebee.chargebee_api import API_KEY, SITE, WEBHOOK_PASSWORD, WEBHOOK_USER, ChargebeePeer


def test_connect_then_backfill_from_the_command_line(tmp_path: Path, peer: tuple[ChargebeePeer, str]) -> None:
    _, url = peer
    app, data = build_app(), str(tmp_path / "data")
    assert CliRunner().invoke(app, ["--data-dir", data, "init"]).exit_code == 0
    connected = CliRunner().invoke(
        app,
        [
            *("--data-dir", data, "connect", "chargebee", "--site", SITE, "--api-key", API_KEY),
            *("--webhook-user", WEBHOOK_USER, "--webhook-password", WEBHOOK_PASSWORD, "--api-base", url),
        ],
    )
    assert connected.exit_code == 0, connected.output
    assert API_KEY not in connected.output and WEBHOOK_PASSWORD not in connected.output
    assert "webhook_password …0123" in connected.output and "/webhooks/chargebee" in connected.output
    path = Path(data) / "connectors" / "chargebee.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text())["webhook_password"] == WEBHOOK_PASSWORD

    done = CliRunner().invoke(app, ["--data-dir", data, "chargebee", "backfill", "--page-size", "3"])
    assert done.exit_code == 0, done.output
    assert "chargebee back-fill succeeded" in done.output and "created=" in done.output
    status = CliRunner().invoke(app, ["--data-dir", data, "connect", "status"])
    assert "chargebee" in status.output and "backfill succeeded" in status.output
    assert API_KEY not in status.output and WEBHOOK_PASSWORD not in status.output


def test_backfill_without_a_connection_says_how_to_connect(tmp_path: Path) -> None:
    app, data = build_app(), str(tmp_path / "data")
    assert CliRunner().invoke(app, ["--data-dir", data, "init"]).exit_code == 0
    result = CliRunner().invoke(app, ["--data-dir", data, "chargebee", "backfill"])
    assert result.exit_code == 1 and "run `kizuna connect chargebee`" in result.output
