"""The running pieces built from settings: the database engine and session factory.

The CLI, the web app's lifespan and the worker each build one ``Runtime`` and close it when done.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TypeVar

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from kizuna.db import WRITER_OPTION, make_engine, make_session_factory, run_write
from kizuna.settings import Settings

T = TypeVar("T")


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session] = field(repr=False)
    #: sessions whose transactions begin IMMEDIATE on SQLite (see :meth:`transaction`)
    writer_sessions: sessionmaker[Session] = field(repr=False)

    @classmethod
    def open(cls, settings: Settings) -> Runtime:
        settings.ensure_dirs()
        engine = make_engine(settings.sqlalchemy_url, busy_timeout=settings.sqlite_busy_timeout)
        return cls(
            settings=settings,
            engine=engine,
            sessions=make_session_factory(engine),
            writer_sessions=make_session_factory(engine.execution_options(**{WRITER_OPTION: True})),
        )

    @contextmanager
    def transaction(self, *, write: bool = False) -> Iterator[Session]:
        """One session, one transaction: committed on success, rolled back on any error (Ctrl-C included).

        ``write=True`` for a transaction that reads and then writes while other threads or processes may write too
        (web forms, the scheduler, the job runner): on SQLite it takes the write lock when it begins, waiting for
        it, instead of failing when its first write finds another writer.
        """
        with (self.writer_sessions if write else self.sessions)() as session, session.begin():
            yield session

    def as_writer(self) -> Runtime:
        """This runtime with every transaction a write transaction (``transaction()`` as ``transaction(write=True)``),
        for batch work whose transactions read, compute and then write while others write too (the refresh): on
        SQLite such a transaction, begun deferred, is refused at its first write whenever another connection has
        committed since it began -- however often it is tried again, if the others write more often than it takes."""
        return replace(self, sessions=self.writer_sessions)

    def write(self, work: Callable[[Session], T]) -> T:
        """Run ``work(session)`` in a write transaction of its own (see :meth:`transaction`) and commit it; if another
        writer is in the way ("database is locked" on SQLite, a deadlock on PostgreSQL), wait and run it again for
        up to ``settings.write_patience`` seconds instead of failing (:func:`kizuna.db.run_write`)."""
        return run_write(self.writer_sessions, work, patience=self.settings.write_patience)

    def close(self) -> None:
        self.engine.dispose()
