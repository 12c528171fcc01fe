"""``kizuna connect status`` on a fresh data directory and after a run."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from kizuna.cli import build_app
from kizuna.connectors import credentials, service
from kizuna.runtime import Runtime
from kizuna.settings import Settings


def test_connect_status_lists_each_connected_system(tmp_path: Path) -> None:
    app, data = build_app(), str(tmp_path / "data")
    assert CliRunner().invoke(app, ["--data-dir", data, "init"]).exit_code == 0
    empty = CliRunner().invoke(app, ["--data-dir", data, "connect", "status"])
    assert empty.exit_code == 0 and "no system connected yet" in empty.output
    settings = Settings(data_dir=Path(data))
    credentials.save(settings, "stripe", {"api_key": "sk_test_secret_9999"})
    runtime = Runtime.open(settings)
    try:
        with runtime.transaction(write=True) as session:
            run = service.start_run(session, vendor="stripe", kind="backfill")
            log = service.RunLog()
            log.count("created", 5)
            service.finish_run(session, run, log, actor="cli")
    finally:
        runtime.close()
    result = CliRunner().invoke(app, ["--data-dir", data, "connect", "status"])
    assert result.exit_code == 0, result.output
    assert "stripe" in result.output and "configured" in result.output and "created=5" in result.output
    assert "sk_test" not in result.output
