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
