"""``kizuna init``, ``db``, ``status`` run as a user runs them."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from kizuna.cli import build_app


def test_help_lists_the_commands() -> None:
    result = CliRunner().invoke(build_app(), ["--help"])
    assert result.exit_code == 0
    for command in ("init", "status", "db"):
        assert command in result.output


def test_init_then_status_on_an_empty_hub(tmp_path) -> None:
    app = build_app()
    data = str(tmp_path / "d")
    assert CliRunner().invoke(app, ["--data-dir", data, "init"]).exit_code == 0
    result = CliRunner().invoke(app, ["--data-dir", data, "status", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    counts = {row["entity"]: row["rows"] for row in report["entities"]}
    assert counts["accounts"] == 0 and counts["events"] == 0
