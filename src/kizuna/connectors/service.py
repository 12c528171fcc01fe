"""The run log, received events and cursors every connector writes through. Functions flush, never commit."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from kizuna.audit.service import record_audit
from kizuna.connectors.models import ConnectorRun, ReceivedEvent, RunStatus, SyncCursor
from kizuna.db import utcnow
from kizuna.platform.outbox.models import OutboundMessage

#: rejects kept in full per run; the count says how many there were in all
REJECTS_KEPT = 200


@dataclass
class RunLog:
    """What one run did, gathered while it runs and written by :func:`finish_run`."""

    counts: dict[str, int] = field(default_factory=dict)
    rejects: list[dict[str, Any]] = field(default_factory=list)

    def count(self, what: str, n: int = 1) -> None:
        self.counts[what] = self.counts.get(what, 0) + n

    def reject(self, record: str, field_name: str | None, value: object, reason: str) -> None:
        """A vendor record that could not become a hub row: which record, which field, the value and why."""
        self.count("rejected")
        if len(self.rejects) < REJECTS_KEPT:
            shown = None if value is None else str(value)[:200]
            self.rejects.append({"record": record, "field": field_name, "value": shown, "reason": reason})


def start_run(session: Session, *, vendor: str, kind: str) -> ConnectorRun:
    run = ConnectorRun(vendor=vendor, kind=kind, status=RunStatus.running, counts={}, rejects=[])
    session.add(run)
    session.flush()
    return run


def finish_run(
    session: Session, run: ConnectorRun, log: RunLog, *, actor: str, error: str | None = None
) -> ConnectorRun:
    """Close ``run`` with its counts and rejects (and ``error`` when it failed), and write its audit row."""
    run.finished_at = utcnow()
    run.counts = dict(log.counts)
    run.rejects = list(log.rejects)
    run.error = error
    if error is not None:
        run.status = RunStatus.failed
    else:
        run.status = RunStatus.partial if log.counts.get("rejected") else RunStatus.succeeded
    record_audit(
        session,
        actor=actor,
        action="sync",
        entity="connector_run",
        entity_id=run.id,
        after={"vendor": run.vendor, "kind": run.kind, "status": run.status, "counts": run.counts},
    )
    session.flush()
    return run


def delete_old_runs(session: Session, *, before: dt.datetime, limit: int = 500) -> int:
    """Delete up to ``limit`` finished runs started before ``before``; returns how many. Each vendor's newest run of
    each kind stays (the scheduler reads when a vendor was last pulled from it). The run log grows by a run per pull,
    every few minutes while a connector is connected; its audit rows are kept."""
    newest = select(func.max(ConnectorRun.id)).group_by(ConnectorRun.vendor, ConnectorRun.kind)
    old = list(
        session.scalars(
            select(ConnectorRun.id)
            .where(
                ConnectorRun.started_at < before,
                ConnectorRun.status != RunStatus.running,
                ConnectorRun.id.not_in(newest),
            )
            .limit(limit)
        )
    )
    if old:
        session.execute(delete(ConnectorRun).where(ConnectorRun.id.in_(old)))
    return len(old)


def record_webhooks(session: Session, *, vendor: str, log: RunLog) -> ConnectorRun:
    """Add one webhook delivery's counts and rejects to ``vendor``'s webhook run of the current UTC hour (one run row
    an hour, not one per event, so that the run log stays readable); in the delivery's own transaction."""
    now = utcnow()
    hour = now.replace(minute=0, second=0, microsecond=0)
    run = session.scalar(
        select(ConnectorRun)
        .where(ConnectorRun.vendor == vendor, ConnectorRun.kind == "webhook", ConnectorRun.started_at >= hour)
        .order_by(ConnectorRun.id.desc())
        .limit(1)
        .with_for_update()
    )
    if run is None:
        run = ConnectorRun(vendor=vendor, kind="webhook", started_at=now, counts={}, rejects=[])
        session.add(run)
    counts = dict(run.counts or {})
    for what, n in log.counts.items():
        counts[what] = counts.get(what, 0) + n
    run.counts = counts
    run.rejects = [*(run.rejects or []), *log.rejects][:REJECTS_KEPT]
    run.finished_at = now
    run.status = RunStatus.partial if counts.get("rejected") else RunStatus.succeeded
    session.flush()
    return run


def receive_once(
    session: Session, *, vendor: str, event_id: str, event_type: str, occurred_at: dt.datetime | None
) -> bool:
    """Record that ``vendor``'s event ``event_id`` is being acted on; False when it was already (a redelivery).

    Call it in the same transaction as the event's effect: if the effect rolls back, so does the record, and the
    vendor's retry acts again; if it commits, every later delivery of the same event is ignored."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = (
        insert(ReceivedEvent)
        .values(vendor=vendor, event_id=event_id, event_type=event_type, occurred_at=occurred_at, received_at=utcnow())
        .on_conflict_do_nothing(index_elements=["vendor", "event_id"])
        .returning(ReceivedEvent.id)
    )
    return session.execute(stmt).first() is not None


def cursor(session: Session, *, vendor: str, stream: str) -> str | None:
    """Where ``vendor``'s ``stream`` resumes (None: from the beginning)."""
    return session.scalar(select(SyncCursor.position).where(SyncCursor.vendor == vendor, SyncCursor.stream == stream))


def save_cursor(session: Session, *, vendor: str, stream: str, position: str | None) -> None:
    """Move ``vendor``'s ``stream`` cursor; in the same transaction as the rows read up to it."""
    row = session.scalar(select(SyncCursor).where(SyncCursor.vendor == vendor, SyncCursor.stream == stream))
    if row is None:
        session.add(SyncCursor(vendor=vendor, stream=stream, position=position))
    else:
        row.position = position
    session.flush()


@dataclass(frozen=True)
class ConnectorStatus:
    """One vendor on the status page."""

    vendor: str
    configured: bool
    last_run: ConnectorRun | None
    runs: int
    events: int
    last_event_at: dt.datetime | None


#: the systems kizuna connects to, each set up by ``kizuna connect <vendor>`` (a quick start each: docs/connectors.md)
VENDORS = ("stripe", "chargebee", "hubspot", "salesforce", "slack", "teams", "mail")


def status(session: Session, *, configured: list[str]) -> list[ConnectorStatus]:
    """Every vendor that is configured or has run: its last run, number of runs and of events received."""
    per_vendor = select(ConnectorRun.vendor, func.count()).group_by(ConnectorRun.vendor)
    runs: dict[str, int] = {vendor: n for vendor, n in session.execute(per_vendor)}
    events = {
        vendor: (n, last)
        for vendor, n, last in session.execute(
            select(ReceivedEvent.vendor, func.count(), func.max(ReceivedEvent.received_at)).group_by(
                ReceivedEvent.vendor
            )
        )
    }
    vendors = sorted(set(configured) | set(runs) | set(events))
    out = []
    for vendor in vendors:
        last = session.scalar(
            select(ConnectorRun)
            .where(ConnectorRun.vendor == vendor)
            .order_by(ConnectorRun.started_at.desc(), ConnectorRun.id.desc())
            .limit(1)
        )
        n_events, last_event = events.get(vendor, (0, None))
        out.append(
            ConnectorStatus(
                vendor=vendor,
                configured=vendor in configured,
                last_run=last,
                runs=runs.get(vendor, 0),
                events=n_events,
                last_event_at=last_event,
            )
        )
    return out


def recent_runs(session: Session, *, vendor: str, limit: int = 50) -> list[ConnectorRun]:
    return list(
        session.scalars(
            select(ConnectorRun)
            .where(ConnectorRun.vendor == vendor)
            .order_by(ConnectorRun.started_at.desc(), ConnectorRun.id.desc())
            .limit(limit)
        )
    )


#: the connectors that send through the outbox (their channel there is the vendor's name)
MESSAGE_VENDORS = ("slack", "teams")


@dataclass(frozen=True)
class Deliveries:
    """A chat connector's messages in the outbox: how many per status, the last one sent and the last error."""

    counts: dict[str, int]
    last_sent_at: dt.datetime | None
    last_error: str | None


def deliveries(session: Session, *, vendor: str) -> Deliveries | None:
    """``vendor``'s outbox messages (None for a connector that sends none)."""
    if vendor not in MESSAGE_VENDORS:
        return None
    counts = {
        str(status): n
        for status, n in session.execute(
            select(OutboundMessage.status, func.count())
            .where(OutboundMessage.channel == vendor)
            .group_by(OutboundMessage.status)
        )
    }
    last_sent = session.scalar(select(func.max(OutboundMessage.sent_at)).where(OutboundMessage.channel == vendor))
    last_error = session.scalar(
        select(OutboundMessage.last_error)
        .where(OutboundMessage.channel == vendor, OutboundMessage.last_error.is_not(None))
        .order_by(OutboundMessage.next_attempt_at.desc(), OutboundMessage.id.desc())
        .limit(1)
    )
    return Deliveries(counts=counts, last_sent_at=last_sent, last_error=last_error)
