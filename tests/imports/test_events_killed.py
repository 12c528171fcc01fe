"""An events import killed with SIGKILL (no ``finally``, no rollback), on SQLite and PostgreSQL: the next import or the
next start of the app or of a worker removes its hidden files, and its events stay only if its import-history row
committed.

Each case kills a real ``import_file`` in a child process at one point: while the chunks are written, just after the
files are put in place (the database step not committed yet), and just after the commit (the files not finalised).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from kizuna import models as m
from kizuna.imports.schemas import ImportSummary
from kizuna.imports.service import import_file
from kizuna.migrations import upgrade
from kizuna.playbooks.jobs import run_worker, start_scheduler, stop_scheduler
from kizuna.runtime import Runtime
from kizuna.settings import Settings
from kizuna.usage.store import EventStore
from kizuna.web.app import create_app
from tests.imports.test_events import write_events

CHILD = """
import functools, os, signal, sys
from pathlib import Path

from kizuna.imports import events
from kizuna.imports.service import import_file
from kizuna.runtime import Runtime
from kizuna.settings import Settings

data_dir, url, path, point = sys.argv[1:5]


def die(*_args):
    os.kill(os.getpid(), signal.SIGKILL)


events.CSV_BLOCK_BYTES = 16 * 1024  # many chunks, each written out at once (as a big file's are)
events.EventBatchWriter = functools.partial(events.EventBatchWriter, row_group_rows=64)
if point == "writing":
    events._before_chunk = lambda number: die() if number == 3 else None
elif point == "published":
    events._after_publish = die
else:  # "committed": nothing follows the commit, then the kill
    events._follow_transaction = lambda session, published: None
settings = Settings(data_dir=Path(data_dir), database_url=url)
runtime = Runtime.open(settings)
with runtime.transaction() as session:
    import_file(session, entity="events", path=Path(path), settings=settings, actor="killed")
die()
"""


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def rt(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Runtime]:
    data_dir = tmp_path / "kizuna-data"
    url = request.getfixturevalue("scratch_postgres_url") if request.param == "postgres" else None
    settings = Settings(data_dir=data_dir, database_url=url)
    settings.ensure_dirs()
    upgrade(settings.sqlalchemy_url)
    rt = Runtime.open(settings)
    with rt.transaction() as session:
        session.add(m.Account(external_id="K-1", name="株式会社キル"))
    yield rt
    rt.close()


def _kill(rt: Runtime, path: Path, point: str) -> None:
    settings = rt.settings
    args = [str(settings.data_dir), settings.sqlalchemy_url, str(path), point]
    child = subprocess.run([sys.executable, "-c", CHILD, *args], capture_output=True, text=True, timeout=300)
    assert child.returncode == -9, child.stderr[-3000:]


def _import(rt: Runtime, path: Path) -> ImportSummary:
    with rt.transaction() as session:
        return import_file(session, entity="events", path=path, settings=rt.settings, actor="test")


def _hidden(rt: Runtime) -> list[Path]:
    root = rt.settings.events_dir
    return [
        p for p in root.rglob("*") if p.is_file() and any(part.startswith(".") for part in p.relative_to(root).parts)
    ]


def _runs(rt: Runtime, actor: str) -> int:
    with rt.transaction() as session:
        return session.scalar(select(func.count()).select_from(m.ImportRun).where(m.ImportRun.actor == actor)) or 0


def _files(rt: Runtime) -> dict[Path, int]:
    """Each visible event file with its inode (a file put back is the same file; a new one is not)."""
    return {p: os.stat(p).st_ino for p in EventStore(rt.settings.events_dir).files()}


def test_a_kill_while_writing_leaves_hidden_files_that_the_next_import_removes(rt: Runtime, tmp_path: Path) -> None:
    killed, other = tmp_path / "killed.csv", tmp_path / "other.csv"
    write_events(killed, rows=3000, seed=1, accounts=["K-1"], bad_every=100)  # a rejects file being written too
    write_events(other, rows=200, seed=2, accounts=["K-1"])
    rejects_dir = rt.settings.rejects_dir

    _kill(rt, killed, "writing")
    assert any(p.suffix == ".tmp" for p in _hidden(rt)), "the kill left no temporary files: nothing tested"
    assert list(rejects_dir.glob(".*.tmp")), "the kill left no half-written rejects file: nothing tested"
    assert EventStore(rt.settings.events_dir).count() == 0

    _import(rt, other)

    assert _hidden(rt) == [] and list(rejects_dir.glob(".*")) == []
    assert EventStore(rt.settings.events_dir).count() == 200
    summary = _import(rt, killed)
    assert summary.imported == 3000 - summary.rejected and summary.rejected > 0
    assert EventStore(rt.settings.events_dir).count() == 200 + summary.imported and _hidden(rt) == []


def test_a_kill_after_the_files_are_in_place_but_before_the_commit_puts_the_earlier_import_back_at_start(
    rt: Runtime, tmp_path: Path
) -> None:
    path = tmp_path / "events.csv"
    write_events(path, rows=3000, seed=3, accounts=["K-1"])
    _import(rt, path)
    before = _files(rt)

    _kill(rt, path, "published")
    # the state the issue found: the killed import's files visible, the earlier ones set aside, no history row
    assert _files(rt).keys() == before.keys() and _files(rt) != before
    assert any(p.suffix == ".bak" for p in _hidden(rt)) and _runs(rt, "killed") == 0

    with TestClient(create_app(rt.settings.model_copy(update={"scheduler_in_process": False}))):  # the app's start-up
        pass

    assert _files(rt) == before, "the earlier import's files were not put back"
    assert _hidden(rt) == [] and _runs(rt, "killed") == 0
    assert EventStore(rt.settings.events_dir).count() == 3000


def test_a_kill_after_the_commit_keeps_the_batch_and_drops_what_it_replaced(rt: Runtime, tmp_path: Path) -> None:
    path, other = tmp_path / "events.csv", tmp_path / "other.csv"
    write_events(path, rows=3000, seed=4, accounts=["K-1"])
    write_events(other, rows=100, seed=5, accounts=["K-1"])
    _import(rt, path)
    before = _files(rt)

    _kill(rt, path, "committed")
    assert _runs(rt, "killed") == 1 and any(p.suffix == ".bak" for p in _hidden(rt))

    _import(rt, other)

    after = _files(rt)
    assert all(after[p] != inode for p, inode in before.items()), "the committed batch was not kept"
    assert _hidden(rt) == []
    assert EventStore(rt.settings.events_dir).count() == 3100


@pytest.mark.parametrize("point", ["writing", "published"])
@pytest.mark.parametrize("start", ["kizuna worker", "in-process scheduler"])
def test_a_worker_start_cleans_up_after_a_killed_import(rt: Runtime, tmp_path: Path, start: str, point: str) -> None:
    """A worker may be the only process that starts after a crash: its start-up removes what a killed import left
    (hidden event files, a half-written rejects file) and puts back the files an unrecorded import replaced, without
    waiting for the next import."""
    path = tmp_path / "events.csv"
    write_events(path, rows=3000, seed=6, accounts=["K-1"], bad_every=100)
    if point == "published":
        _import(rt, path)
    before = _files(rt)
    _kill(rt, path, point)
    left = {p.suffix for p in _hidden(rt)}
    assert (".tmp" if point == "writing" else ".bak") in left, f"the kill left {left}: nothing tested"
    if point == "writing":
        assert list(rt.settings.rejects_dir.glob(".*.tmp")), "no half-written rejects file: nothing tested"

    if start == "kizuna worker":
        run_worker(rt, once=True)
    else:
        scheduler = start_scheduler(rt, interval=3600)
        deadline = time.monotonic() + 60
        while scheduler.ticks == 0 and time.monotonic() < deadline:  # the first round follows the recovery
            time.sleep(0.05)
        stop_scheduler(scheduler)

    assert _hidden(rt) == [] and list(rt.settings.rejects_dir.glob(".*")) == []
    assert _files(rt) == before, "the files before the killed import are not what is there"
    assert _runs(rt, "killed") == 0
