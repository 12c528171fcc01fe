from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from kizuna.errors import Conflict, InvalidInput
from kizuna.tasks.service import complete_task, create_task, list_tasks, snooze_task, wake_snoozed
from tests import factories


def test_a_dedupe_key_gives_one_live_task_and_a_new_one_after_completion(session: Session) -> None:
    account = factories.account(session)
    first, created = create_task(
        session,
        actor="t",
        title="電話する",
        account_id=account.id,
        dedupe_key="k1",
        priority="high",
        due_on=dt.date(2026, 12, 1),
    )
    again, created_again = create_task(session, actor="t", title="電話する", account_id=account.id, dedupe_key="k1")
    assert created and not created_again and again.id == first.id
    complete_task(session, actor="t", task_id=first.id, outcome="話した")
    with pytest.raises(Conflict):
        complete_task(session, actor="t", task_id=first.id)
    second, created_second = create_task(session, actor="t", title="電話する", account_id=account.id, dedupe_key="k1")
    assert created_second and second.id != first.id


def test_snoozed_tasks_stay_deduplicated_and_wake_up(session: Session) -> None:
    account = factories.account(session)
    task, _ = create_task(session, actor="t", title="QBR準備", account_id=account.id, dedupe_key="k2")
    snooze_task(session, actor="t", task_id=task.id, until=dt.date(2026, 12, 10))
    assert create_task(session, actor="t", title="QBR準備", account_id=account.id, dedupe_key="k2")[1] is False
    assert list_tasks(session, account_id=account.id) == []
    assert wake_snoozed(session, today=dt.date(2026, 12, 9)) == 0
    assert wake_snoozed(session, today=dt.date(2026, 12, 10)) == 1
    assert [t.id for t in list_tasks(session, account_id=account.id)] == [task.id]


def test_bad_priority_is_refused(session: Session) -> None:
    with pytest.raises(InvalidInput, match="priority"):
        create_task(session, actor="t", title="x", priority="extreme")
