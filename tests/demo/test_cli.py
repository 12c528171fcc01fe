"""``kizuna demo`` as a user runs it: builds, refuses to overwrite, rebuilds with --reset."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from kizuna.cli import build_app


def test_demo_then_refuse_then_reset(tmp_path: Path) -> None:
    app = build_app()
    data = str(tmp_path / "d")
    args = ["--data-dir", data, "demo", "--accounts", "30", "--years", "1", "--seed", "11", "--end-date", "2026-06-15"]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "accounts" in first.output and "events" in first.output
    refused = CliRunner().invoke(app, args)
    assert refused.exit_code != 0
    assert "--reset" in str(refused.exception) or "--reset" in refused.output
    again = CliRunner().invoke(app, [*args, "--reset"])
    assert again.exit_code == 0, again.output
    status = json.loads(CliRunner().invoke(app, ["--data-dir", data, "status", "--json"]).output)
    counts = {row["entity"]: row for row in status["entities"]}
    assert counts["accounts"]["rows"] == 30
    assert str(counts["events"]["to"]) < "2026-06-15"
    assert (Path(data) / "demo" / "truth.parquet").exists()


def test_demo_rejects_a_bad_end_date(tmp_path: Path) -> None:
    result = CliRunner().invoke(build_app(), ["--data-dir", str(tmp_path), "demo", "--end-date", "22/11/2026"])
    assert result.exit_code == 1
    assert "--end-date" in result.output
