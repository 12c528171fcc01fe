"""A leader lock: one holder per installation (one app database), for work that must run in one place only.

The scheduler's own duties -- evaluating playbooks, waking snoozed tasks, releasing waiting ones, retention -- run in
the one process that holds the lock; every ``kizuna serve`` worker process and every ``kizuna worker`` asks for it,
and the others stand by and take over when the holder goes away.

- PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock``) on a connection of its own. The server drops
  it when that connection ends, so a killed process frees it at once.
- SQLite: an exclusive ``flock`` on ``<database file>.<name>.lock`` beside the database. The kernel drops it when the
  process ends, however it ends.

Both are non-blocking: :meth:`LeaderLock.acquire` answers at once whether this process leads.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from pathlib import Path
from typing import IO, Any

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)


def advisory_key(name: str) -> int:
    """The 64-bit advisory-lock key of ``name`` (signed, as PostgreSQL's ``bigint``)."""
    return int.from_bytes(hashlib.sha256(f"kizuna:{name}".encode()).digest()[:8], "big", signed=True)


class LeaderLock:
    """Held by at most one process per installation; ``acquire()`` is cheap and may be called every round."""

    def __init__(self, engine: Engine, *, name: str = "scheduler") -> None:
        self.engine = engine
        self.name = name
        self._connection: Any = None  # PostgreSQL: the connection that holds the advisory lock
        self._file: IO[bytes] | None = None  # SQLite: the open lock file
        self.held = False

    @property
    def lock_path(self) -> Path | None:
        """SQLite: the lock file beside the database file (None for an in-memory database)."""
        database = self.engine.url.database
        if not database or database == ":memory:":
            return None
        return Path(f"{Path(database).resolve()}.{self.name}.lock")

    def acquire(self) -> bool:
        """Take the lock if nobody holds it; True while this process holds it (checked again on each call)."""
        if self.engine.dialect.name == "postgresql":
            return self._acquire_postgres()
        return self._acquire_file()

    def _acquire_postgres(self) -> bool:
        if self.held:
            try:
                self._connection.execute(text("SELECT 1"))
                return True
            except DBAPIError:  # the server or the connection went away, and the lock with it
                log.warning("lost the %s leader lock: its connection ended", self.name)
                self._drop_connection()
        try:
            if self._connection is None:
                self._connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            self.held = bool(
                self._connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": advisory_key(self.name)})
            )
        except DBAPIError:
            log.warning("could not ask for the %s leader lock", self.name, exc_info=True)
            self._drop_connection()
        if not self.held:
            self._drop_connection()  # a standby holds no connection
        return self.held

    def _drop_connection(self) -> None:
        self.held = False
        if self._connection is not None:
            with contextlib.suppress(Exception):
                self._connection.close()
            self._connection = None

    def _acquire_file(self) -> bool:
        import fcntl

        if self.held:
            return True
        path = self.lock_path
        if path is None:
            self.held = True  # an in-memory database lives in this process only
            return True
        handle = path.open("a+b")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n".encode())
        handle.flush()
        self._file = handle
        self.held = True
        return True

    def release(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                if self.held:
                    self._connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": advisory_key(self.name)})
            self._drop_connection()
        if self._file is not None:
            import fcntl

            with contextlib.suppress(OSError):
                fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None
        self.held = False
