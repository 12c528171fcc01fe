"""Teams' tests: hubs with real commits on SQLite and PostgreSQL, the web app's world, and a loopback webhook."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.platform.runtimes import db_runtime  # noqa: F401
from tests.servers import served
from tests.teams.webhook_peer import TeamsWebhookPeer
from tests.web.fixtures import _world_template, world  # noqa: F401


@pytest.fixture
def teams_peer() -> Iterator[tuple[TeamsWebhookPeer, str]]:
    """The webhook on loopback: its state and its full URL (with the signature)."""
    state = TeamsWebhookPeer()
    with served(state.app()) as url:
        yield state, f"{url}{state.path()}"
