"""``kizuna import`` as a user runs it: real commits in a fresh data directory, exit codes, the summary."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import func, select
from typer.testing import CliRunner

from kizuna import models as m
from kizuna.cli import build_app
from kizuna.runtime import Runtime
from kizuna.usage.store import EventStore

DATA = Path(__file__).parents[1] / "data" / "imports"


def kizuna(runtime: Runtime, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(build_app(), ["--data-dir", str(runtime.settings.data_dir), *args])
    return result.exit_code, result.output


def test_import_prints_the_summary_and_the_rejects_path(runtime: Runtime) -> None:
    code, output = kizuna(runtime, "import", "accounts", str(DATA / "accounts_broken.csv"))
    assert code == 0, output
    assert "imported 2, updated 0, unchanged 0, rejected 5" in output
    assert "rejects: " in output and str(runtime.settings.rejects_dir) in output
    code, output = kizuna(runtime, "import", "accounts", str(DATA / "accounts_broken.csv"))
    assert code == 0 and "imported 0, updated 0, unchanged 2, rejected 5" in output
    with runtime.transaction() as session:
        runs = session.scalars(select(m.ImportRun).order_by(m.ImportRun.id)).all()
        assert [(r.status, r.imported, r.unchanged, r.rejected) for r in runs] == [("done", 2, 0, 5), ("done", 0, 2, 5)]
        assert runs[0].rejects_path and Path(runs[0].rejects_path).exists()


def test_a_refused_file_exits_2_and_is_recorded_as_failed(runtime: Runtime, tmp_path: Path) -> None:
    code, output = kizuna(runtime, "import", "accounts", str(DATA / "invalid_bytes.csv"))
    assert code == 2 and "cannot tell the text encoding" in output
    missing = tmp_path / "subs.csv"
    missing.write_text("external_id\nS-1\n", encoding="utf-8")
    code, output = kizuna(runtime, "import", "subscriptions", str(missing))
    assert code == 2 and "missing required columns" in output
    with runtime.transaction() as session:
        assert session.scalar(select(func.count()).select_from(m.Account)) == 0
        statuses = session.scalars(select(m.ImportRun.status)).all()
        assert statuses == ["failed", "failed"]


def test_a_file_whose_every_row_is_rejected_exits_2(runtime: Runtime) -> None:
    code, output = kizuna(runtime, "import", "contacts", str(DATA / "hubspot_contacts_en.csv"))
    assert code == 2 and "imported 0" in output and "rejected 3" in output


def test_dry_run_and_events_through_the_cli(runtime: Runtime, tmp_path: Path) -> None:
    code, output = kizuna(runtime, "import", "accounts", str(DATA / "accounts_good.csv"), "--dry-run")
    assert code == 0 and output.startswith("dry run")
    code, output = kizuna(runtime, "import", "accounts", str(DATA / "accounts_good.csv"))
    assert (
        code == 0 and "imported 1" in output and "unknown owner: no team_members with email 'csm1@example.jp'" in output
    )
    kizuna(runtime, "import", "team_members", str(_team(tmp_path)))
    code, output = kizuna(runtime, "import", "accounts", str(DATA / "accounts_good.csv"))
    assert code == 0 and "imported 2, updated 0, unchanged 1, rejected 0" in output

    events = tmp_path / "events.tsv"
    with events.open("w", encoding="cp932", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t")
        writer.writerow(["取引先 ID", "イベント名", "日時", "機能"])
        for i in range(300):
            writer.writerow(
                [f"ACC-{1 + i % 3}", "ログイン", f"2026/0{1 + i % 3}/0{1 + i % 9} 10:00", "ダッシュボード①"]
            )
    code, output = kizuna(runtime, "import", "events", str(events))
    assert code == 0 and "cp932" in output and "imported 300" in output, output
    store = EventStore(runtime.settings.events_dir)
    assert store.count() == 300 and len(store.files()) == 3
    assert set(store.dataset().to_table()["feature"].to_pylist()) == {"ダッシュボード①"}
    code, output = kizuna(runtime, "import", "events", str(events))
    assert "unchanged 300" in output and store.count() == 300
    assert not [p for p in runtime.settings.events_dir.rglob(".*") if p.is_file()]  # nothing left aside after commit


def _team(tmp_path: Path) -> Path:
    path = tmp_path / "team.csv"
    path.write_text("external_id,name,email,role\nTM-1,鈴木 花子,csm1@example.jp,csm\n", encoding="utf-8")
    return path


def test_an_import_while_another_process_writes_waits_for_it_instead_of_failing(
    runtime: Runtime, tmp_path: Path
) -> None:
    """The scheduler, a worker and the web app write while an import runs: on SQLite the import used to die at its
    first write with "database is locked" (a deferred transaction that has read cannot wait for the lock)."""
    import sqlite3
    import threading

    path = tmp_path / "accounts.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["external_id", "name"])
        writer.writerows([f"BUSY-{i}", f"株式会社ビジー{i}"] for i in range(300))
    stop = threading.Event()
    writes = [0]

    def another_writer() -> None:  # commits a small write every few milliseconds, as a busy scheduler does
        conn = sqlite3.connect(runtime.settings.data_dir / "kizuna.sqlite3", timeout=30, isolation_level=None)
        conn.execute("CREATE TABLE IF NOT EXISTS busy_elsewhere (n INTEGER)")
        while not stop.is_set():
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO busy_elsewhere VALUES (1)")
            conn.execute("COMMIT")
            writes[0] += 1
            stop.wait(0.005)  # a pause, as between a scheduler's writes (a loop without one starves any waiter)
        conn.close()

    thread = threading.Thread(target=another_writer)
    thread.start()
    try:
        results = [kizuna(runtime, "import", "accounts", str(path)) for _ in range(3)]
    finally:
        stop.set()
        thread.join()
    assert writes[0] >= 3  # the other process did write meanwhile
    assert [code for code, _ in results] == [0, 0, 0], results[0][1][-500:]
    assert "imported 300" in results[0][1] and "unchanged 300" in results[2][1]
