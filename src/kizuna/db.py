"""The app database: declarative base, column types, engine and session factories.

SQLite file by default, PostgreSQL in production. Services take a ``Session`` and never commit; the caller owns the
transaction (``with session.begin(): ...``) so that several writes combine into one.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import orjson
from sqlalchemy import JSON, DateTime, MetaData, create_engine, event
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

log = logging.getLogger(__name__)

T = TypeVar("T")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite stores naive UTC; we put the zone back on read)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: kizuna stores timezone-aware UTC times only")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: UTCDateTime(), dict[str, Any]: JSON(), list[Any]: JSON()}  # noqa: RUF012  (SQLAlchemy reads it as a plain dict)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


#: execution option marking an engine whose transactions write (see :func:`make_engine`)
WRITER_OPTION = "kizuna_writer"


def json_text(value: Any) -> str:
    """The text of a JSON column: orjson, UTF-8 as it is, NaN and infinities as null (``json.dumps`` writes ``NaN``,
    which is not JSON), numpy scalars and dates (ISO 8601) as values. A KPI snapshot's JSON (10,000 series, 19
    tables at 50,000 accounts) is written in a tenth of ``json.dumps``'s time."""
    return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS).decode()


#: seconds a SQLite connection waits for another's write lock before "database is locked" (``Settings``)
DEFAULT_BUSY_TIMEOUT = 30.0


def expire_held(
    session: Session, model: type[Any], *, ids: set[int] | None = None, attributes: list[str] | None = None
) -> None:
    """After rows of ``model`` were written past the ORM (a Core insert or executemany update), make the objects of
    them that ``session`` holds read the database again when next used: all of them, or those of ``ids``; every
    attribute, or ``attributes``."""
    for held in list(session.identity_map.values()):
        if isinstance(held, model) and (ids is None or held.id in ids):
            session.expire(held, attributes)


def make_engine(url: str, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets foreign keys, WAL and a busy timeout (seconds) so web and jobs can share the file.

    JSON columns are written by :func:`json_text` and read by ``orjson.loads`` on every database."""
    kwargs.setdefault("json_serializer", json_text)
    kwargs.setdefault("json_deserializer", orjson.loads)
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"timeout": busy_timeout})
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # Let SQLAlchemy, not pysqlite, decide when transactions begin (savepoints and rollbacks work).
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # A writer begins IMMEDIATE: it waits (busy timeout) for the write lock up front. A deferred transaction
            # that has read and then writes while another connection writes fails at once ("database is locked").
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITER_OPTION) else "BEGIN")

    return engine


def refresh_statistics(engine: Engine) -> None:
    """Refresh the query planner's statistics after a bulk write (``kizuna refresh``).

    Without them SQLite takes any equality for the most selective condition: on the 50,000-account demo the latest
    health of 50 accounts went through the ``as_of`` index (39,000 rows of the day) instead of the account's
    (50 rows). SQLite samples (``analysis_limit``: ~0.1 s on that demo); PostgreSQL's autovacuum would analyse too,
    later."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA analysis_limit=1000")
        conn.exec_driver_sql("ANALYZE")
        conn.commit()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


#: SQLSTATEs of PostgreSQL's "try again" errors: serialization failure, deadlock, lock not available
_RETRYABLE_SQLSTATES = {"40001", "40P01", "55P03"}


def is_contention(exc: BaseException) -> bool:
    """Whether ``exc`` says another writer was in the way (worth waiting and trying again), not that the work is wrong.

    SQLite: "database is locked" / "database table is locked" (the busy timeout ran out, or a deferred transaction
    that had read found another writer when it came to write). PostgreSQL: serialization failure, deadlock."""
    if not isinstance(exc, DBAPIError):
        return False
    text = str(exc.orig).lower()
    if "database is locked" in text or "database table is locked" in text or "database is busy" in text:
        return True
    return getattr(exc.orig, "sqlstate", None) in _RETRYABLE_SQLSTATES


def run_write(
    factory: sessionmaker[Session],
    work: Callable[[Session], T],
    *,
    patience: float = 300.0,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run ``work(session)`` in one transaction of its own and commit; when another writer is in the way
    (:func:`is_contention`), roll back, wait (0.05 s doubling up to 2 s) and run it again, for up to ``patience``
    seconds. ``work`` must be safe to run again: all it did in a rolled-back attempt is undone."""
    deadline = time.monotonic() + patience
    wait = 0.05
    attempt = 1
    while True:
        try:
            with factory() as session, session.begin():
                return work(session)
        except DBAPIError as exc:
            if not is_contention(exc) or time.monotonic() + wait > deadline:
                raise
            log.info("database busy (attempt %s): %s; trying again in %.2f s", attempt, exc.orig, wait)
        sleep(wait)
        wait = min(wait * 2, 2.0)
        attempt += 1


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """Open a session and one transaction; commit on success, roll back on any error (Ctrl-C included)."""
    with factory() as session, session.begin():
        yield session
