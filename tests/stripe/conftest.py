"""Stripe's tests: hubs on SQLite and PostgreSQL, a loopback Stripe API, and the app as ``kizuna serve`` builds it."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kizuna.connectors import credentials
from kizuna.migrations import upgrade
from kizuna.runtime import Runtime
from kizuna.settings import Settings
from kizuna.web.app import create_app
from tests.servers import served
from tests.stripe.stripe_api import StripePeer
from tests.web.fixtures import _world_template, world  # noqa: F401

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette's TestClient warns about its httpx use
    from starlette.testclient import TestClient

SECRET = "whsec_test_kizuna_0123456789"
API_KEY = "sk_test_kizuna"


def open_hub(settings: Settings) -> Runtime:
    settings.ensure_dirs()
    upgrade(settings.sqlalchemy_url)
    return Runtime.open(settings)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def hub(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Runtime]:
    """A connected hub (Stripe's keys saved) with real commits, on SQLite then PostgreSQL."""
    settings = Settings(data_dir=tmp_path / "hub", kpi_processes=1, scheduler_in_process=False)
    if request.param == "postgres":
        settings = settings.model_copy(update={"database_url": request.getfixturevalue("scratch_postgres_url")})
    runtime = open_hub(settings)
    credentials.save(settings, "stripe", {"api_key": API_KEY, "webhook_secret": SECRET})
    yield runtime
    runtime.close()


@pytest.fixture
def peer() -> Iterator[tuple[StripePeer, str]]:
    """Stripe's API on loopback: the peer's state and its base URL."""
    state = StripePeer()
    with served(state.app()) as url:
        yield state, url


@pytest.fixture
def app_client(hub: Runtime) -> Iterator[Any]:
    """The real app (``create_app``) on the hub, driven in-process."""
    with TestClient(create_app(hub.settings), follow_redirects=False) as client:
        yield client
