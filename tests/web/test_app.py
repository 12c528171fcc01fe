"""The app factory's lifespan: the in-process playbook scheduler starts and stops with the app."""

from __future__ import annotations

import threading
import warnings
from pathlib import Path

from kizuna.migrations import upgrade
from kizuna.settings import Settings
from kizuna.web.app import create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


def _scheduler_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "kizuna-scheduler"]


def test_scheduler_runs_in_the_app_lifespan_and_stops_cleanly(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", scheduler_in_process=True)
    settings.ensure_dirs()
    upgrade(settings.sqlalchemy_url)
    app = create_app(settings)
    assert not _scheduler_threads()
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        scheduler = app.state.scheduler
        assert scheduler._thread is not None and scheduler._thread.is_alive()
        assert len(_scheduler_threads()) == 1
    assert scheduler._thread is None and not _scheduler_threads()


def test_scheduler_off_starts_no_thread(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", scheduler_in_process=False)
    settings.ensure_dirs()
    upgrade(settings.sqlalchemy_url)
    app = create_app(settings)
    with TestClient(app):
        assert not _scheduler_threads() and not hasattr(app.state, "scheduler")


def test_a_request_that_meets_a_long_writer_is_told_to_come_back(tmp_path: Path) -> None:
    """A refresh step or an import holds SQLite's write lock past the busy timeout: the tracking API answers 503 with
    Retry-After (the Segment and RudderStack clients retry it), not a 500 with a traceback in the log."""
    import base64
    import sqlite3

    from kizuna.auth import service
    from kizuna.runtime import Runtime

    settings = Settings(data_dir=tmp_path / "data", scheduler_in_process=False, sqlite_busy_timeout=0.2)
    settings.ensure_dirs()
    upgrade(settings.sqlalchemy_url)
    runtime = Runtime.open(settings)
    with runtime.transaction() as session:
        _, secret = service.create_api_key(session, actor="t", name="t", scopes=["ingest"])
    runtime.close()
    auth = {"Authorization": "Basic " + base64.b64encode(f"{secret}:".encode()).decode()}
    event = {"userId": "u1", "event": "Report Viewed", "messageId": "m-1", "context": {"groupId": "ACC-1"}}
    holder = sqlite3.connect(settings.data_dir / "kizuna.sqlite3", isolation_level=None)
    with TestClient(create_app(settings)) as client:
        holder.execute("BEGIN IMMEDIATE")  # a long writer elsewhere
        busy = client.post("/v1/track", json=event, headers=auth)
        holder.execute("COMMIT")
        holder.close()
        again = client.post("/v1/track", json=event, headers=auth)
    assert busy.status_code == 503 and busy.headers["Retry-After"] == "5", busy.text
    assert busy.json()["error"] == "Busy"
    assert again.status_code == 200, again.text
