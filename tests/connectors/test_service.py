"""The run log, received events and cursors, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kizuna.audit.models import AuditEntry
from kizuna.connectors import service
from kizuna.connectors.models import ConnectorRun, ReceivedEvent, RunStatus


def test_an_event_acts_once_however_often_it_is_delivered(session: Session) -> None:
    at = dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC)
    first = service.receive_once(session, vendor="stripe", event_id="evt_1", event_type="invoice.paid", occurred_at=at)
    again = service.receive_once(session, vendor="stripe", event_id="evt_1", event_type="invoice.paid", occurred_at=at)
    other_vendor = service.receive_once(
        session, vendor="chargebee", event_id="evt_1", event_type="invoice_generated", occurred_at=None
    )
    assert (first, again, other_vendor) == (True, False, True)
    assert session.scalar(select(func.count()).select_from(ReceivedEvent)) == 2


def test_a_rolled_back_effect_lets_the_retry_act(session: Session) -> None:
    savepoint = session.begin_nested()
    assert service.receive_once(session, vendor="stripe", event_id="evt_2", event_type="x", occurred_at=None)
    savepoint.rollback()  # the event's effect failed: the vendor will deliver it again
    assert service.receive_once(session, vendor="stripe", event_id="evt_2", event_type="x", occurred_at=None)


def test_a_run_keeps_its_counts_and_rejects_and_is_audited(session: Session) -> None:
    run = service.start_run(session, vendor="hubspot", kind="pull")
    log = service.RunLog()
    log.count("created", 3)
    log.count("updated")
    log.reject("company 42", "annualrevenue", "abc", "not a number")
    service.finish_run(session, run, log, actor="cli")
    assert run.status == RunStatus.partial
    assert run.counts == {"created": 3, "updated": 1, "rejected": 1}
    assert run.rejects == [{"record": "company 42", "field": "annualrevenue", "value": "abc", "reason": "not a number"}]
    audit = session.scalars(select(AuditEntry).where(AuditEntry.entity == "connector_run")).one()
    assert audit.action == "sync" and audit.after is not None and audit.after["vendor"] == "hubspot"

    failed = service.start_run(session, vendor="hubspot", kind="pull")
    service.finish_run(session, failed, service.RunLog(), actor="cli", error="HTTP 503 after 5 tries")
    assert failed.status == RunStatus.failed
    [row] = service.status(session, configured=["hubspot", "stripe"])[:1]
    assert row.vendor == "hubspot" and row.runs == 2 and row.last_run is not None


def test_rejects_kept_are_bounded_but_counted(session: Session) -> None:
    log = service.RunLog()
    for i in range(service.REJECTS_KEPT + 50):
        log.reject(f"deal {i}", "amount", "x" * 500, "not a number")
    assert log.counts["rejected"] == service.REJECTS_KEPT + 50
    assert len(log.rejects) == service.REJECTS_KEPT and len(log.rejects[0]["value"]) == 200


def test_a_cursor_resumes_where_it_was_saved(session: Session) -> None:
    assert service.cursor(session, vendor="salesforce", stream="Account") is None
    service.save_cursor(session, vendor="salesforce", stream="Account", position="2026-12-01T00:00:00Z")
    service.save_cursor(session, vendor="salesforce", stream="Account", position="2026-12-02T00:00:00Z")
    assert service.cursor(session, vendor="salesforce", stream="Account") == "2026-12-02T00:00:00Z"
    assert service.cursor(session, vendor="salesforce", stream="Contact") is None


def test_old_sync_runs_go_but_each_vendors_newest_of_each_kind(session: Session) -> None:
    """A connected vendor is pulled every few minutes, each pull a run: past retention they are deleted, except each
    vendor's newest run of each kind (the scheduler reads when it last pulled); their audit rows stay."""
    now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    ages = {("hubspot", "pull"): [200, 120, 100], ("hubspot", "backfill"): [300], ("stripe", "pull"): [150, 5]}
    for (vendor, kind), days in ages.items():
        for age in days:
            run = service.start_run(session, vendor=vendor, kind=kind)
            run.started_at = now - dt.timedelta(days=age)
            service.finish_run(session, run, service.RunLog(), actor="test")
    running = service.start_run(session, vendor="stripe", kind="webhook")
    running.started_at = now - dt.timedelta(days=365)  # still running: never deleted
    session.flush()
    audit = session.scalar(select(func.count()).select_from(AuditEntry))

    assert service.delete_old_runs(session, before=now - dt.timedelta(days=90), limit=2) == 2
    assert service.delete_old_runs(session, before=now - dt.timedelta(days=90)) == 1
    assert service.delete_old_runs(session, before=now - dt.timedelta(days=90)) == 0

    left = session.execute(select(ConnectorRun.vendor, ConnectorRun.kind, ConnectorRun.started_at)).all()
    assert sorted((v, k, (now - at).days) for v, k, at in left) == [
        ("hubspot", "backfill", 300),
        ("hubspot", "pull", 100),
        ("stripe", "pull", 5),
        ("stripe", "webhook", 365),
    ]
    assert session.scalar(select(func.count()).select_from(AuditEntry)) == audit
