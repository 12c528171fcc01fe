"""A real IMAP server on loopback for the mail tests: pymap (a pure-Python IMAP4rev1 server, its in-memory backend)
run as its own process, messages delivered into it with IMAP APPEND as a mail server would file them, and a TCP
relay that can cut the connection after a number of bytes (a network that drops mid-pull) or speak TLS from the
first byte in front of it (IMAPS)."""

from __future__ import annotations

import datetime as dt
import imaplib
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from tests.servers import free_port

USER = "support@kizuna.example"
PASSWORD = "imap-secret-pw-0123"


class ImapServer:
    """pymap on 127.0.0.1:``port`` with one user (``USER`` / ``PASSWORD``); STARTTLS when given a certificate."""

    def __init__(self, folder: Path, *, port: int | None = None, cert: Path | None = None, key: Path | None = None):
        self.folder = folder
        self.port = port or free_port()
        self.cert, self.key = cert, key
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, *, wait_seconds: float = 30.0) -> ImapServer:
        self.folder.mkdir(parents=True, exist_ok=True)
        tls = ["--cert", str(self.cert), "--key", str(self.key)] if self.cert and self.key else ["--no-tls"]
        command = [str(Path(sys.executable).with_name("pymap")), "--host", "127.0.0.1", "--port", str(self.port)]
        command += [*tls, "dict", "--demo-user", USER, "--demo-password", PASSWORD]
        log = (self.folder / f"pymap-{self.port}.log").open("ab")
        self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + wait_seconds
        while time.monotonic() < deadline:
            assert self._process.poll() is None, (self.folder / f"pymap-{self.port}.log").read_text()
            with suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                if sock.recv(100).startswith(b"* OK"):
                    return self
            time.sleep(0.1)
        raise AssertionError("pymap did not start")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
            self._process = None

    def client(self) -> imaplib.IMAP4:
        client = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        if self.cert:
            import ssl

            client.starttls(ssl_context=ssl.create_default_context(cafile=str(self.cert)))
        client.login(USER, PASSWORD)
        return client

    def deliver(self, *messages: bytes, mailbox: str = "INBOX") -> None:
        """File ``messages`` into ``mailbox`` (created when missing), in order."""
        client = self.client()
        try:
            if mailbox != "INBOX":
                client.create(mailbox)  # NO when it exists: fine
            for raw in messages:
                status, data = client.append(mailbox, None, imaplib.Time2Internaldate(dt.datetime.now(dt.UTC)), raw)
                assert status == "OK", data
        finally:
            client.logout()

    def recreate(self, mailbox: str) -> None:
        """Delete ``mailbox`` and create it again, empty: the server gives it a new UIDVALIDITY."""
        client = self.client()
        try:
            assert client.delete(mailbox)[0] == "OK"
            assert client.create(mailbox)[0] == "OK"
        finally:
            client.logout()

    def seen(self, mailbox: str = "INBOX") -> list[bytes]:
        """The FLAGS of each message (to check that reading marked none read)."""
        client = self.client()
        try:
            client.select(mailbox, readonly=True)
            _, data = client.fetch("1:*", "(FLAGS)")
            return [d for d in data if isinstance(d, bytes)]
        finally:
            client.logout()


@contextmanager
def imap_server(folder: Path, **kw: object) -> Iterator[ImapServer]:
    server = ImapServer(folder, **kw).start()  # type: ignore[arg-type]
    try:
        yield server
    finally:
        server.stop()


class CuttingRelay:
    """A TCP relay on loopback to ``port`` that closes both sides once the server has sent ``cut_after`` bytes in
    one connection (None: never): the connection drops mid-pull as a flaky network drops it."""

    def __init__(self, port: int, *, cut_after: int | None = None, tls: ssl.SSLContext | None = None) -> None:
        self.target = port
        self.cut_after = cut_after
        self.tls = tls  # speak TLS from the first byte to the client (IMAPS, port 993's way), plain to the server
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        self.listener.settimeout(0.2)
        while not self._stop.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            if self.tls is not None:
                try:
                    client = self.tls.wrap_socket(client, server_side=True)
                except OSError:  # a client that does not trust the certificate hangs up
                    client.close()
                    continue
            server = socket.create_connection(("127.0.0.1", self.target))
            threading.Thread(target=self._pipe, args=(client, server, None), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, self.cut_after), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket, limit: int | None) -> None:
        sent = 0
        try:
            while True:
                data = source.recv(4096)
                if not data:
                    break
                if limit is not None and sent + len(data) > limit:
                    sink.sendall(data[: limit - sent])
                    break
                sink.sendall(data)
                sent += len(data)
        except OSError:
            pass
        for sock in (source, sink):
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        self._stop.set()
        self.listener.close()
        self._thread.join(timeout=5)
