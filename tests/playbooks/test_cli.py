"""The playbooks, tasks, survey and worker commands, run as a user runs them."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from kizuna.cli import build_app
from kizuna.runtime import Runtime
from kizuna.settings import Settings
from tests import factories


def test_import_dry_run_run_log_and_worker(tmp_path: Path) -> None:
    app = build_app()
    data = str(tmp_path / "d")
    runner = CliRunner()

    def kizuna(*args: str) -> str:
        result = runner.invoke(app, ["--data-dir", data, *args])
        assert result.exit_code == 0, result.output
        return result.output

    kizuna("init")
    rt = Runtime.open(Settings(data_dir=Path(data)))
    with rt.transaction() as session:
        account = factories.account(session, name="株式会社CLI")
        factories.contact(session, account, name="担当", is_champion=True)
        factories.team_member(session, name="佐藤 CSM", email="sato@cli.example.jp")
    rt.close()
    assert "new-account: v1" in kizuna("playbooks", "import", "--library")
    assert "new-account: unchanged" in kizuna("playbooks", "import", "--library")
    listing = kizuna("playbooks", "list")
    assert "off  renewal-due" in listing and "account_created" in listing
    assert "'jobs_queued': 0" in kizuna("playbooks", "dry-run", "new-account")  # created in 2025: too old
    dry = kizuna("playbooks", "dry-run", "silent-customer")
    assert "summary:" in dry and not dry.startswith("skipped")
    exported = kizuna("playbooks", "export", "new-account")
    assert exported.startswith("key: new-account")
    custom = tmp_path / "welcome-all.yaml"
    custom.write_text(
        exported.replace("key: new-account", "key: welcome-all").replace("within_days: 3", "within_days: 3650"),
        encoding="utf-8",
    )
    assert "would_act" in kizuna("playbooks", "dry-run", "--file", str(custom))
    kizuna("playbooks", "import", str(custom))
    kizuna("playbooks", "enable", "welcome-all")
    run = kizuna("playbooks", "run")
    assert "'queued': 1" in run and "'outbox': 1" in run
    assert "'queued'" not in kizuna("playbooks", "run")  # nothing new the second time
    log = kizuna("playbooks", "log", "welcome-all")
    assert "queued" in log and "create_task=done" in log and "send_email=done" in log
    # the figures per CSM come first: the account has no owner, its task is released within the default budget
    assert "(no owner)" in log and "open    1  waiting     0  released today   1  budget   8" in log
    assert "daily budget 3" in kizuna("playbooks", "capacity", "sato@cli.example.jp", "--set", "3")
    assert "daily budget default" in kizuna("playbooks", "capacity", "sato@cli.example.jp", "--default")
    refused = runner.invoke(app, ["--data-dir", data, "playbooks", "capacity", "nobody@example.jp", "--set", "2"])
    assert refused.exit_code != 0
    assert "キックオフ日程の調整: 株式会社CLI" in kizuna("tasks", "list")
    kizuna("worker", "--once")
    assert len(list((Path(data) / "outbox").glob("*.eml"))) == 1
    survey = kizuna("survey", "send", "--kind", "csat", "--where", "name=株式会社CLI")
    assert "1 invited" in survey
    assert "answered=0" in kizuna("survey", "status")


def test_bad_yaml_exits_with_the_line(tmp_path: Path) -> None:
    app = build_app()
    data = str(tmp_path / "d")
    runner = CliRunner()
    assert runner.invoke(app, ["--data-dir", data, "init"]).exit_code == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("key: bad\nname: x\ntrigger: {type: renewal_due}\nactions:\n  - {type: fax}\n", encoding="utf-8")
    result = runner.invoke(app, ["--data-dir", data, "playbooks", "import", str(bad)])
    assert result.exit_code != 0
    assert "bad.yaml:5" in str(result.exception) or "bad.yaml:5" in result.output


def test_refresh_runs_the_playbooks_step(runtime: Runtime) -> None:
    from kizuna.domains import refresh

    summaries = refresh(runtime, only=["playbooks"])
    assert summaries["playbooks"]["jobs"] == {"done": 0, "retrying": 0, "failed": 0}
