"""Tasks: create (de-duplicated), complete, snooze, list.

A task's ``dedupe_key`` (e.g. ``playbook:renewal-90:account:42:renewal_due``) is unique among live tasks (open or
snoozed): creating the same task again returns the live one instead of a second task.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from kizuna.audit.service import record_audit
from kizuna.db import utcnow
from kizuna.errors import Conflict, InvalidInput, NotFound
from kizuna.tasks.models import Task, TaskPriority, TaskStatus

log = logging.getLogger(__name__)

LIVE = (TaskStatus.open.value, TaskStatus.snoozed.value)


def _snapshot(task: Task) -> dict[str, object]:
    return {
        "title": task.title,
        "status": task.status,
        "priority": task.priority,
        "owner_id": task.owner_id,
        "due_on": task.due_on.isoformat() if task.due_on else None,
        "snoozed_until": task.snoozed_until.isoformat() if task.snoozed_until else None,
    }


def live_task(session: Session, *, dedupe_key: str) -> Task | None:
    """The open or snoozed task with this dedupe key, if any."""
    return session.scalars(select(Task).where(Task.dedupe_key == dedupe_key, Task.status.in_(LIVE))).first()


def create_task(
    session: Session,
    *,
    actor: str,
    title: str,
    account_id: int | None = None,
    owner_id: int | None = None,
    reason: str | None = None,
    priority: str = TaskPriority.normal,
    due_on: dt.date | None = None,
    dedupe_key: str | None = None,
    source: str | None = None,
) -> tuple[Task, bool]:
    """Create a task, or return the live task with the same ``dedupe_key``. Returns ``(task, created)``."""
    if priority not in TaskPriority.__members__:
        raise InvalidInput(f"unknown task priority {priority!r}; use one of {', '.join(TaskPriority)}", value=priority)
    if not title.strip():
        raise InvalidInput("a task needs a title")
    if dedupe_key is not None:
        existing = live_task(session, dedupe_key=dedupe_key)
        if existing is not None:
            return existing, False
    task = Task(
        account_id=account_id,
        owner_id=owner_id,
        title=title.strip()[:500],
        reason=reason,
        priority=priority,
        due_on=due_on,
        dedupe_key=dedupe_key,
        source=source,
        created_by=actor,
        status=TaskStatus.open,
    )
    session.add(task)
    session.flush()
    record_audit(session, actor=actor, action="create", entity="task", entity_id=task.id, after=_snapshot(task))
    log.info("task %s created for account %s (%s)", task.id, account_id, source)
    return task, True


def get_task(session: Session, task_id: int) -> Task:
    task = session.get(Task, task_id)
    if task is None:
        raise NotFound(f"no task {task_id}", task_id=task_id)
    return task


def complete_task(session: Session, *, actor: str, task_id: int, outcome: str | None = None) -> Task:
    """Mark a task done (from open or snoozed)."""
    task = get_task(session, task_id)
    if task.status not in LIVE:
        raise Conflict(f"task {task_id} is already {task.status}", task_id=task_id)
    before = _snapshot(task)
    task.status = TaskStatus.done
    task.completed_at = utcnow()
    task.outcome = outcome
    session.flush()
    record_audit(
        session, actor=actor, action="complete", entity="task", entity_id=task.id, before=before, after=_snapshot(task)
    )
    return task


def snooze_task(session: Session, *, actor: str, task_id: int, until: dt.date) -> Task:
    """Hide a task until ``until`` (it stays live, so the playbook still does not open a second one)."""
    task = get_task(session, task_id)
    if task.status not in LIVE:
        raise Conflict(f"task {task_id} is {task.status}; only open tasks can be snoozed", task_id=task_id)
    before = _snapshot(task)
    task.status = TaskStatus.snoozed
    task.snoozed_until = until
    session.flush()
    record_audit(
        session, actor=actor, action="snooze", entity="task", entity_id=task.id, before=before, after=_snapshot(task)
    )
    return task


def wake_snoozed(session: Session, *, today: dt.date) -> int:
    """Reopen snoozed tasks whose snooze has ended; returns how many."""
    tasks = session.scalars(select(Task).where(Task.status == TaskStatus.snoozed, Task.snoozed_until <= today)).all()
    for task in tasks:
        task.status = TaskStatus.open
        task.snoozed_until = None
    session.flush()
    return len(tasks)


def list_tasks(
    session: Session,
    *,
    owner_id: int | None = None,
    account_id: int | None = None,
    statuses: tuple[str, ...] = (TaskStatus.open.value,),
    limit: int = 200,
) -> list[Task]:
    """Tasks by due date (earliest first, undated last), then priority."""
    stmt = select(Task).where(Task.status.in_(statuses))
    if owner_id is not None:
        stmt = stmt.where(Task.owner_id == owner_id)
    if account_id is not None:
        stmt = stmt.where(Task.account_id == account_id)
    stmt = stmt.order_by(Task.due_on.is_(None), Task.due_on, Task.id).limit(limit)
    return list(session.scalars(stmt))
