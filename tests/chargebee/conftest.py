"""Chargebee's tests: hubs on SQLite and PostgreSQL, a loopback Chargebee API over HTTPS, and the app."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import chargebee
from kizuna.connectors import credentials
from kizuna.runtime import Runtime
from kizuna.settings import Settings
from kizuna.web.app import create_app
from tests.chargebee.chargebee_api import API_KEY, SITE, WEBHOOK_PASSWORD, WEBHOOK_USER, ChargebeePeer
from tests.crm.peers import self_signed
from tests.servers import served
from tests.stripe.conftest import open_hub
from tests.web.fixtures import _world_template, world  # noqa: F401

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

CREDENTIALS = {"site": SITE, "api_key": API_KEY, "webhook_user": WEBHOOK_USER, "webhook_password": WEBHOOK_PASSWORD}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def hub(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Runtime]:
    """A connected hub (Chargebee's credentials saved) with real commits, on SQLite then PostgreSQL."""
    settings = Settings(data_dir=tmp_path / "hub", kpi_processes=1, scheduler_in_process=False)
    if request.param == "postgres":
        settings = settings.model_copy(update={"database_url": request.getfixturevalue("scratch_postgres_url")})
    runtime = open_hub(settings)
    credentials.save(settings, "chargebee", CREDENTIALS)
    yield runtime
    runtime.close()


@pytest.fixture
def peer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[ChargebeePeer, str]]:
    """Chargebee's API on loopback over HTTPS: the library trusts the peer's certificate (its CA file, the one
    setting it has for that), nothing else changes."""
    state = ChargebeePeer()
    cert, key = self_signed(tmp_path)
    monkeypatch.setattr(chargebee.Chargebee, "ca_cert_path", cert)
    with served(state.app(), ssl_certfile=cert, ssl_keyfile=key) as url:
        yield state, url


@pytest.fixture
def app_client(hub: Runtime) -> Iterator[Any]:
    with TestClient(create_app(hub.settings), follow_redirects=False) as client:
        yield client
