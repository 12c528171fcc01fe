"""Claiming rows of a work table (pending jobs, the outbound-message outbox) so that each is done by one worker.

PostgreSQL: ``SELECT ... FOR UPDATE SKIP LOCKED`` then ``UPDATE``, so concurrent workers never wait on each other.
SQLite: one ``UPDATE ... WHERE id IN (SELECT ... LIMIT n) RETURNING id`` -- a single statement takes the write lock,
so the claim is atomic. A claim is a lease: if its worker dies, the row is claimable again after ``lease_until``.

Every claim adds one to ``attempts``; the value after the claim is the claim's **fencing token**. A worker writes its
result only ``WHERE lease_owner = me AND attempts = my token`` (:func:`fence`): once its lease has ended and another
worker has claimed the row, the old worker's write matches nothing. Work whose effect leaves the machine (an e-mail,
a webhook) cannot be fenced that way -- the peer does not know our tokens -- so its worker keeps its lease alive
while it sends (:class:`LeaseKeeper`).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import ColumnElement, and_, literal, select, tuple_, union_all, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from kizuna.db import is_contention, run_write

log = logging.getLogger(__name__)


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
    where: ColumnElement[bool] | None = None,
) -> dict[int, int]:
    """Claim up to ``limit`` due rows of ``model`` (and meeting ``where``) for ``worker``; returns each claimed id
    with its fencing token (its ``attempts`` after the claim). The caller commits."""
    # Two index ranges -- leases that ran out first, then the earliest due rows -- each cut to ``limit`` before
    # they meet: one OR over both made SQLite sort every queued row on each claim.
    expired = select(model.id.label("id"), literal(0).label("rank"), model.lease_until.label("at")).where(
        model.status == claimed_status, model.lease_until < now
    )
    due = select(model.id.label("id"), literal(1).label("rank"), due_column.label("at")).where(
        model.status == ready_status, due_column <= now
    )
    if where is not None:
        expired, due = expired.where(where), due.where(where)
    expired = expired.order_by(model.lease_until, model.id).limit(limit)
    due = due.order_by(due_column, model.id).limit(limit)
    values = {
        "status": claimed_status,
        "lease_owner": worker,
        "lease_until": now + lease,
        "attempts": model.attempts + 1,
    }
    if session.get_bind().dialect.name == "postgresql":
        ids = list(session.scalars(expired.with_only_columns(model.id).with_for_update(skip_locked=True)))
        if len(ids) < limit:
            rest = due.limit(limit - len(ids)).with_only_columns(model.id)
            ids += list(session.scalars(rest.with_for_update(skip_locked=True)))
        if not ids:
            return {}
        chosen: Any = model.id.in_(ids)
    else:
        a, b = expired.subquery(), due.subquery()
        both = union_all(select(a.c.id, a.c.rank, a.c.at), select(b.c.id, b.c.rank, b.c.at)).subquery()
        pick = select(both.c.id).order_by(both.c.rank, both.c.at, both.c.id).limit(limit)
        chosen = model.id.in_(pick.scalar_subquery())
    result = session.execute(
        update(model)
        .where(chosen)
        .values(**values)
        .returning(model.id, model.attempts)
        .execution_options(synchronize_session=False)
    )
    return {int(row_id): int(token) for row_id, token in result.all()}


def fence(model: Any, row_id: int, *, worker: str, token: int, claimed_status: str) -> ColumnElement[bool]:
    """The condition a claimed row still meets while ``worker``'s claim with ``token`` holds: write under it."""
    return and_(
        model.id == row_id,
        model.lease_owner == worker,
        model.attempts == token,
        model.status == claimed_status,
    )


def fence_all(model: Any, held: dict[int, int], *, worker: str, claimed_status: str) -> ColumnElement[bool]:
    """:func:`fence` for many rows at once: ``held`` maps each row's id to its claim's token."""
    return and_(
        tuple_(model.id, model.attempts).in_(sorted(held.items())),
        model.lease_owner == worker,
        model.status == claimed_status,
    )


def renew(
    session: Session,
    model: Any,
    held: dict[int, int],
    *,
    worker: str,
    claimed_status: str,
    until: dt.datetime,
) -> set[int]:
    """Extend ``worker``'s leases on the rows ``held`` (id -> token) to ``until``; returns the ids it lost.

    One statement for all the rows: a keeper holding a batch renews it well within a third of the lease."""
    if not held:
        return set()
    result = session.execute(
        update(model)
        .where(fence_all(model, held, worker=worker, claimed_status=claimed_status))
        .values(lease_until=until)
        .returning(model.id)
        .execution_options(synchronize_session=False)
    )
    return set(held) - {int(row_id) for row_id in result.scalars()}


class LeaseKeeper:
    """Keeps a worker's leases alive while it works: a thread renews them every third of the lease.

    The lease clock starts at ``now`` (the round's time, which tests move) and runs in real time from there. Use::

        with LeaseKeeper(sessions, OutboundMessage, ...) as keeper, keeper.holding_all({row_id: token}):
            send(...)   # however long it takes, no other worker can claim the row meanwhile
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        model: Any,
        *,
        worker: str,
        claimed_status: str,
        lease: dt.timedelta,
        now: dt.datetime,
        patience: float = 300.0,
    ) -> None:
        self.sessions = sessions
        self.model = model
        self.worker = worker
        self.claimed_status = claimed_status
        self.lease = lease
        self.patience = patience
        self._started = (now, time.monotonic())
        self._held: dict[int, int] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.lost: set[int] = set()
        self.renewals = 0

    def now(self) -> dt.datetime:
        """The round's clock: its starting time plus the real time since."""
        start, at = self._started
        return start + dt.timedelta(seconds=time.monotonic() - at)

    @contextmanager
    def holding_all(self, held: dict[int, int]) -> Iterator[None]:
        """Keep the leases of ``held`` (id -> token) alive until the block ends or each is let go."""
        with self._lock:
            self._held.update(held)
            self.lost -= set(held)  # a new claim of a row lost before
        try:
            yield
        finally:
            with self._lock:
                for row_id in held:
                    self._held.pop(row_id, None)

    def let_go(self, row_id: int) -> None:
        """Stop renewing the lease of ``row_id`` (its result is recorded)."""
        with self._lock:
            self._held.pop(row_id, None)

    def renew_now(self) -> None:
        with self._lock:
            held = dict(self._held)
        if not held:
            return
        until = self.now() + self.lease
        try:
            lost = run_write(
                self.sessions,
                lambda session: renew(
                    session, self.model, held, worker=self.worker, claimed_status=self.claimed_status, until=until
                ),
                patience=min(self.patience, self.lease.total_seconds() / 3),
            )
        except Exception as exc:  # the next renewal tries again; the lease has two more thirds to run
            busy = is_contention(exc)  # another writer held the lock past our patience: expected, no traceback
            log.warning(
                "could not renew the leases of %s on %s%s",
                self.worker,
                sorted(held),
                f": {getattr(exc, 'orig', exc)}" if busy else "",
                exc_info=not busy,
            )
            return
        self.renewals += 1
        if lost:
            self.lost |= lost
            log.warning("%s lost its lease on %s rows %s", self.worker, self.model.__tablename__, sorted(lost))

    def _run(self) -> None:
        interval = max(self.lease.total_seconds() / 3, 0.01)
        while not self._stop.wait(interval):
            self.renew_now()

    def __enter__(self) -> LeaseKeeper:
        self._thread = threading.Thread(target=self._run, name=f"lease-keeper-{self.worker}", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None


def insert_ignoring_duplicates(session: Session, model: Any, rows: list[dict[str, Any]], *, key: str) -> int:
    """Insert rows, silently skipping those whose unique ``key`` exists already; returns how many were new.

    One statement executed for all the rows (SQLAlchemy's "insertmanyvalues" sends them as multi-row ``VALUES``
    batches, in row order, so ids follow the rows): compiled once, where a statement built per chunk of rows was
    compiled again for every chunk (half the CPU of a playbook evaluation)."""
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    table = model.__table__
    stmt = insert(table).on_conflict_do_nothing(index_elements=[key]).returning(table.c.id)
    # rowcount is not reliable for an insert that skips rows; count what came back
    return len(session.execute(stmt, rows).all())
