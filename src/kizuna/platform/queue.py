"""Claiming rows of a work table (pending jobs, the outbound-message outbox) so that each is done by one worker.

PostgreSQL: ``SELECT ... FOR UPDATE SKIP LOCKED`` then ``UPDATE``, so concurrent workers never wait on each other.
SQLite: one ``UPDATE ... WHERE id IN (SELECT ... LIMIT n) RETURNING id`` -- a single statement takes the write lock,
so the claim is atomic. A claim is a lease: if its worker dies, the row is claimable again after ``lease_until``.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import uuid
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session


def worker_name() -> str:
    """A name unique to this process and call: host, pid and a random suffix."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def claim(
    session: Session,
    model: Any,
    *,
    ready_status: str,
    claimed_status: str,
    due_column: Any,
    worker: str,
    now: dt.datetime,
    lease: dt.timedelta,
    limit: int,
) -> list[int]:
    """Claim up to ``limit`` due rows of ``model`` for ``worker``; returns their ids (the caller commits)."""
    claimable = or_(
        and_(model.status == ready_status, due_column <= now),
        and_(model.status == claimed_status, model.lease_until < now),
    )
    pick = select(model.id).where(claimable).order_by(due_column, model.id).limit(limit)
    values = {
        "status": claimed_status,
        "lease_owner": worker,
        "lease_until": now + lease,
        "attempts": model.attempts + 1,
    }
    if session.get_bind().dialect.name == "postgresql":
        ids = list(session.scalars(pick.with_for_update(skip_locked=True)))
        if not ids:
            return []
        session.execute(
            update(model).where(model.id.in_(ids)).values(**values).execution_options(synchronize_session=False)
        )
        return ids
    result = session.execute(
        update(model)
        .where(model.id.in_(pick.scalar_subquery()))
        .values(**values)
        .returning(model.id)
        .execution_options(synchronize_session=False)
    )
    return sorted(result.scalars())


def insert_ignoring_duplicates(session: Session, model: Any, rows: list[dict[str, Any]], *, key: str) -> int:
    """Insert rows, silently skipping those whose unique ``key`` exists already; returns how many were new."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    table = model.__table__
    new = 0
    chunk = max(1, 2000 // max(1, len(rows[0]))) if rows else 1  # stay under SQLite's bound-parameter limit
    for start in range(0, len(rows), chunk):
        stmt = (
            insert(table)
            .values(rows[start : start + chunk])
            .on_conflict_do_nothing(index_elements=[key])
            .returning(table.c.id)  # rowcount is not reliable for multi-row inserts; count what came back
        )
        new += len(session.execute(stmt).all())
    return new
