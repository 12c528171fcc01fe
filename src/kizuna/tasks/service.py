"""Tasks: create (de-duplicated), complete, snooze, list; throttle generated tasks to each CSM's daily budget.

A task's ``dedupe_key`` (e.g. ``playbook:renewal-90:account:42:renewal_due``) is unique among live tasks (waiting,
open or snoozed): creating the same task again returns the live one instead of a second task.

Tasks a playbook generates are created ``throttled``: they wait (status ``waiting``) until
:func:`release_waiting` (each scheduler round and refresh) opens them, most at stake first, as many a day as their
owner's budget allows and never more than a day's work open at once. :func:`workload` gives the figures per CSM.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from kizuna.accounts.models import Account, TeamMember
from kizuna.audit.service import record_audit
from kizuna.db import utcnow
from kizuna.errors import Conflict, InvalidInput, NotFound
from kizuna.tasks.models import DEFAULT_DAILY_TASK_BUDGET, Task, TaskPriority, TaskStatus

log = logging.getLogger(__name__)

LIVE = (TaskStatus.waiting.value, TaskStatus.open.value, TaskStatus.snoozed.value)

#: the ``source`` prefix of generated tasks, the ones the daily budget throttles
GENERATED = "playbook:"


def _snapshot(task: Task) -> dict[str, object]:
    return {
        "title": task.title,
        "status": task.status,
        "priority": task.priority,
        "owner_id": task.owner_id,
        "due_on": task.due_on.isoformat() if task.due_on else None,
        "snoozed_until": task.snoozed_until.isoformat() if task.snoozed_until else None,
        "stakes": task.stakes,
    }


def live_task(session: Session, *, dedupe_key: str) -> Task | None:
    """The waiting, open or snoozed task with this dedupe key, if any."""
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
    stakes: float | None = None,
    throttled: bool = False,
    today: dt.date | None = None,
) -> tuple[Task, bool]:
    """Create a task, or return the live task with the same ``dedupe_key``. Returns ``(task, created)``.

    ``stakes`` is what is at stake (churn risk x ARR in minor units x urgency). A ``throttled`` task is created
    ``waiting`` and opened by :func:`release_waiting` within its owner's daily budget; any other is open at once.
    """
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
        stakes=stakes,
        status=TaskStatus.waiting if throttled else TaskStatus.open,
        released_on=None if throttled else (today or utcnow().date()),
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
    """Mark a task done (from waiting, open or snoozed)."""
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
    if task.status not in (TaskStatus.open, TaskStatus.snoozed):
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
    offset: int = 0,
    by_stakes: bool = False,
) -> list[Task]:
    """Tasks by due date (earliest first, undated last), or ``by_stakes`` (most at stake first, then due date)."""
    stmt = select(Task).where(Task.status.in_(statuses))
    if owner_id is not None:
        stmt = stmt.where(Task.owner_id == owner_id)
    if account_id is not None:
        stmt = stmt.where(Task.account_id == account_id)
    if by_stakes:
        stmt = stmt.order_by(Task.stakes.is_(None), Task.stakes.desc(), Task.due_on.is_(None), Task.due_on, Task.id)
    else:
        stmt = stmt.order_by(Task.due_on.is_(None), Task.due_on, Task.id)
    return list(session.scalars(stmt.offset(offset).limit(limit)))


# --- capacity: the daily budget of generated tasks ----------------------------------------------------------------


def _budgets(session: Session, owner_ids: set[int | None]) -> dict[int | None, int]:
    """Each owner's daily budget (tasks without an owner share the default one)."""
    budgets: dict[int | None, int] = {owner: DEFAULT_DAILY_TASK_BUDGET for owner in owner_ids}
    ids = [o for o in owner_ids if o is not None]
    for start in range(0, len(ids), 900):
        for member_id, budget in session.execute(
            select(TeamMember.id, TeamMember.daily_task_budget).where(TeamMember.id.in_(ids[start : start + 900]))
        ):
            if budget is not None:
                budgets[member_id] = budget
    return budgets


def _count_by_owner(session: Session, *conditions: ColumnElement[bool]) -> dict[int | None, int]:
    """Generated tasks per owner that meet ``conditions``."""
    generated = Task.source.like(f"{GENERATED}%")
    rows = session.execute(select(Task.owner_id, func.count()).where(generated, *conditions).group_by(Task.owner_id))
    return {owner: int(n) for owner, n in rows}


def _room(budget: int, *, released_today: int, open_now: int) -> int:
    """How many more generated tasks an owner may be given today."""
    return max(0, min(budget - released_today, budget - open_now))


def room_today(
    session: Session, *, owners: set[int | None], today: dt.date
) -> dict[int | None, tuple[int, list[float]]]:
    """For each owner: how many waiting tasks would be released today, and the stakes of those waiting already."""
    budgets = _budgets(session, owners)
    released_today = _count_by_owner(session, Task.released_on == today)
    open_now = _count_by_owner(session, Task.status == TaskStatus.open)
    out: dict[int | None, tuple[int, list[float]]] = {}
    for owner in owners:
        owner_is = Task.owner_id.is_(None) if owner is None else Task.owner_id == owner
        waiting = session.scalars(
            select(Task.stakes).where(Task.status == TaskStatus.waiting, Task.source.like(f"{GENERATED}%"), owner_is)
        )
        room = _room(budgets[owner], released_today=released_today.get(owner, 0), open_now=open_now.get(owner, 0))
        out[owner] = (room, [float(st or 0) for st in waiting])
    return out


def release_waiting(session: Session, *, today: dt.date) -> dict[int | None, int]:
    """Open waiting tasks, most at stake first, within each owner's budget; returns how many per owner.

    An owner gets at most their daily budget of generated tasks released a day, and only as many as keep their open
    generated tasks within that budget: a CSM never starts a day with more than a day's work of them open, and what
    is not done today keeps its place against what waits. A released task's due date moves with it (the same number
    of days after its release as it was after its creation).
    """
    waiting = _count_by_owner(session, Task.status == TaskStatus.waiting)
    if not waiting:
        return {}
    budgets = _budgets(session, set(waiting))
    released_today = _count_by_owner(session, Task.released_on == today)
    open_now = _count_by_owner(session, Task.status == TaskStatus.open)
    released: dict[int | None, int] = {}
    for owner, budget in budgets.items():
        room = _room(budget, released_today=released_today.get(owner, 0), open_now=open_now.get(owner, 0))
        if room <= 0:
            continue
        owner_is = Task.owner_id.is_(None) if owner is None else Task.owner_id == owner
        chosen = session.scalars(
            select(Task)
            .where(Task.status == TaskStatus.waiting, owner_is)
            .order_by(Task.stakes.is_(None), Task.stakes.desc(), Task.id)
            .limit(room)
        ).all()
        for task in chosen:
            if task.due_on is not None:
                task.due_on = today + max(task.due_on - task.created_at.date(), dt.timedelta(0))
            task.status = TaskStatus.open
            task.released_on = today
        released[owner] = len(chosen)
    session.flush()
    if released:
        log.info("released %s waiting tasks to %s owners", sum(released.values()), len(released))
    return released


@dataclass(frozen=True)
class Workload:
    """One owner's generated tasks: open now, waiting, released today, against their daily budget."""

    owner_id: int | None
    owner_name: str | None
    budget: int
    open: int
    waiting: int
    released_today: int


def workload(session: Session, *, today: dt.date) -> list[Workload]:
    """Generated tasks per owner (CSMs with any, most waiting first): open, waiting and released today."""
    open_now = _count_by_owner(session, Task.status == TaskStatus.open)
    waiting = _count_by_owner(session, Task.status == TaskStatus.waiting)
    released_today = _count_by_owner(session, Task.released_on == today)
    owners = set(open_now) | set(waiting)
    budgets = _budgets(session, owners)
    ids = [o for o in owners if o is not None]
    names: dict[int, str] = {}
    if ids:
        names = {i: n for i, n in session.execute(select(TeamMember.id, TeamMember.name).where(TeamMember.id.in_(ids)))}
    rows = [
        Workload(
            owner_id=owner,
            owner_name=names.get(owner) if owner is not None else None,
            budget=budgets[owner],
            open=open_now.get(owner, 0),
            waiting=waiting.get(owner, 0),
            released_today=released_today.get(owner, 0),
        )
        for owner in owners
    ]
    return sorted(rows, key=lambda w: (-w.waiting, -w.open, w.owner_name or ""))


def set_daily_budget(session: Session, *, actor: str, member_id: int, budget: int | None) -> TeamMember:
    """Set a team member's daily budget of generated tasks (``None``: the default)."""
    if budget is not None and budget < 0:
        raise InvalidInput("a daily task budget is 0 or more", value=budget)
    member = session.get(TeamMember, member_id)
    if member is None:
        raise NotFound(f"no team member {member_id}", member_id=member_id)
    before = {"daily_task_budget": member.daily_task_budget}
    member.daily_task_budget = budget
    session.flush()
    record_audit(
        session,
        actor=actor,
        action="set_daily_task_budget",
        entity="team_member",
        entity_id=member.id,
        before=before,
        after={"daily_task_budget": budget},
    )
    return member


def add_to_digest(
    session: Session,
    *,
    actor: str,
    owner_id: int | None,
    entry: str,
    title: str,
    stakes: float,
    due_on: dt.date | None,
    source: str,
    kind: str = "tech-touch",
) -> tuple[Task, bool]:
    """Add one line (an account and what to do) to its owner's live digest task, or start one.

    One digest per owner and ``kind`` is live at a time (waiting, open or snoozed); its reason lists the entries, one
    a line, and its stakes are theirs summed. ``title`` may hold ``{n}``, the number of entries. Returns
    ``(digest, added)``: ``added`` is False when the digest already lists this entry.
    """
    key = f"{GENERATED}digest:{kind}:owner:{owner_id}"
    digest = live_task(session, dedupe_key=key)
    if digest is None:
        digest, _created = create_task(
            session,
            actor=actor,
            title=title.format(n=1),
            owner_id=owner_id,
            reason=entry,
            due_on=due_on,
            dedupe_key=key,
            source=source,
            stakes=stakes,
            throttled=True,
        )
        return digest, True
    entries = (digest.reason or "").splitlines()
    if entry in entries:
        return digest, False
    entries.append(entry)
    digest.reason = "\n".join(entries)
    digest.title = title.format(n=len(entries))[:500]
    digest.stakes = (digest.stakes or 0) + stakes
    if due_on is not None and (digest.due_on is None or due_on < digest.due_on):
        digest.due_on = due_on
    session.flush()
    return digest, True


# --- in place: reassign; a page of tasks with its total ------------------------------------------------------------


def reassign_task(session: Session, *, actor: str, task_id: int, owner_id: int | None) -> Task:
    """Give a live task to another team member (``None``: nobody)."""
    task = get_task(session, task_id)
    if task.status not in LIVE:
        raise Conflict(f"task {task_id} is {task.status}; only open tasks can be reassigned", task_id=task_id)
    if owner_id is not None and session.get(TeamMember, owner_id) is None:
        raise NotFound(f"no team member {owner_id}", entity="team_member", id=owner_id)
    before = _snapshot(task)
    task.owner_id = owner_id
    session.flush()
    record_audit(
        session, actor=actor, action="reassign", entity="task", entity_id=task.id, before=before, after=_snapshot(task)
    )
    return task


@dataclass(frozen=True)
class TaskPage:
    """One page of a task list and how many tasks the whole list holds."""

    items: list[Task]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def page_tasks(
    session: Session,
    *,
    owner_id: int | None = None,
    account_id: int | None = None,
    statuses: tuple[str, ...] = (TaskStatus.open.value,),
    priority: str | None = None,
    overdue_on: dt.date | None = None,
    page: int = 1,
    per_page: int = 50,
) -> TaskPage:
    """One page of tasks (by due date, undated last, then id) with the total count; ``overdue_on`` keeps the tasks
    due before that day."""
    where: list[ColumnElement[bool]] = [Task.status.in_(statuses)]
    if owner_id is not None:
        where.append(Task.owner_id == owner_id)
    if account_id is not None:
        where.append(Task.account_id == account_id)
    if priority is not None:
        where.append(Task.priority == priority)
    if overdue_on is not None:
        where.append(Task.due_on < overdue_on)
    total = int(session.scalar(select(func.count(Task.id)).where(*where)) or 0)
    page = max(1, page)
    stmt = (
        select(Task)
        .where(*where)
        .order_by(Task.due_on.is_(None), Task.due_on, Task.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return TaskPage(items=list(session.scalars(stmt)), total=total, page=page, per_page=per_page)


def snooze_presets(today: dt.date) -> list[tuple[str, dt.date]]:
    """The snooze buttons a CSM is offered (label key, day): tomorrow, in three days, next Monday, in two weeks."""
    monday = today + dt.timedelta(days=7 - today.weekday())
    return [
        ("tasks.snooze_tomorrow", today + dt.timedelta(days=1)),
        ("tasks.snooze_3_days", today + dt.timedelta(days=3)),
        ("tasks.snooze_next_week", monday),
        ("tasks.snooze_2_weeks", today + dt.timedelta(days=14)),
    ]


@dataclass(frozen=True)
class TaskNames:
    """The names a task list shows beside its tasks' ids."""

    accounts: dict[int, str]
    owners: dict[int, str]


def names_of(session: Session, tasks: Sequence[Task]) -> TaskNames:
    """Account and owner names of these tasks (two queries, whatever their number)."""
    account_ids = {t.account_id for t in tasks if t.account_id is not None}
    owner_ids = {t.owner_id for t in tasks if t.owner_id is not None}
    accounts = (
        {int(i): n for i, n in session.execute(select(Account.id, Account.name).where(Account.id.in_(account_ids)))}
        if account_ids
        else {}
    )
    owners = (
        {
            int(i): n
            for i, n in session.execute(select(TeamMember.id, TeamMember.name).where(TeamMember.id.in_(owner_ids)))
        }
        if owner_ids
        else {}
    )
    return TaskNames(accounts=accounts, owners=owners)
