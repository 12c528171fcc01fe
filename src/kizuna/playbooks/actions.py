"""Executing one playbook action for one account, inside the transaction that marks its job done.

Every effect carries a key derived from the job's idempotency key: tasks are de-duplicated per account + playbook +
reason, emails and webhooks are queued in the outbox under ``<job key>:...`` (sent after commit, once), opportunities
get an ``external_id`` from the key. Running an action twice therefore changes nothing the second time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from kizuna.accounts.models import Account, Contact, TeamMember
from kizuna.audit.service import record_audit
from kizuna.billing.models import Subscription
from kizuna.db import utcnow
from kizuna.errors import InvalidInput
from kizuna.funnel.models import Opportunity
from kizuna.lifecycle.service import set_lifecycle_stage
from kizuna.platform.outbox.service import queue_email, queue_webhook, render_email
from kizuna.playbooks import priority
from kizuna.playbooks import schemas as s
from kizuna.playbooks.models import PendingJob
from kizuna.segments.attributes import account_attributes
from kizuna.settings import Settings
from kizuna.slack.service import queue_post
from kizuna.tasks.models import Task
from kizuna.tasks.service import GENERATED, add_to_digest, create_task
from kizuna.teams import service as teams

log = logging.getLogger(__name__)

_ACTION = TypeAdapter(s.SimpleAction)

#: the title of a CSM's digest of tech-touch accounts (task titles are data, in the app's language)
DIGEST_TITLE = {"ja": "テックタッチ顧客のダイジェスト（{n}件）", "en": "Tech-touch digest ({n} items)"}


def _attributes(session: Session, account_id: int, today: dt.date) -> dict[str, Any]:
    return account_attributes(session, [account_id], today=today).get(account_id, {})


@lru_cache(maxsize=1)
def _sandbox() -> Any:
    from jinja2.sandbox import SandboxedEnvironment

    # a fact that is missing (an NPS answer without a comment) renders as nothing, never as "None"
    return SandboxedEnvironment(autoescape=False, finalize=lambda value: "" if value is None else value)


def render_text(text: s.Text | None, language: str, context: dict[str, Any]) -> str:
    """Render a playbook's text (``{ja:, en:}`` or a string) as a sandboxed Jinja template."""
    source = s.localised(text, language)
    if "{" not in source:
        return source
    return str(_compiled(source).render(**context))


def webhook_payload(
    action: s.Webhook,
    *,
    key: str,
    account: Account,
    signal: dict[str, Any],
    context: dict[str, Any],
    language: str,
) -> dict[str, Any]:
    """What a webhook action posts: Slack's ``{"text"}`` shape, or the playbook, account, reason, facts and text."""
    text = (
        render_text(action.text, language, context)
        if action.text
        else (f"[{context['playbook']}] {account.name}: {signal['reason']}")
    )
    if action.format == "slack":
        return {"text": text}
    return {
        "playbook": key,
        "account": context["account"],
        "reason": signal["reason"],
        "facts": signal["facts"],
        "text": text,
    }


@lru_cache(maxsize=512)
def _compiled(source: str) -> Any:
    return _sandbox().from_string(source)


def _account_context(session: Session, account: Account, language: str) -> dict[str, Any]:
    owner = session.get(TeamMember, account.owner_id) if account.owner_id else None
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


@dataclass(frozen=True)
class Reachable:
    """An active contact with an e-mail address, as the recipients of an email action read it."""

    id: int
    email: str | None
    name: str
    language: str | None
    is_champion: bool
    role: str | None


@dataclass
class Prefetched:
    """What a batch of jobs reads, in one query each instead of one per job: the reachable contacts of the accounts
    with an email to send (by account, in id order)."""

    contacts: dict[int, list[Reachable]] = field(default_factory=dict)


def prefetch(session: Session, jobs: Sequence[PendingJob]) -> Prefetched:
    """Read, for a batch of jobs at once, what their actions would each query (see :class:`Prefetched`)."""
    emailed = sorted({j.account_id for j in jobs if j.account_id is not None and _kind(j) == "send_email"})
    out = Prefetched()
    for start in range(0, len(emailed), 500):
        for row in session.execute(_reachable().where(Contact.account_id.in_(emailed[start : start + 500]))):
            out.contacts.setdefault(row.account_id, []).append(
                Reachable(row.id, row.email, row.name, row.language, bool(row.is_champion), row.role)
            )
    for account_id in emailed:
        out.contacts.setdefault(account_id, [])
    return out


def _kind(job: PendingJob) -> str | None:
    action = (job.payload or {}).get("action") or {}
    kind = action.get("type") if isinstance(action, dict) else None
    return kind if isinstance(kind, str) else None


def _reachable() -> Any:
    return (
        select(
            Contact.account_id,
            Contact.id,
            Contact.email,
            Contact.name,
            Contact.language,
            Contact.is_champion,
            Contact.role,
        )
        .where(Contact.is_active.is_(True), Contact.email.is_not(None))
        .order_by(Contact.account_id, Contact.id)
    )


def _recipients(
    session: Session,
    account: Account,
    to: str,
    contact_id: int | None,
    prefetched: Prefetched | None = None,
) -> list[tuple[int | None, str, str, str]]:
    """(contact id, email, name, language) of the people an email goes to."""
    if to == "owner":
        owner = session.get(TeamMember, account.owner_id) if account.owner_id else None
        return [(None, owner.email, owner.name, "ja")] if owner and owner.email else []
    if prefetched is not None and account.id in prefetched.contacts:
        contacts = prefetched.contacts[account.id]
    else:
        contacts = [
            Reachable(r.id, r.email, r.name, r.language, bool(r.is_champion), r.role)
            for r in session.execute(_reachable().where(Contact.account_id == account.id))
        ]
    if to == "respondent":
        chosen = [c for c in contacts if c.id == contact_id]
    elif to == "champions":
        chosen = [c for c in contacts if c.is_champion] or [c for c in contacts if c.role == "decision_maker"][:1]
    elif to == "admins":
        chosen = [c for c in contacts if c.role == "admin"]
    elif to == "decision_makers":
        chosen = [c for c in contacts if c.role == "decision_maker"]
    else:
        chosen = contacts
    return [(c.id, c.email or "", c.name, c.language or "ja") for c in chosen]


def _live_mrr(session: Session, account_id: int, *, today: dt.date) -> tuple[int, str | None]:
    """The account's MRR (minor units) over its live subscription lines, and their currency."""
    mrr, currency = session.execute(
        select(func.coalesce(func.sum(Subscription.mrr_minor), 0), func.max(Subscription.currency)).where(
            Subscription.account_id == account_id,
            Subscription.start_date <= today,
            or_(Subscription.end_date.is_(None), Subscription.end_date > today),
            Subscription.status.in_(("active", "trial", "cancelled")),
        )
    ).one()
    return int(mrr), currency


def execute_action(
    session: Session, job: PendingJob, *, settings: Settings, prefetched: Prefetched | None = None
) -> str:
    """Do the job's action; returns a one-line result for the run log. ``prefetched``: what :func:`prefetch` read
    for the job's batch (else each read is a query of its own)."""
    payload = job.payload
    action = _ACTION.validate_python(payload["action"])
    signal = payload["signal"]
    key = payload["playbook_key"]
    actor = f"playbook:{key}"
    language = settings.language
    account = session.get(Account, job.account_id) if job.account_id else None
    if account is None:
        return "account no longer exists"
    context = {
        **_account_context(session, account, language),
        "facts": signal["facts"],
        "reason": signal["reason"],
        "playbook": payload.get("playbook_name", key),
    }

    if isinstance(action, s.CreateTask):
        owner_id = account.owner_id
        if action.assignee != "owner":
            owner_id = session.scalar(select(TeamMember.id).where(TeamMember.email == action.assignee))
            if owner_id is None:
                raise InvalidInput(f"playbook {key}: no team member with email {action.assignee!r}")
        reason = signal["reason"]
        if action.reason:
            reason = f"{reason}\n{render_text(action.reason, language, context)}"
        today = utcnow().date()
        basis = signal.get("stakes_basis") or priority.stakes_basis(_attributes(session, account.id, today))
        stakes = priority.task_stakes(basis, priority=action.priority, due_in_days=action.due_in_days)
        title = render_text(action.title, language, context)
        due_on = today + dt.timedelta(days=action.due_in_days)
        if account.touch_tier in priority.DIGEST_TIERS:
            digest, added = add_to_digest(
                session,
                actor=actor,
                owner_id=owner_id,
                entry=f"・{account.name} [#{account.id}] {title}: {signal['reason']}",
                title=DIGEST_TITLE.get(language, DIGEST_TITLE["ja"]),
                stakes=stakes,
                due_on=due_on,
                source=f"{GENERATED}digest",
            )
            return f"added to digest task {digest.id}" if added else f"already in digest task {digest.id}"
        task, created = create_task(
            session,
            actor=actor,
            title=title,
            account_id=account.id,
            owner_id=owner_id,
            reason=reason,
            priority=action.priority,
            due_on=due_on,
            dedupe_key=f"playbook:{key}:account:{account.id}:{payload['trigger_type']}:{payload['action_path']}",
            source=actor,
            stakes=stakes,
            throttled=True,
        )
        if not created:
            return f"task {task.id} already live (deduplicated)"
        return f"task {task.id} created ({task.status})"

    if isinstance(action, s.SendEmail):
        recipients = _recipients(session, account, action.to, signal.get("contact_id"), prefetched)
        if not recipients:
            return f"no {action.to} with an email address: nothing sent"
        queued = 0
        for contact_id, email, name, contact_language in recipients:
            subject, body = render_email(
                action.template,
                language=contact_language,
                context={**context, "contact": {"name": name, "email": email}},
            )
            _message, created = queue_email(
                session,
                idempotency_key=f"{job.idempotency_key}:to:{email}",
                to=email,
                subject=subject,
                body=body,
                account_id=account.id,
                contact_id=contact_id,
                source=actor,
            )
            queued += created
        return f"{queued} email(s) queued to {action.to}"

    if isinstance(action, s.Webhook):
        webhook_body = webhook_payload(
            action, key=key, account=account, signal=signal, context=context, language=language
        )
        message, created = queue_webhook(
            session,
            idempotency_key=job.idempotency_key,
            url=action.url,
            payload=webhook_body,
            account_id=account.id,
            source=actor,
        )
        return f"webhook queued (message {message.id})" if created else "webhook already queued"

    if isinstance(action, s.SlackMessage):
        return _post_to_slack(session, job, action, account=account, context=context, settings=settings)

    if isinstance(action, s.TeamsMessage):
        return _post_to_teams(session, job, action, account=account, context=context, settings=settings)

    if isinstance(action, s.SetLifecycleStage):
        change = set_lifecycle_stage(
            session, actor=actor, account_id=account.id, stage=action.stage, reason=signal["reason"]
        )
        return f"lifecycle -> {action.stage}" if change else f"lifecycle already {action.stage}"

    if isinstance(action, s.OpenOpportunity):
        external_id = "pb-" + hashlib.sha256(job.idempotency_key.encode()).hexdigest()[:40]
        existing = session.scalar(select(Opportunity.id).where(Opportunity.external_id == external_id))
        if existing is not None:
            return f"opportunity {existing} already open"
        mrr, currency = _live_mrr(session, account.id, today=utcnow().date())
        opportunity = Opportunity(
            external_id=external_id,
            account_id=account.id,
            owner_id=account.owner_id,
            kind=action.kind,
            stage="open",
            source=actor,
            name=render_text(action.name, language, context) if action.name else f"{account.name} {action.kind}",
            amount_minor=int(mrr * action.amount_percent_of_mrr / 100),
            currency=currency or settings.currency,
            created_at=utcnow(),
            close_date=utcnow().date() + dt.timedelta(days=action.close_in_days),
        )
        session.add(opportunity)
        session.flush()
        record_audit(
            session,
            actor=actor,
            action="create",
            entity="opportunity",
            entity_id=opportunity.id,
            after={"kind": action.kind, "amount_minor": opportunity.amount_minor},
        )
        return f"{action.kind} opportunity {opportunity.id} opened"

    raise InvalidInput(f"unknown action {payload['action'].get('type')!r}")  # pragma: no cover


def _task_of(
    session: Session,
    job: PendingJob,
    action: s.SlackMessage | s.TeamsMessage,
    *,
    account: Account,
    context: dict[str, Any],
    settings: Settings,
) -> tuple[Task, str]:
    """The account's task for this playbook action (opened at once, de-duplicated like ``create_task``) and the
    reason in words, for a chat message whose buttons act on it."""
    payload = job.payload
    key = payload["playbook_key"]
    actor = f"playbook:{key}"
    reason = str(payload["signal"]["reason"])
    title = render_text(action.title, settings.language, context) if action.title else f"{context['playbook']}"
    task, _created = create_task(
        session,
        actor=actor,
        title=title,
        account_id=account.id,
        owner_id=account.owner_id,
        reason=reason,
        priority=action.priority,
        due_on=utcnow().date() + dt.timedelta(days=action.due_in_days),
        dedupe_key=f"playbook:{key}:account:{account.id}:{payload['trigger_type']}:{payload['action_path']}",
        source=actor,
    )
    return task, reason


def _post_to_teams(
    session: Session,
    job: PendingJob,
    action: s.TeamsMessage,
    *,
    account: Account,
    context: dict[str, Any],
    settings: Settings,
) -> str:
    """Open (or find) the account's task for this playbook and queue its Adaptive Card to the Teams webhook."""
    task, reason = _task_of(session, job, action, account=account, context=context, settings=settings)
    _message, created = teams.queue_post(
        session,
        settings=settings,
        idempotency_key=f"{job.idempotency_key}:teams:{action.webhook}",
        webhook=action.webhook,
        account=account,
        task=task,
        reason=reason,
        language=settings.language,
        source=f"playbook:{job.payload['playbook_key']}",
        now=utcnow(),
    )
    return f"{int(created)} Teams card(s) queued about task {task.id}"


def _post_to_slack(
    session: Session,
    job: PendingJob,
    action: s.SlackMessage,
    *,
    account: Account,
    context: dict[str, Any],
    settings: Settings,
) -> str:
    """Open (or find) the account's task for this playbook and queue its Slack message to the channel and/or the
    owner's DM; the message's buttons act on that task. The task is opened at once (not throttled): a message that
    asks to act now points at a task that can be acted on."""
    task, reason = _task_of(session, job, action, account=account, context=context, settings=settings)
    actor = f"playbook:{job.payload['playbook_key']}"
    recipients = [action.channel] if action.channel else []
    owner_email = context["owner"]["email"]
    if action.dm_owner and owner_email:
        recipients.append(f"dm:{owner_email}")
    queued = 0
    for recipient in recipients:
        _message, created = queue_post(
            session,
            idempotency_key=f"{job.idempotency_key}:slack:{recipient}",
            recipient=recipient,
            account=account,
            task=task,
            reason=reason,
            base_url=settings.base_url,
            language=settings.language,
            source=actor,
        )
        queued += created
    return f"{queued} Slack message(s) queued about task {task.id}"
