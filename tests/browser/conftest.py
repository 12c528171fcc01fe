"""Browser tests' fixtures: the web test company (``world``) and the session demo (tests/conftest.py) served."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kizuna.web.app import create_app
from tests.servers import served as serve
from tests.web.demo_app import DemoApp
from tests.web.fixtures import _world_template, world  # noqa: F401


@pytest.fixture(scope="session")
def served(demo_app: DemoApp) -> Iterator[str]:
    """The demo served by uvicorn as ``kizuna serve`` does (its own app object: the lifespan opens the runtime)."""
    with serve(create_app(demo_app.settings)) as base_url:
        yield base_url
