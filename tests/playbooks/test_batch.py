"""Jobs run as sets (kizuna.playbooks.batch) do what the same jobs do one by one, row for row."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import delete, select, update

from kizuna import models as m
from kizuna.playbooks.jobs import evaluate_enabled, process_jobs
from kizuna.playbooks.models import JobStatus
from kizuna.playbooks.service import LIBRARY_DIR, import_playbook, set_enabled
from kizuna.runtime import Runtime
from tests.playbooks.scenario import NOW, build

_IDS = re.compile(r"(task|message|opportunity) \d+")


def _wire(runtime: Runtime) -> dict[int, str | None]:
    """The scenario with the example library on; three accounts tech-touch (their tasks go to digests). Returns
    each account's lifecycle stage before any job ran."""
    with runtime.transaction() as session:
        scenario = build(session)
        for name in sorted(scenario.accounts)[:3]:
            scenario.accounts[name].touch_tier = "tech"
        for path in sorted(LIBRARY_DIR.glob("*.yaml")):
            text = path.read_text(encoding="utf-8").replace("http://127.0.0.1:9", "http://127.0.0.1:9/peer")
            playbook, _ = import_playbook(session, actor="test", yaml_text=text, source=path.name)
            set_enabled(session, actor="test", key=playbook.key, enabled=True)
        session.flush()
        return {a.id: a.lifecycle_stage for a in session.scalars(select(m.Account))}


def _effects(runtime: Runtime) -> dict[str, Any]:
    """What the jobs did, without row ids and times (the ids in a job's result replaced by a placeholder)."""
    with runtime.transaction() as session:
        tasks = session.execute(
            select(
                m.Task.account_id,
                m.Task.owner_id,
                m.Task.title,
                m.Task.reason,
                m.Task.priority,
                m.Task.status,
                m.Task.due_on,
                m.Task.stakes,
                m.Task.dedupe_key,
                m.Task.source,
                m.Task.created_by,
            ).order_by(m.Task.id)
        ).all()
        messages = session.execute(
            select(
                m.OutboundMessage.idempotency_key,
                m.OutboundMessage.channel,
                m.OutboundMessage.recipient,
                m.OutboundMessage.subject,
                m.OutboundMessage.body,
                m.OutboundMessage.payload,
                m.OutboundMessage.account_id,
                m.OutboundMessage.contact_id,
                m.OutboundMessage.source,
                m.OutboundMessage.status,
            ).order_by(m.OutboundMessage.id)
        ).all()
        opportunities = session.execute(
            select(
                m.Opportunity.external_id,
                m.Opportunity.account_id,
                m.Opportunity.owner_id,
                m.Opportunity.kind,
                m.Opportunity.stage,
                m.Opportunity.source,
                m.Opportunity.name,
                m.Opportunity.amount_minor,
                m.Opportunity.currency,
                m.Opportunity.close_date,
            ).order_by(m.Opportunity.id)
        ).all()
        changes = session.execute(
            select(m.LifecycleChange.account_id, m.LifecycleChange.from_stage, m.LifecycleChange.to_stage)
            .where(m.LifecycleChange.actor.like("playbook:%"))
            .order_by(m.LifecycleChange.id)
        ).all()
        audit = session.execute(
            select(m.AuditEntry.actor, m.AuditEntry.action, m.AuditEntry.entity, m.AuditEntry.before)
            .where(m.AuditEntry.actor.like("playbook:%"))
            .order_by(m.AuditEntry.id)
        ).all()
        audit_after = sorted(
            repr(after)
            for (after,) in session.execute(select(m.AuditEntry.after).where(m.AuditEntry.actor.like("playbook:%")))
        )
        jobs = session.execute(
            select(m.PendingJob.idempotency_key, m.PendingJob.status, m.PendingJob.result).order_by(m.PendingJob.id)
        ).all()
        stages = {int(i): s for i, s in session.execute(select(m.Account.id, m.Account.lifecycle_stage))}
    return {
        "tasks": [tuple(r) for r in tasks],
        "messages": [tuple(r) for r in messages],
        "opportunities": [tuple(r) for r in opportunities],
        "lifecycle_changes": [tuple(r) for r in changes],
        "audit": sorted(repr(tuple(r)) for r in audit),
        "audit_after": audit_after,
        "jobs": [(key, status, _IDS.sub(r"\1 #", result or "")) for key, status, result in jobs],
        "stages": stages,
    }


def _undo(runtime: Runtime, stages: dict[int, str | None]) -> None:
    """Everything the jobs did undone, and the jobs pending again."""
    with runtime.transaction() as session:
        session.execute(delete(m.OutboundMessage))
        session.execute(delete(m.Task))
        session.execute(delete(m.Opportunity).where(m.Opportunity.source.like("playbook:%")))
        session.execute(delete(m.LifecycleChange).where(m.LifecycleChange.actor.like("playbook:%")))
        session.execute(delete(m.AuditEntry).where(m.AuditEntry.actor.like("playbook:%")))
        for account_id, stage in stages.items():
            session.execute(update(m.Account).where(m.Account.id == account_id).values(lifecycle_stage=stage))
        session.execute(
            update(m.PendingJob).values(
                status=JobStatus.pending, attempts=0, result=None, done_at=None, lease_owner=None, lease_until=None
            )
        )


def test_jobs_run_as_sets_do_what_they_do_one_by_one(db_runtime: Runtime) -> None:
    stages = _wire(db_runtime)
    evaluate_enabled(db_runtime, now=NOW)
    one_by_one = process_jobs(db_runtime, now=NOW, before_commit=lambda _job: None)
    by_one = _effects(db_runtime)
    assert one_by_one.done > 20 and one_by_one.failed == 0
    kinds = {key.split(":")[0] for key, _status, _result in by_one["jobs"]}
    assert len(kinds) > 10  # most of the example library acted
    assert any("digest" in (r[9] or "") for r in by_one["tasks"])  # the tech-touch accounts' tasks went to a digest
    assert by_one["messages"] and by_one["opportunities"] and by_one["lifecycle_changes"]

    _undo(db_runtime, stages)
    as_sets = process_jobs(db_runtime, now=NOW)
    assert (as_sets.done, as_sets.failed, as_sets.retrying) == (one_by_one.done, 0, one_by_one.retrying)
    assert _effects(db_runtime) == by_one
    # and running them again does nothing: every job is done
    assert process_jobs(db_runtime, now=NOW).done == 0


def test_a_job_whose_action_fails_is_retried_alone_and_the_rest_of_its_set_is_done(db_runtime: Runtime) -> None:
    _wire(db_runtime)
    evaluate_enabled(db_runtime, now=NOW)
    with db_runtime.transaction() as session:
        contact = session.scalars(
            select(m.Contact).where(m.Contact.is_active.is_(True), m.Contact.email.is_not(None)).order_by(m.Contact.id)
        ).first()
        assert contact is not None
        contact.email = "not-an-address"  # queue_email refuses it: that job fails, as it would one by one
        account_id = contact.account_id
    report = process_jobs(db_runtime, now=NOW)
    with db_runtime.transaction() as session:
        failing = session.execute(
            select(m.PendingJob.status, m.PendingJob.last_error, m.PendingJob.payload).where(
                m.PendingJob.account_id == account_id, m.PendingJob.status != JobStatus.done
            )
        ).all()
        done = session.scalar(
            select(m.PendingJob.id).where(m.PendingJob.status == JobStatus.done).limit(1)
        )  # the others of the set
    emailed = [row for row in failing if row.payload["action"]["type"] == "send_email"]
    assert emailed and all(
        row.status == JobStatus.pending and "not an email address" in (row.last_error or "") for row in emailed
    )
    assert report.retrying == len(failing) and report.done > 20 and done is not None
