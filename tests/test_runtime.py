"""Runtime.transaction(write=True): on SQLite a read-then-write transaction waits for another writer instead of
failing with "database is locked"."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from kizuna.accounts.models import Account
from kizuna.runtime import Runtime
from tests import factories


def _race(runtime: Runtime, *, write: bool) -> None:
    """Another thread writes and holds the write lock for a moment; meanwhile this one reads, then writes."""
    with runtime.transaction() as session:
        account_id = factories.account(session, name="before").id
    other_writing = threading.Event()

    def other_writer() -> None:
        with runtime.transaction(write=True) as session:
            session.get(Account, account_id).industry = "other"  # type: ignore[union-attr]
            session.flush()
            other_writing.set()
            time.sleep(0.5)

    thread = threading.Thread(target=other_writer)
    thread.start()
    try:
        other_writing.wait(5)
        with runtime.transaction(write=write) as session:
            session.scalar(select(Account.name).where(Account.id == account_id))
            session.get(Account, account_id).name = "after"  # type: ignore[union-attr]
            session.flush()
    finally:
        thread.join()


def test_a_writer_waits_for_the_other_writer(runtime: Runtime) -> None:
    _race(runtime, write=True)
    with runtime.transaction() as session:
        account = session.scalars(select(Account).where(Account.name == "after")).one()
        assert account.industry == "other"


def test_a_deferred_transaction_cannot_wait(runtime: Runtime) -> None:
    # what write=True is for: SQLite refuses a read transaction's upgrade while another connection writes
    with pytest.raises(OperationalError, match="locked"):
        _race(runtime, write=False)
