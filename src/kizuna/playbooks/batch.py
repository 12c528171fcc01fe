"""A batch of claimed playbook jobs run as sets: what :func:`kizuna.playbooks.actions.execute_action` does for each
job, with the batch's reads made once and its writes made as multi-row inserts.

Run one by one, a job cost a savepoint, a fencing update, a query or two for what its action reads (the live task
with its de-duplication key, an e-mail's idempotency key, the account's MRR) and an insert per row it writes:
~1.5 ms a job, 62,842 jobs (95 s) on the first refresh of the 50,000-account demo. Here a run of jobs
(:func:`run_as_set`):

1. reads what all of them read, one query per kind: the live tasks of their de-duplication keys and the digests of
   their owners, the outbox keys already queued, the opportunities already opened, the accounts' live MRR;
2. works out each job's effect *in job order* against that state (so the second job of a batch that would open the
   same task finds the first one's, as it would one by one), with the same texts, keys and rows as the one-by-one
   path;
3. writes the new tasks, messages and opportunities as one insert per table in job order (so their ids come out as
   they would one by one), their audit rows, and marks the jobs done.

A job whose effect cannot be worked out here (an action this module does not know: Slack; an assignee by e-mail; a
missing stakes basis; anything that raises, such as a bad e-mail address) is run afterwards by the one-by-one path
in its own savepoint, which records its error and retries it as before. If the set's writes fail as a whole, they
are rolled back to the set's savepoint and every job of the set is run one by one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import JSON, bindparam, func, insert, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from kizuna.accounts.models import Account, TeamMember
from kizuna.audit.models import AuditEntry
from kizuna.billing.models import Subscription
from kizuna.db import utcnow
from kizuna.funnel.models import Opportunity
from kizuna.lifecycle.service import set_lifecycle_stage
from kizuna.platform.outbox.models import MessageChannel, MessageStatus, OutboundMessage
from kizuna.platform.outbox.service import render_email
from kizuna.playbooks import priority
from kizuna.playbooks import schemas as s
from kizuna.playbooks.actions import (
    _ACTION,
    DIGEST_TITLE,
    Prefetched,
    _recipients,
    render_text,
    webhook_payload,
)
from kizuna.playbooks.models import JobStatus, PendingJob
from kizuna.settings import Settings
from kizuna.tasks.models import Task, TaskStatus
from kizuna.tasks.service import GENERATED, LIVE

#: the action types worked out as sets; any other runs one by one
SET_ACTIONS = frozenset({"create_task", "send_email", "webhook", "set_lifecycle_stage", "open_opportunity"})

#: rows per query of an ``IN (...)`` list (under SQLite's bound-parameter limit)
_CHUNK = 900


class _OwnPath(Exception):
    """This job's action is not worked out as a set: run it one by one."""


def runs_as_set(job: PendingJob) -> bool:
    """Whether the job's action is one this module works out as a set."""
    action = (job.payload or {}).get("action") or {}
    return isinstance(action, dict) and action.get("type") in SET_ACTIONS


@dataclass
class _NewTask:
    row: dict[str, Any]
    audit_after: dict[str, Any]
    job_id: int
    id: int | None = None


@dataclass
class _State:
    """What the set's jobs read, read once, and what they write, in job order."""

    today: dt.date
    now: dt.datetime
    live_tasks: dict[str, Task | _NewTask] = field(default_factory=dict)
    queued_keys: dict[str, int | None] = field(default_factory=dict)  # outbox key -> message id (None: new)
    opportunities: dict[str, int | None] = field(default_factory=dict)  # external id -> id (None: new)
    mrr: dict[int, tuple[int, str | None]] = field(default_factory=dict)
    tasks: list[_NewTask] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    opportunity_rows: list[dict[str, Any]] = field(default_factory=list)
    audits: list[tuple[str, str, str, Callable[[], object], dict[str, Any] | None, dict[str, Any] | None]] = field(
        default_factory=list
    )
    #: each job's result, a function of the ids the inserts give
    results: dict[int, Callable[[], str]] = field(default_factory=dict)


def _in_chunks(session: Session, stmt_of: Callable[[list[Any]], Any], values: list[Any]) -> list[Any]:
    rows: list[Any] = []
    for start in range(0, len(values), _CHUNK):
        rows.extend(session.execute(stmt_of(values[start : start + _CHUNK])).all())
    return rows


def _task_key(job: PendingJob) -> str:
    payload = job.payload
    key = payload["playbook_key"]
    return f"playbook:{key}:account:{job.account_id}:{payload['trigger_type']}:{payload['action_path']}"


def _digest_key(owner_id: int | None) -> str:
    return f"{GENERATED}digest:tech-touch:owner:{owner_id}"


def _read(session: Session, jobs: list[PendingJob], accounts: dict[int, Account], state: _State) -> None:
    """Read, once for the set, what its jobs' actions would each query."""
    task_keys: set[str] = set()
    message_keys: list[str] = []
    opportunity_ids: list[str] = []
    mrr_accounts: set[int] = set()
    for job in jobs:
        kind = job.payload["action"].get("type")
        account = accounts.get(job.account_id or 0)
        if account is None:
            continue
        if kind == "create_task":
            task_keys.add(_task_key(job))
            task_keys.add(_digest_key(account.owner_id))
        elif kind == "webhook":
            message_keys.append(job.idempotency_key)
        elif kind == "send_email":
            message_keys.append(f"{job.idempotency_key}:to:")  # the addresses are known later: a prefix
        elif kind == "open_opportunity":
            opportunity_ids.append("pb-" + hashlib.sha256(job.idempotency_key.encode()).hexdigest()[:40])
            mrr_accounts.add(account.id)
    keys = sorted(task_keys)
    for start in range(0, len(keys), _CHUNK):
        for task in session.scalars(
            select(Task).where(Task.dedupe_key.in_(keys[start : start + _CHUNK]), Task.status.in_(LIVE))
        ):
            if task.dedupe_key is not None:
                state.live_tasks.setdefault(task.dedupe_key, task)
    # an e-mail's keys are the job's key and ":to:<address>": one range per job would be a query each; the job keys'
    # messages are read by account instead (the outbox index on account_id), then matched by key
    exact = [k for k in message_keys if not k.endswith(":to:")]
    prefixes = tuple(k for k in message_keys if k.endswith(":to:"))
    for key, message_id in _in_chunks(
        session,
        lambda chunk: select(OutboundMessage.idempotency_key, OutboundMessage.id).where(
            OutboundMessage.idempotency_key.in_(chunk)
        ),
        exact,
    ):
        state.queued_keys[key] = message_id
    if prefixes:
        emailed = sorted(
            {j.account_id for j in jobs if j.account_id and j.payload["action"].get("type") == "send_email"}
        )
        for key, message_id in _in_chunks(
            session,
            lambda chunk: select(OutboundMessage.idempotency_key, OutboundMessage.id).where(
                OutboundMessage.account_id.in_(chunk)
            ),
            emailed,
        ):
            if key.startswith(prefixes):
                state.queued_keys[key] = message_id
        # a message queued without its account (the account since deleted) is still found by its exact key below
    for external_id, opportunity_id in _in_chunks(
        session,
        lambda chunk: select(Opportunity.external_id, Opportunity.id).where(Opportunity.external_id.in_(chunk)),
        opportunity_ids,
    ):
        state.opportunities[external_id] = opportunity_id
    if mrr_accounts:
        for account_id, mrr, currency in _in_chunks(
            session,
            lambda chunk: (
                select(
                    Subscription.account_id,
                    func.coalesce(func.sum(Subscription.mrr_minor), 0),
                    func.max(Subscription.currency),
                )
                .where(
                    Subscription.account_id.in_(chunk),
                    Subscription.start_date <= state.today,
                    or_(Subscription.end_date.is_(None), Subscription.end_date > state.today),
                    Subscription.status.in_(("active", "trial", "cancelled")),
                )
                .group_by(Subscription.account_id)
            ),
            sorted(mrr_accounts),
        ):
            state.mrr[int(account_id)] = (int(mrr), currency)


def _context(account: Account, owner: TeamMember | None, language: str) -> dict[str, Any]:
    """The template context of :func:`kizuna.playbooks.actions._account_context`, from rows already read."""
    team = "カスタマーサクセス担当" if language == "ja" else "the Customer Success team"
    return {
        "account": {
            "id": account.id,
            "external_id": account.external_id,
            "name": account.name,
            "lifecycle_stage": account.lifecycle_stage,
            "touch_tier": account.touch_tier,
            "region": account.region,
            "industry": account.industry,
        },
        "owner": {"name": owner.name if owner else team, "email": owner.email if owner else None},
    }


def _snapshot(row: dict[str, Any]) -> dict[str, Any]:
    """:func:`kizuna.tasks.service._snapshot` of a task row about to be inserted."""
    return {
        "title": row["title"],
        "status": row["status"],
        "priority": row["priority"],
        "owner_id": row["owner_id"],
        "due_on": row["due_on"].isoformat() if row["due_on"] else None,
        "snoozed_until": None,
        "stakes": row["stakes"],
    }


def _new_task(state: _State, job: PendingJob, **values: Any) -> _NewTask:
    """A throttled (waiting) task, as :func:`kizuna.tasks.service.create_task` creates a playbook's."""
    if not values["title"].strip():
        raise _OwnPath("a task needs a title")
    row = {
        "account_id": values.get("account_id"),
        "owner_id": values["owner_id"],
        "title": values["title"].strip()[:500],
        "reason": values["reason"],
        "priority": values["priority"],
        "due_on": values["due_on"],
        "dedupe_key": values["dedupe_key"],
        "source": values["source"],
        "created_by": values["actor"],
        "stakes": values["stakes"],
        "status": TaskStatus.waiting.value,
        "released_on": None,
        "snoozed_until": None,
        "created_at": state.now,
    }
    task = _NewTask(row=row, audit_after=_snapshot(row), job_id=job.id)
    state.tasks.append(task)
    state.live_tasks[row["dedupe_key"]] = task
    state.audits.append((values["actor"], "create", "task", lambda: task.id, None, task.audit_after))
    return task


def _task_id(task: Task | _NewTask) -> Callable[[], object]:
    return lambda: task.id


def _create_task(
    state: _State, job: PendingJob, action: s.CreateTask, account: Account, context: dict[str, Any], language: str
) -> Callable[[], str]:
    payload = job.payload
    signal = payload["signal"]
    actor = f"playbook:{payload['playbook_key']}"
    if action.assignee != "owner" or not signal.get("stakes_basis"):
        raise _OwnPath("an assignee by e-mail, or no stakes basis in the signal")
    reason = signal["reason"]
    if action.reason:
        reason = f"{reason}\n{render_text(action.reason, language, context)}"
    stakes = priority.task_stakes(signal["stakes_basis"], priority=action.priority, due_in_days=action.due_in_days)
    title = render_text(action.title, language, context)
    due_on = state.today + dt.timedelta(days=action.due_in_days)
    owner_id = account.owner_id
    if account.touch_tier in priority.DIGEST_TIERS:
        entry = f"・{account.name} [#{account.id}] {title}: {signal['reason']}"
        digest_title = DIGEST_TITLE.get(language, DIGEST_TITLE["ja"])
        digest = state.live_tasks.get(_digest_key(owner_id))
        if digest is None:
            digest = _new_task(
                state,
                job,
                actor=actor,
                title=digest_title.format(n=1),
                owner_id=owner_id,
                reason=entry,
                priority="normal",
                due_on=due_on,
                dedupe_key=_digest_key(owner_id),
                source=f"{GENERATED}digest",
                stakes=stakes,
            )
            return lambda: f"added to digest task {digest.id}"
        fields = digest.row if isinstance(digest, _NewTask) else None
        reason_now = (fields["reason"] if fields else digest.reason) or ""  # type: ignore[union-attr]
        entries = reason_now.splitlines()
        if entry in entries:
            return lambda: f"already in digest task {digest.id}"
        entries.append(entry)
        changes: dict[str, Any] = {"reason": "\n".join(entries), "title": digest_title.format(n=len(entries))[:500]}
        old_stakes = fields["stakes"] if fields else digest.stakes  # type: ignore[union-attr]
        changes["stakes"] = (old_stakes or 0) + stakes
        old_due = fields["due_on"] if fields else digest.due_on  # type: ignore[union-attr]
        if due_on is not None and (old_due is None or due_on < old_due):
            changes["due_on"] = due_on
        if fields is not None:
            fields.update(changes)
        else:
            for name, value in changes.items():
                setattr(digest, name, value)
        return lambda: f"added to digest task {digest.id}"
    dedupe_key = _task_key(job)
    live = state.live_tasks.get(dedupe_key)
    if live is not None:
        return lambda: f"task {live.id} already live (deduplicated)"
    task = _new_task(
        state,
        job,
        actor=actor,
        title=title,
        account_id=account.id,
        owner_id=owner_id,
        reason=reason,
        priority=action.priority,
        due_on=due_on,
        dedupe_key=dedupe_key,
        source=actor,
        stakes=stakes,
    )
    return lambda: f"task {task.id} created ({TaskStatus.waiting.value})"


def _queue(state: _State, row: dict[str, Any]) -> bool:
    """Queue an outbox row unless its key is queued already (before or earlier in the set)."""
    if row["idempotency_key"] in state.queued_keys:
        return False
    state.queued_keys[row["idempotency_key"]] = None
    state.messages.append(row)
    return True


def _message(state: _State, **values: Any) -> dict[str, Any]:
    return {
        "contact_id": None,
        "subject": None,
        "body": None,
        "payload": None,
        "status": MessageStatus.queued.value,
        "next_attempt_at": state.now,
        "created_at": state.now,
        **values,
    }


def _send_email(
    session: Session,
    state: _State,
    job: PendingJob,
    action: s.SendEmail,
    account: Account,
    context: dict[str, Any],
    prefetched: Prefetched,
) -> Callable[[], str]:
    signal = job.payload["signal"]
    actor = f"playbook:{job.payload['playbook_key']}"
    recipients = _recipients(session, account, action.to, signal.get("contact_id"), prefetched)
    if not recipients:
        return lambda: f"no {action.to} with an email address: nothing sent"
    rows = []
    for contact_id, email, name, contact_language in recipients:
        if "@" not in email:
            raise _OwnPath(f"not an email address: {email!r}")
        subject, body = render_email(
            action.template, language=contact_language, context={**context, "contact": {"name": name, "email": email}}
        )
        rows.append(
            _message(
                state,
                idempotency_key=f"{job.idempotency_key}:to:{email}",
                channel=MessageChannel.email.value,
                recipient=email,
                subject=subject[:500],
                body=body,
                account_id=account.id,
                contact_id=contact_id,
                source=actor,
            )
        )
    queued = sum(_queue(state, row) for row in rows)
    return lambda: f"{queued} email(s) queued to {action.to}"


def _webhook(
    state: _State, job: PendingJob, action: s.Webhook, account: Account, context: dict[str, Any], language: str
) -> Callable[[], str]:
    signal = job.payload["signal"]
    key = job.payload["playbook_key"]
    if not action.url.startswith(("http://", "https://")):
        raise _OwnPath(f"webhook URL must be http(s): {action.url!r}")
    body = webhook_payload(action, key=key, account=account, signal=signal, context=context, language=language)
    row = _message(
        state,
        idempotency_key=job.idempotency_key,
        channel=MessageChannel.webhook.value,
        recipient=action.url,
        payload=body,
        account_id=account.id,
        source=f"playbook:{key}",
    )
    if not _queue(state, row):
        return lambda: "webhook already queued"
    return lambda: f"webhook queued (message {row['id']})"


def _open_opportunity(
    state: _State,
    job: PendingJob,
    action: s.OpenOpportunity,
    account: Account,
    context: dict[str, Any],
    settings: Settings,
) -> Callable[[], str]:
    actor = f"playbook:{job.payload['playbook_key']}"
    external_id = "pb-" + hashlib.sha256(job.idempotency_key.encode()).hexdigest()[:40]
    if external_id in state.opportunities:
        existing = state.opportunities[external_id]
        if existing is None:  # opened by an earlier job of the set (the same key: not expected)
            raise _OwnPath("opportunity opened earlier in the set")
        return lambda: f"opportunity {existing} already open"
    mrr, currency = state.mrr.get(account.id, (0, None))
    row = {
        "external_id": external_id,
        "account_id": account.id,
        "owner_id": account.owner_id,
        "kind": action.kind,
        "stage": "open",
        "source": actor,
        "name": render_text(action.name, settings.language, context)
        if action.name
        else f"{account.name} {action.kind}",
        "amount_minor": int(mrr * action.amount_percent_of_mrr / 100),
        "currency": currency or settings.currency,
        "created_at": state.now,
        "close_date": state.today + dt.timedelta(days=action.close_in_days),
    }
    state.opportunities[external_id] = None
    state.opportunity_rows.append(row)
    state.audits.append(
        (
            actor,
            "create",
            "opportunity",
            lambda: row["id"],
            None,
            {"kind": action.kind, "amount_minor": row["amount_minor"]},
        )
    )
    return lambda: f"{action.kind} opportunity {row['id']} opened"


def _work_out(
    session: Session,
    state: _State,
    job: PendingJob,
    accounts: dict[int, Account],
    owners: dict[int, TeamMember],
    settings: Settings,
    prefetched: Prefetched,
) -> Callable[[], str]:
    """One job's effect on the set's state; raises :class:`_OwnPath` (or anything) before changing any of it."""
    payload = job.payload
    action = _ACTION.validate_python(payload["action"])
    account = accounts.get(job.account_id or 0)
    if account is None:
        if job.account_id is not None and session.get(Account, job.account_id) is not None:
            raise _OwnPath("account not read with the batch")
        return lambda: "account no longer exists"
    language = settings.language
    signal = payload["signal"]
    context = {
        **_context(account, owners.get(account.owner_id or 0), language),
        "facts": signal["facts"],
        "reason": signal["reason"],
        "playbook": payload.get("playbook_name", payload["playbook_key"]),
    }
    if isinstance(action, s.CreateTask):
        return _create_task(state, job, action, account, context, language)
    if isinstance(action, s.SendEmail):
        return _send_email(session, state, job, action, account, context, prefetched)
    if isinstance(action, s.Webhook):
        return _webhook(state, job, action, account, context, language)
    if isinstance(action, s.SetLifecycleStage):
        change = set_lifecycle_stage(
            session,
            actor=f"playbook:{payload['playbook_key']}",
            account_id=account.id,
            stage=action.stage,
            reason=signal["reason"],
        )
        return (lambda: f"lifecycle -> {action.stage}") if change else (lambda: f"lifecycle already {action.stage}")
    if isinstance(action, s.OpenOpportunity):
        return _open_opportunity(state, job, action, account, context, settings)
    raise _OwnPath(f"action {payload['action'].get('type')!r} runs one by one")


def _insert_returning_ids(session: Session, table: Any, rows: list[dict[str, Any]]) -> list[int]:
    """Insert ``rows`` in order; their ids, in the same order. A JSON column's None is SQL NULL, as the ORM leaves
    a column it was given no value for (not JSON ``null``)."""
    if not rows:
        return []
    stmt = insert(table)
    nullable_json = {
        c.name: bindparam(c.name, type_=JSON(none_as_null=True)) for c in table.c if isinstance(c.type, JSON)
    }
    if nullable_json:
        stmt = stmt.values(**{name: param for name, param in nullable_json.items() if name in rows[0]})
    result = session.execute(stmt.returning(table.c.id, sort_by_parameter_order=True), rows)
    return [int(row_id) for row_id in result.scalars().all()]


def run_as_set(
    session: Session,
    jobs: list[PendingJob],
    *,
    settings: Settings,
    prefetched: Prefetched,
) -> tuple[dict[int, str], list[PendingJob]]:
    """Do the actions of ``jobs`` (held by this worker, in id order) as sets and mark them done; returns each done
    job's result by id, and the jobs left to run one by one (in order). The caller holds the jobs' claims."""
    now = utcnow()
    state = _State(today=now.date(), now=now)
    account_ids = {j.account_id for j in jobs if j.account_id is not None}
    accounts = {a.id: a for a in (session.get(Account, i) for i in account_ids) if a is not None}
    owner_ids = {a.owner_id for a in accounts.values() if a.owner_id is not None}
    owners = {o.id: o for o in (session.get(TeamMember, i) for i in owner_ids) if o is not None}
    _read(session, jobs, accounts, state)
    own_path: list[PendingJob] = []
    for job in jobs:
        try:
            state.results[job.id] = _work_out(session, state, job, accounts, owners, settings, prefetched)
        except Exception:  # the one-by-one path runs it again and records its error
            own_path.append(job)
    # the writes, each table in job order (ids as one by one would give them)
    for task, task_id in zip(
        state.tasks, _insert_returning_ids(session, Task.__table__, [t.row for t in state.tasks]), strict=True
    ):
        task.id = task_id
    for row, message_id in zip(
        state.messages, _insert_returning_ids(session, OutboundMessage.__table__, state.messages), strict=True
    ):
        row["id"] = message_id
    for row, opportunity_id in zip(
        state.opportunity_rows,
        _insert_returning_ids(session, Opportunity.__table__, state.opportunity_rows),
        strict=True,
    ):
        row["id"] = opportunity_id
    audits = [
        {
            "actor": actor,
            "action": action,
            "entity": entity,
            "entity_id": str(entity_id()),
            "before": before,
            "after": after,
            "at": now,
        }
        for actor, action, entity, entity_id, before, after in state.audits
    ]
    if audits:
        session.execute(insert(AuditEntry), audits)
    results = {job.id: state.results[job.id]() for job in jobs if job.id in state.results}
    session.flush()  # what the actions changed through the ORM (a lifecycle stage)
    _mark_done(session, [job for job in jobs if job.id in results], results=results, now=now)
    return results, own_path


#: the jobs table, for Core writes
PENDING_JOBS: Any = PendingJob.__table__
_MARK_DONE = (
    update(PENDING_JOBS)
    .where(PENDING_JOBS.c.id == bindparam("job_id"))
    .values(
        status=JobStatus.done.value,
        result=bindparam("job_result", type_=PENDING_JOBS.c.result.type),
        done_at=bindparam("job_done_at", type_=PENDING_JOBS.c.done_at.type),
        lease_owner=None,
        lease_until=None,
    )
)


def _mark_done(session: Session, jobs: list[PendingJob], *, results: dict[int, str], now: dt.datetime) -> None:
    """Mark ``jobs`` done with their results: one executemany, the loaded objects told the same values (a flush of
    the changed objects was a fifth of a set's CPU)."""
    if not jobs:
        return
    session.execute(_MARK_DONE, [{"job_id": job.id, "job_result": results[job.id], "job_done_at": now} for job in jobs])
    for job in jobs:
        for name, value in (
            ("status", JobStatus.done),
            ("result", results[job.id]),
            ("done_at", now),
            ("lease_owner", None),
            ("lease_until", None),
        ):
            set_committed_value(job, name, value)
