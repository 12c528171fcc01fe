from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kizuna.audit.models import AuditEntry
from kizuna.errors import Conflict, InvalidInput, NotFound
from kizuna.tasks.service import (
    complete_task,
    create_task,
    list_tasks,
    names_of,
    page_tasks,
    reassign_task,
    snooze_presets,
    snooze_task,
    wake_snoozed,
)
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


def test_waiting_tasks_are_released_within_each_owners_budget_most_at_stake_first(session: Session) -> None:
    """On SQLite and PostgreSQL: the budget a day per owner, stakes order, room left by open tasks, due dates moved."""
    from kizuna.tasks.models import DEFAULT_DAILY_TASK_BUDGET
    from kizuna.tasks.service import release_waiting, set_daily_budget, workload

    busy, default = factories.team_member(session), factories.team_member(session)
    set_daily_budget(session, actor="t", member_id=busy.id, budget=2)
    stakes = [5.0, 50.0, 500.0, 1.0]
    for i, st in enumerate(stakes):
        create_task(
            session,
            actor="pb",
            title=f"t{i}",
            owner_id=busy.id,
            stakes=st,
            throttled=True,
            source="playbook:x",
            due_on=dt.date.today() + dt.timedelta(days=3),
        )
    for i in range(DEFAULT_DAILY_TASK_BUDGET + 2):
        create_task(
            session,
            actor="pb",
            title=f"d{i}",
            owner_id=default.id,
            stakes=float(i),
            throttled=True,
            source="playbook:x",
        )
    day = dt.date(2026, 12, 8)
    released = release_waiting(session, today=day)
    assert released == {busy.id: 2, default.id: DEFAULT_DAILY_TASK_BUDGET}
    opened = list_tasks(session, owner_id=busy.id, by_stakes=True)
    assert [t.stakes for t in opened] == [500.0, 50.0]
    assert all(t.released_on == day and t.due_on == day + dt.timedelta(days=3) for t in opened)
    assert release_waiting(session, today=day) == {}  # the day's budget is used
    complete_task(session, actor="csm", task_id=opened[0].id)
    assert release_waiting(session, today=day + dt.timedelta(days=1)) == {busy.id: 1}  # default: 8 still open
    assert [t.stakes for t in list_tasks(session, owner_id=busy.id, by_stakes=True)] == [50.0, 5.0]
    figures = {w.owner_id: (w.budget, w.open, w.waiting, w.released_today) for w in workload(session, today=day)}
    assert figures == {busy.id: (2, 2, 1, 2), default.id: (DEFAULT_DAILY_TASK_BUDGET, DEFAULT_DAILY_TASK_BUDGET, 2, 8)}


def test_a_page_of_tasks_counts_the_whole_list(session: Session) -> None:
    csm, other = factories.team_member(session), factories.team_member(session)
    account = factories.account(session, name="株式会社ページ")
    day = dt.date(2026, 12, 1)
    for i in range(7):
        create_task(
            session,
            actor="t",
            title=f"タスク{i}",
            account_id=account.id,
            owner_id=csm.id,
            priority="high" if i % 2 else "normal",
            due_on=day + dt.timedelta(days=i - 3),
        )
    create_task(session, actor="t", title="他の人の", owner_id=other.id)
    first = page_tasks(session, owner_id=csm.id, per_page=3)
    assert (first.total, first.pages, [t.title for t in first.items]) == (7, 3, ["タスク0", "タスク1", "タスク2"])
    last = page_tasks(session, owner_id=csm.id, page=3, per_page=3)
    assert [t.title for t in last.items] == ["タスク6"] and last.page == 3
    assert page_tasks(session, owner_id=csm.id, priority="high").total == 3
    overdue = page_tasks(session, owner_id=csm.id, overdue_on=day)
    assert [t.title for t in overdue.items] == ["タスク0", "タスク1", "タスク2"]
    names = names_of(session, first.items)
    assert names.accounts == {account.id: "株式会社ページ"} and names.owners == {csm.id: csm.name}


def test_reassigning_a_task_is_audited_and_checked(session: Session) -> None:
    first, second = factories.team_member(session), factories.team_member(session)
    task, _ = create_task(session, actor="t", title="引き継ぎ", owner_id=first.id)
    reassign_task(session, actor="user:1:admin", task_id=task.id, owner_id=second.id)
    assert task.owner_id == second.id
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "reassign")).one()
    assert entry.before is not None and entry.after is not None
    assert (entry.before["owner_id"], entry.after["owner_id"]) == (first.id, second.id)
    with pytest.raises(NotFound):
        reassign_task(session, actor="t", task_id=task.id, owner_id=10**9)
    complete_task(session, actor="t", task_id=task.id)
    with pytest.raises(Conflict):
        reassign_task(session, actor="t", task_id=task.id, owner_id=first.id)


def test_snooze_presets_are_later_days() -> None:
    friday = dt.date(2026, 12, 4)
    presets = dict(snooze_presets(friday))
    assert presets == {
        "tasks.snooze_tomorrow": dt.date(2026, 12, 5),
        "tasks.snooze_3_days": dt.date(2026, 12, 7),
        "tasks.snooze_next_week": dt.date(2026, 12, 7),
        "tasks.snooze_2_weeks": dt.date(2026, 12, 18),
    }
    assert dict(snooze_presets(dt.date(2026, 12, 7)))["tasks.snooze_next_week"] == dt.date(2026, 12, 14)
