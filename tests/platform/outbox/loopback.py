"""Real peers on loopback for tests: an SMTP server (aiosmtpd) and an HTTP webhook receiver (http.server).

Import the fixtures into a test package's conftest.py:
``from tests.platform.outbox.loopback import smtp_server, webhook_peer``.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.servers import free_port


@dataclass
class SmtpServer:
    host: str
    port: int
    messages: list[Message] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.original_content or envelope.content))
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    from aiosmtpd.controller import Controller

    server = SmtpServer("127.0.0.1", free_port())
    controller = Controller(server, hostname=server.host, port=server.port)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


@dataclass
class WebhookPeer:
    """Answers each POST with the next status in ``script[path]`` (200 when the script is used up).

    ``slow(payload)`` gives the seconds to wait before answering (a slow peer); ``on_post(payload)`` runs when a POST
    has arrived, before the answer (to make something happen at that moment)."""

    base_url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    script: dict[str, list[int]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    slow: Callable[[dict[str, Any]], float] | None = None
    on_post: Callable[[dict[str, Any]], None] | None = None

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def calls(self, path: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"] == path]

    def posts_per_key(self) -> Counter[str]:
        """How many POSTs arrived with each ``Idempotency-Key`` header."""
        with self.lock:
            return Counter(r["headers"].get("Idempotency-Key", "") for r in self.requests)


@pytest.fixture
def webhook_peer() -> Iterator[WebhookPeer]:
    peer: WebhookPeer

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = self.rfile.read(length)
            payload = json.loads(body or b"{}")
            if peer.on_post is not None:
                peer.on_post(payload)
            if peer.slow is not None:
                time.sleep(peer.slow(payload))
            with peer.lock:
                script = peer.script.get(self.path, [])
                status = script.pop(0) if script else 200
                peer.requests.append(
                    {
                        "path": self.path,
                        "headers": dict(self.headers),
                        "json": payload,
                        "status": status,
                    }
                )
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"ok" if status < 300 else b"boom")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    peer = WebhookPeer(f"http://127.0.0.1:{httpd.server_address[1]}")
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield peer
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)
