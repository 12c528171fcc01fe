"""``kizuna demo`` as a user runs it: builds, refuses to overwrite, rebuilds with --reset."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from kizuna.cli import build_app
from kizuna.platform import clock
from kizuna.settings import Settings


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


def test_the_demo_ends_today_and_a_refresh_reads_it_as_current(tmp_path: Path) -> None:
    """Without --end-date the company's history runs up to the clock's today: usage up to yesterday, no renewal
    whose date has passed still waiting, no contract starting in the future."""
    app = build_app()
    data = str(tmp_path / "d")
    today = clock.today()
    built = CliRunner().invoke(app, ["--data-dir", data, "demo", "--accounts", "40", "--years", "1", "--no-playbooks"])
    assert built.exit_code == 0, built.output
    status = json.loads(CliRunner().invoke(app, ["--data-dir", data, "status", "--json"]).output)
    events = {row["entity"]: row for row in status["entities"]}["events"]
    last = dt.date.fromisoformat(str(events["to"])[:10])
    assert today - dt.timedelta(days=4) <= last < today
    refreshed = CliRunner().invoke(app, ["--data-dir", data, "refresh", "--only", "renewals"])
    assert refreshed.exit_code == 0, refreshed.output
    engine = create_engine(Settings(data_dir=Path(data)).sqlalchemy_url)
    with engine.connect() as conn:
        starts = conn.execute(text("select max(start_date) from subscriptions")).scalar_one()
        upcoming = conn.execute(text("select min(renewal_date), count(*) from renewals where outcome is null")).one()
    engine.dispose()
    assert dt.date.fromisoformat(str(starts)) <= today
    assert upcoming[1] > 0 and dt.date.fromisoformat(str(upcoming[0])) >= today
