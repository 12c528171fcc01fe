"""``kizuna connect stripe`` keeps the keys owner-only and never prints them; ``kizuna stripe backfill`` reads the
loopback Stripe API and its run shows on ``kizuna connect status``."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from typer.testing import CliRunner

from kizuna.cli import build_app
from tests.stripe.conftest import API_KEY, SECRET
from tests.stripe.stripe_api import StripePeer


def test_connect_then_backfill_from_the_command_line(tmp_path: Path, peer: tuple[StripePeer, str]) -> None:
    _, url = peer
    app, data = build_app(), str(tmp_path / "data")
    assert CliRunner().invoke(app, ["--data-dir", data, "init"]).exit_code == 0
    connected = CliRunner().invoke(
        app,
        ["--data-dir", data, "connect", "stripe", "--api-key", API_KEY, "--webhook-secret", SECRET, "--api-base", url],
    )
    assert connected.exit_code == 0, connected.output
    assert (
        API_KEY not in connected.output
        and SECRET not in connected.output
        and "webhook_secret …6789" in connected.output
    )
    path = Path(data) / "connectors" / "stripe.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text())["webhook_secret"] == SECRET

    done = CliRunner().invoke(app, ["--data-dir", data, "stripe", "backfill", "--page-size", "3"])
    assert done.exit_code == 0, done.output
    assert "stripe back-fill succeeded" in done.output and "created=" in done.output
    status = CliRunner().invoke(app, ["--data-dir", data, "connect", "status"])
    assert "backfill succeeded" in status.output and SECRET not in status.output


def test_backfill_without_a_connection_says_how_to_connect(tmp_path: Path) -> None:
    app, data = build_app(), str(tmp_path / "data")
    assert CliRunner().invoke(app, ["--data-dir", data, "init"]).exit_code == 0
    result = CliRunner().invoke(app, ["--data-dir", data, "stripe", "backfill"])
    assert result.exit_code == 1 and "run `kizuna connect stripe`" in result.output
