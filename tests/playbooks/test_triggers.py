"""Each trigger on real rows (SQLite and PostgreSQL): who fires, why, and with which fingerprint."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text
from sqlalchemy.orm import Session

from kizuna.playbooks import schemas as s
from kizuna.playbooks.triggers import evaluate_trigger
from tests.playbooks.scenario import NOW, TODAY, build


def _fired(session: Session, trigger: object, lang: str = "ja") -> dict[int, list[str]]:
    result = evaluate_trigger(session, trigger, now=NOW, language=lang)
    assert result.skipped is None, result.skipped
    out: dict[int, list[str]] = {}
    for signal in result.signals:
        out.setdefault(signal.account_id, []).append(signal.fingerprint)
    return out


def test_every_trigger_fires_for_its_account_only(session: Session) -> None:
    sc = build(session)
    acc = {label: a.id for label, a in sc.accounts.items()}
    cases = {
        "champion": s.ChampionLeft(type="champion_left"),
        "detractor": s.NpsDetractor(type="nps_detractor"),
        "csat": s.LowCsat(type="low_csat"),
        "escalated": s.TicketEscalated(type="ticket_escalated"),
        "busy": s.TooManyTickets(type="too_many_tickets", count=5, days=30),
        "unpaid": s.PaymentFailed(type="payment_failed"),
        "late": s.MilestoneOverdue(type="milestone_overdue", grace_days=3),
        "renewing": s.RenewalDue(type="renewal_due"),
        "fresh": s.AccountCreated(type="account_created"),
        "stage": s.LifecycleChanged.model_validate({"type": "lifecycle_changed", "to": ["at_risk"]}),
        "silent": s.SilentCustomer(type="silent_customer", days=60),
        "healthred": s.HealthRed(type="health_red"),
        "healthdrop": s.HealthDrop(type="health_drop", points=20, days=30),
        "risky": s.ChurnRisk(type="churn_risk", threshold=0.6),
        "usage": s.UsageDrop(type="usage_drop", percent=30, days=28),
        "seats": s.SeatUtilisation(type="seat_utilisation", at_least=0.9),
    }
    for label, trigger in cases.items():
        fired = _fired(session, trigger)
        assert set(fired) == {acc[label]}, (label, fired)
    assert _fired(session, cases["renewing"])[acc["renewing"]][0].endswith(":90")  # 85 days left: the 90-day window


def test_event_triggers_look_back_only_within_days(session: Session) -> None:
    sc = build(session, snapshots=False)
    session.execute(
        text("UPDATE tickets SET opened_at = :t WHERE escalated = :y"),
        {
            "t": (NOW - dt.timedelta(days=30)).replace(tzinfo=None)
            if session.get_bind().dialect.name == "sqlite"
            else NOW - dt.timedelta(days=30),
            "y": True,
        },
    )
    assert _fired(session, s.TicketEscalated(type="ticket_escalated", within_days=7)) == {}
    assert set(_fired(session, s.TicketEscalated(type="ticket_escalated", within_days=60))) == {
        sc.accounts["escalated"].id
    }


def test_snapshot_triggers_are_skipped_with_a_reason_while_there_is_no_data(session: Session) -> None:
    build(session, snapshots=False)
    assert evaluate_trigger(session, s.HealthRed(type="health_red"), now=NOW).signals == []
    result = evaluate_trigger(session, s.SeatUtilisation(type="seat_utilisation"), now=NOW)
    assert result.signals == [] and "no overall health scores yet" in (result.skipped or "")


def test_account_metrics_take_precedence_over_health_measures(session: Session) -> None:
    from kizuna.kpis.models import AccountMetrics

    sc = build(session)
    for label, seats, trend in (("healthred", 0.97, 0.0), ("usage", 0.5, -0.6), ("seats", 0.5, -0.2)):
        session.add(
            AccountMetrics(account_id=sc.accounts[label].id, as_of=TODAY, seat_utilisation=seats, usage_trend=trend)
        )
    session.flush()
    # account_metrics holds only the latest row per account: no crossing can be seen, so it fires once a month
    assert _fired(session, s.SeatUtilisation(type="seat_utilisation")) == {
        sc.accounts["healthred"].id: [f"seats:{TODAY:%Y-%m}"]
    }
    fired = _fired(session, s.UsageDrop(type="usage_drop", percent=50))
    assert fired == {sc.accounts["usage"].id: [f"usage-drop:usage_trend:{TODAY:%Y-%m}"]}


def test_reasons_are_written_in_the_chosen_language(session: Session) -> None:
    build(session, snapshots=False)
    [ja] = evaluate_trigger(session, s.PaymentFailed(type="payment_failed"), now=NOW, language="ja").signals
    [en] = evaluate_trigger(session, s.PaymentFailed(type="payment_failed"), now=NOW, language="en").signals
    assert "決済失敗" in ja.reason and "card_declined" in ja.reason
    assert en.reason.startswith("payment of 50,000 JPY failed")


def test_live_evaluation_and_actions_are_idempotent_on_both_backends(session: Session, settings) -> None:
    from sqlalchemy import func, select

    from kizuna import models as m
    from kizuna.playbooks.actions import execute_action
    from kizuna.playbooks.service import evaluate_playbook, import_library

    build(session)
    keys = [key for key, _ in import_library(session, actor="t")]
    first = [evaluate_playbook(session, key=key, now=NOW) for key in keys]
    second = [evaluate_playbook(session, key=key, now=NOW) for key in keys]
    assert all(r.jobs_queued > 0 for r in first), [r.summary() for r in first if not r.jobs_queued]
    assert sum(r.jobs_queued for r in second) == 0
    assert {o.outcome for r in second for o in r.outcomes} == {"already_acted"}
    jobs = session.scalars(select(m.PendingJob).where(m.PendingJob.run_after <= NOW)).all()
    results = [execute_action(session, job, settings=settings) for job in jobs]
    counts = [session.scalar(select(func.count()).select_from(t)) for t in (m.Task, m.OutboundMessage, m.Opportunity)]
    again = [execute_action(session, job, settings=settings) for job in jobs]  # as if a job ran twice
    assert [
        session.scalar(select(func.count()).select_from(t)) for t in (m.Task, m.OutboundMessage, m.Opportunity)
    ] == counts
    assert counts[0] == 13 and any("deduplicated" in r for r in again) and len(results) == len(jobs)


def test_conditions_see_segments_health_and_risk(session: Session) -> None:
    from kizuna import models as m
    from kizuna.segments.attributes import account_attributes, failed_condition
    from kizuna.segments.schemas import Condition

    sc = build(session)
    segment = m.Segment(
        key="enterprise", name="エンタープライズ", definition={"match": "all", "rules": []}, created_by="t"
    )
    session.add(segment)
    session.flush()
    risky = sc.accounts["risky"].id
    session.add(m.SegmentMembership(segment_id=segment.id, account_id=risky))
    session.flush()
    attrs = account_attributes(session, [risky, sc.accounts["healthred"].id], today=TODAY)
    assert attrs[risky]["segments"] == ["enterprise", "エンタープライズ"]
    assert attrs[risky]["risk.probability"] == 0.8 and attrs[risky]["health.overall.band"] == "green"
    assert attrs[risky]["plans"] == ["Pro"] and attrs[risky]["mrr_minor"] == 50_000
    conditions = [
        Condition.model_validate(c)
        for c in (
            {"field": "segment", "eq": "エンタープライズ"},
            {"field": "risk.probability", "gte": 0.5},
            {"field": "plan", "in": ["Pro", "Enterprise"]},
        )
    ]
    assert failed_condition(conditions, attrs[risky]) is None
    assert "segment eq" in (failed_condition(conditions, attrs[sc.accounts["healthred"].id]) or "")
