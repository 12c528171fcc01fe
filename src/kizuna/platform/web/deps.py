"""Request-scoped dependencies shared by every router: the database session (one transaction per request)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from sqlalchemy.orm import Session

from kizuna.platform.paging import MAX_PAGE, MAX_PER_PAGE, PER_PAGE, Paging
from kizuna.runtime import Runtime
from kizuna.settings import Settings


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def db_session(request: Request) -> Iterator[Session]:
    """One session and one transaction per request: committed when the handler returns, rolled back on error.

    On SQLite, writing requests take the app's write lock for their whole transaction and begin IMMEDIATE: a deferred
    SQLite transaction that reads and then writes cannot wait for another writer (it fails with "database is locked"
    at once), so writers inside this process go one at a time and wait for the scheduler's or a worker's writes;
    readers never wait (WAL).
    """
    runtime = runtime_of(request)
    if request.method in ("GET", "HEAD", "OPTIONS") or runtime.engine.dialect.name != "sqlite":
        with runtime.transaction() as session:
            yield session
        return
    lock: threading.Lock = request.app.state.write_lock
    with lock, runtime.transaction(write=True) as session:
        yield session


# How routes take their session: ended (committed) when the handler returns, before the response is sent, so that the
# GET a form's redirect leads to sees what the POST wrote. FastAPI's default for a yield dependency ("request") ends it
# after the response, and a quick browser could read the page before the commit.
DbSession = Depends(db_session, scope="function")


# A database id in a URL path: bounded so that a huge number is a 422, not an integer overflow in the database.
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]


def paging(
    page: int = Query(1, ge=1, le=MAX_PAGE, description="Page number, from 1."),
    per_page: int = Query(PER_PAGE, ge=1, le=MAX_PER_PAGE, description="Rows a page holds."),
) -> Paging:
    return Paging(page, per_page)


# How a list route takes its page: ``paging: Paging = Pages`` (the ``page`` and ``per_page`` query parameters, the
# same on every list); it answers a ``kizuna.platform.paging.Page``.
Pages = Depends(paging)
