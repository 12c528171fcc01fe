"""Browser tests' fixtures: the web test company (``world``) and the session demo (tests/conftest.py) served."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn

from kizuna.web.app import create_app
from tests.web.demo_app import DemoApp
from tests.web.fixtures import _world_template, world  # noqa: F401


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def served(demo_app: DemoApp) -> Iterator[str]:
    """The demo served by uvicorn as ``kizuna serve`` does (its own app object: the lifespan opens the runtime)."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(demo_app.settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
