"""Claiming pending work: leases on SQLite and PostgreSQL, and SKIP LOCKED between concurrent PostgreSQL workers."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from kizuna.platform.queue import claim, insert_ignoring_duplicates
from kizuna.playbooks.models import JobStatus, PendingJob

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
