"""CS activities and the account timeline (activities, tickets, survey answers, VoC, tasks, stage changes, emails)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from kizuna.accounts.models import Account, Contact, TeamMember
from kizuna.activities.models import Activity, ActivityKind
from kizuna.audit.service import record_audit
from kizuna.db import utcnow
from kizuna.errors import InvalidInput, NotFound
from kizuna.lifecycle.models import LifecycleChange
from kizuna.platform.outbox.models import OutboundMessage
from kizuna.platform.paging import Paging, page_of
from kizuna.support.models import Ticket
from kizuna.tasks.models import Task
from kizuna.voc.models import SurveyResponse, VocEntry


def log_activity(
    session: Session,
    *,
    actor: str,
    account_id: int,
    kind: str,
    subject: str,
    body: str | None = None,
    occurred_at: dt.datetime | None = None,
    author_id: int | None = None,
    contact_id: int | None = None,
    external_id: str | None = None,
) -> Activity:
    """Record a meeting, call, email, note or QBR on an account's timeline."""
    if kind not in ActivityKind.__members__:
        raise InvalidInput(f"unknown activity kind {kind!r}; use {', '.join(ActivityKind)}", value=kind)
    if not subject.strip():
        raise InvalidInput("an activity needs a subject")
    if session.get(Account, account_id) is None:
        raise NotFound(f"no account {account_id}", account_id=account_id)
    if contact_id is not None:
        contact = session.get(Contact, contact_id)
        if contact is None or contact.account_id != account_id:
            raise InvalidInput(f"no contact {contact_id} at this account", field="contact_id", value=contact_id)
    if occurred_at is not None and occurred_at.tzinfo is None:
        raise InvalidInput("occurred_at needs a time zone", field="occurred_at", value=str(occurred_at))
    activity = Activity(
        external_id=external_id or f"kizuna-{uuid.uuid4().hex}",
        account_id=account_id,
        contact_id=contact_id,
        author_id=author_id,
        kind=kind,
        subject=subject.strip()[:500],
        body=body,
        occurred_at=occurred_at or utcnow(),
    )
    session.add(activity)
    session.flush()
    record_audit(
        session,
        actor=actor,
        action="create",
        entity="activity",
        entity_id=activity.id,
        after={"account_id": account_id, "kind": kind, "subject": activity.subject},
    )
    return activity


def _activities_of(account_id: int) -> Select[Activity]:
    return (
        select(Activity)
        .where(Activity.account_id == account_id)
        .order_by(Activity.occurred_at.desc(), Activity.id.desc())
    )


def list_activities(session: Session, account_id: int, *, limit: int = 100) -> Sequence[Activity]:
    """The account's latest activities, newest first."""
    if session.get(Account, account_id) is None:
        raise NotFound(f"no account {account_id}", account_id=account_id)
    return session.scalars(_activities_of(account_id).limit(limit)).all()


def page_activities(session: Session, account_id: int, *, paging: Paging) -> tuple[list[Activity], int]:
    """One page of the account's activities, newest first, and how many it has."""
    if session.get(Account, account_id) is None:
        raise NotFound(f"no account {account_id}", account_id=account_id)
    rows, total = page_of(session, _activities_of(account_id), paging)
    return [activity for (activity,) in rows], total


@dataclass(frozen=True)
class TimelineItem:
    at: dt.datetime
    kind: str  # meeting, call, email, note, qbr, ticket, survey, voc, task, lifecycle, message
    title: str
    detail: str | None
    by: str | None
    source: str  # the table the item comes from
    source_id: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "kind": self.kind,
            "title": self.title,
            "detail": self.detail,
            "by": self.by,
            "source": self.source,
            "source_id": self.source_id,
        }


def timeline(
    session: Session,
    *,
    account_id: int,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    kinds: set[str] | None = None,
    limit: int = 200,
) -> list[TimelineItem]:
    """The account's story, newest first: everything that happened with or for the customer."""
    if session.get(Account, account_id) is None:
        raise NotFound(f"no account {account_id}", account_id=account_id)
    items: list[TimelineItem] = []

    def window(column: Any) -> list[Any]:
        where = []
        if since is not None:
            where.append(column >= since)
        if until is not None:
            where.append(column < until)
        return where

    def wanted(kind: str) -> bool:
        return kinds is None or kind in kinds

    rows = session.execute(
        select(Activity, TeamMember.name)
        .outerjoin(TeamMember, TeamMember.id == Activity.author_id)
        .where(Activity.account_id == account_id, *window(Activity.occurred_at))
        .order_by(Activity.occurred_at.desc())
        .limit(limit)
    )
    items += [
        TimelineItem(a.occurred_at, a.kind, a.subject, a.body, name, "activities", a.id)
        for a, name in rows
        if wanted(a.kind)
    ]
    if wanted("ticket"):
        for t in session.scalars(
            select(Ticket)
            .where(Ticket.account_id == account_id, *window(Ticket.opened_at))
            .order_by(Ticket.opened_at.desc())
            .limit(limit)
        ):
            flag = " [escalated]" if t.escalated else ""
            items.append(
                TimelineItem(
                    t.opened_at, "ticket", f"{t.subject}{flag}", f"{t.status}, {t.priority}", None, "tickets", t.id
                )
            )
    if wanted("survey"):
        for r in session.scalars(
            select(SurveyResponse)
            .where(SurveyResponse.account_id == account_id, *window(SurveyResponse.responded_at))
            .order_by(SurveyResponse.responded_at.desc())
            .limit(limit)
        ):
            items.append(
                TimelineItem(
                    r.responded_at, "survey", f"{r.kind.upper()} {r.score}", r.comment, None, "survey_responses", r.id
                )
            )
    if wanted("voc"):
        for v in session.scalars(
            select(VocEntry)
            .where(VocEntry.account_id == account_id, *window(VocEntry.recorded_at))
            .order_by(VocEntry.recorded_at.desc())
            .limit(limit)
        ):
            items.append(TimelineItem(v.recorded_at, "voc", v.text[:120], v.channel, v.author, "voc_entries", v.id))
    if wanted("task"):
        for task in session.scalars(
            select(Task)
            .where(Task.account_id == account_id, *window(Task.created_at))
            .order_by(Task.created_at.desc())
            .limit(limit)
        ):
            items.append(
                TimelineItem(
                    task.created_at,
                    "task",
                    task.title,
                    f"{task.status}; {task.reason or ''}".strip("; "),
                    task.created_by,
                    "tasks",
                    task.id,
                )
            )
    if wanted("lifecycle"):
        for c in session.scalars(
            select(LifecycleChange)
            .where(LifecycleChange.account_id == account_id, *window(LifecycleChange.changed_at))
            .order_by(LifecycleChange.changed_at.desc())
            .limit(limit)
        ):
            items.append(
                TimelineItem(
                    c.changed_at,
                    "lifecycle",
                    f"{c.from_stage} -> {c.to_stage}",
                    c.reason,
                    c.actor,
                    "lifecycle_changes",
                    c.id,
                )
            )
    if wanted("message"):
        for m in session.scalars(
            select(OutboundMessage)
            .where(OutboundMessage.account_id == account_id, *window(OutboundMessage.created_at))
            .order_by(OutboundMessage.created_at.desc())
            .limit(limit)
        ):
            title = m.subject or f"webhook {m.recipient}"
            items.append(TimelineItem(m.created_at, "message", title, m.status, m.source, "outbound_messages", m.id))
    items.sort(key=lambda item: (item.at, item.source, item.source_id), reverse=True)
    return items[:limit]
