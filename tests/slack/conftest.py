"""Slack's tests: hubs with real commits on SQLite and PostgreSQL and a loopback Slack Web API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.platform.runtimes import db_runtime  # noqa: F401
from tests.servers import served
from tests.slack.slack_api import SlackPeer


@pytest.fixture
def slack_peer() -> Iterator[tuple[SlackPeer, str]]:
    """Slack's Web API on loopback: the peer's state and its API base (``…/api/``)."""
    state = SlackPeer()
    with served(state.app()) as url:
        yield state, f"{url}/api/"
