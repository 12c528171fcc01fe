"""Claiming pending work: leases on SQLite and PostgreSQL, and SKIP LOCKED between concurrent PostgreSQL workers."""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
import uuid

import pytest
from sqlalchemy import delete, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from kizuna.migrations import upgrade
from kizuna.platform.queue import LeaseKeeper, claim, insert_ignoring_duplicates
from kizuna.playbooks.models import JobStatus, PendingJob
from kizuna.runtime import Runtime
from kizuna.settings import Settings

NOW = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
LEASE = dt.timedelta(minutes=5)


def _jobs(prefix: str, n: int, *, run_after: dt.datetime = NOW) -> list[dict[str, object]]:
    return [
        {
            "idempotency_key": f"{prefix}:{i}",
            "kind": "action",
            "payload": {"i": i},
            "status": "pending",
            "run_after": run_after,
            "attempts": 0,
            "max_attempts": 5,
            "created_at": NOW,
        }
        for i in range(n)
    ]


def _claim(session: Session, worker: str, now: dt.datetime, limit: int = 10) -> list[int]:
    return sorted(
        claim(
            session,
            PendingJob,
            ready_status=JobStatus.pending,
            claimed_status=JobStatus.running,
            due_column=PendingJob.run_after,
            worker=worker,
            now=now,
            lease=LEASE,
            limit=limit,
        )
    )


def test_claims_are_exclusive_until_the_lease_ends(session: Session) -> None:
    assert insert_ignoring_duplicates(session, PendingJob, _jobs("q", 3), key="idempotency_key") == 3
    assert insert_ignoring_duplicates(session, PendingJob, _jobs("q", 4), key="idempotency_key") == 1
    insert_ignoring_duplicates(
        session, PendingJob, _jobs("later", 1, run_after=NOW + dt.timedelta(days=1)), key="idempotency_key"
    )
    first = _claim(session, "w1", NOW, limit=2)
    second = _claim(session, "w2", NOW)
    assert len(first) == 2 and len(second) == 2 and not set(first) & set(second)
    assert _claim(session, "w3", NOW) == []  # all leased; the 'later' job is not due
    reclaimed = _claim(session, "w3", NOW + LEASE + dt.timedelta(seconds=1))
    assert sorted(reclaimed) == sorted(first + second)
    session.expire_all()
    assert {session.get(PendingJob, i).attempts for i in reclaimed} == {2}  # type: ignore[union-attr]


@pytest.mark.postgres
def test_concurrent_postgres_workers_skip_each_others_rows(postgres_engine: Engine) -> None:
    prefix = f"pg-{uuid.uuid4().hex[:8]}"
    with Session(postgres_engine) as setup, setup.begin():
        insert_ignoring_duplicates(setup, PendingJob, _jobs(prefix, 6), key="idempotency_key")
    try:
        with Session(postgres_engine) as a, Session(postgres_engine) as b:
            a.begin()
            b.begin()
            mine = _claim(a, "a", NOW, limit=4)  # rows locked, not yet committed
            theirs = _claim(b, "b", NOW, limit=4)  # does not wait: skips the locked rows
            assert len(mine) == 4 and len(theirs) == 2 and not set(mine) & set(theirs)
            a.commit()
            b.commit()
    finally:
        with Session(postgres_engine) as cleanup, cleanup.begin():
            cleanup.execute(delete(PendingJob).where(PendingJob.idempotency_key.like(f"{prefix}:%")))


def test_expired_leases_come_first_then_the_earliest_due(session: Session) -> None:
    insert_ignoring_duplicates(session, PendingJob, _jobs("a", 2), key="idempotency_key")
    held = _claim(session, "w1", NOW, limit=1)
    insert_ignoring_duplicates(
        session, PendingJob, _jobs("early", 1, run_after=NOW - dt.timedelta(hours=1)), key="idempotency_key"
    )
    later = NOW + LEASE + dt.timedelta(seconds=1)
    first, second = _claim(session, "w2", later, limit=1), _claim(session, "w2", later, limit=1)
    assert first == held  # its lease ran out: taken over before any new row
    session.expire_all()
    early = session.query(PendingJob).filter_by(idempotency_key="early:0").one()
    assert second == [early.id]  # then the earliest due


def test_a_claim_reads_an_index_range_not_a_sort_of_the_queue(sqlite_engine: Engine) -> None:
    """41,000 queued messages on the 50,000-account demo: a claim that sorted them all held SQLite's write lock
    50 ms at a time, back to back, and the web app's logins timed out behind it."""
    statements: list[tuple[str, object]] = []

    def capture(conn: object, cursor: object, statement: str, parameters: object, *args: object) -> None:
        if statement.lstrip().upper().startswith("UPDATE"):
            statements.append((statement, parameters))

    event.listen(sqlite_engine, "before_cursor_execute", capture)
    try:
        with Session(sqlite_engine) as session:
            _claim(session, "w1", NOW, limit=1)
            plan = [
                str(row[-1])
                for statement, parameters in statements
                for row in session.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)  # type: ignore[arg-type]
            ]
            session.rollback()
    finally:
        event.remove(sqlite_engine, "before_cursor_execute", capture)
    # the due rows: a range of the (status, run_after, id) index in its order; only the in-flight rows whose lease
    # ran out and the two cut lists are sorted
    assert any("INDEX ix_pending_jobs_status_run_after_id (status=? AND run_after<?)" in step for step in plan), plan
    assert not any(step.startswith("SCAN pending_jobs") for step in plan), plan


def test_a_renewal_that_meets_a_busy_database_is_a_warning_without_a_traceback(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """A refresh step holding SQLite's write lock past a renewal's patience is a busy database, handled (the next
    renewal tries again), not an error: it is logged without a traceback (bench/soak.py counted it as one)."""
    settings = settings.model_copy(update={"sqlite_busy_timeout": 0.2})
    settings.ensure_dirs()
    upgrade(settings.sqlalchemy_url)
    rt = Runtime.open(settings)
    try:
        with rt.transaction() as session:
            insert_ignoring_duplicates(session, PendingJob, _jobs("busy", 1), key="idempotency_key")
            [job] = _claim(session, "w1", NOW)
            token = session.get(PendingJob, job).attempts  # type: ignore[union-attr]  # the fencing token
        keeper = LeaseKeeper(
            rt.sessions, PendingJob, worker="w1", claimed_status=JobStatus.running, lease=LEASE, now=NOW, patience=0.1
        )
        blocker = sqlite3.connect(settings.sqlalchemy_url.removeprefix("sqlite:///"))
        with keeper.holding_all({job: token}), caplog.at_level(logging.WARNING, logger="kizuna.platform.queue"):
            blocker.execute("BEGIN IMMEDIATE")
            keeper.renew_now()
            blocker.rollback()
            keeper.renew_now()
        blocker.close()
    finally:
        rt.close()
    [warning] = [r for r in caplog.records if "could not renew" in r.getMessage()]
    assert not warning.exc_info and "database is locked" in warning.getMessage()
    assert keeper.renewals == 1 and not keeper.lost  # the next renewal, the lock gone, went through
