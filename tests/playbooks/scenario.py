"""A small customer base on which every example playbook's trigger fires, including the snapshot triggers
(health, risk, metrics tables are created here the way the health/risk/KPI domains are expected to write them)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from kizuna import models as m
from tests import factories

NOW = dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC)
TODAY = NOW.date()


@dataclass
class Scenario:
    csm: m.TeamMember
    accounts: dict[str, m.Account]


def _health(account_id: int, day: dt.date, score: float, band: str, **measures: float) -> m.HealthScore:
    contributions = [
        {"measure": k, "value": v, "points": 50.0, "weight": 10, "effective_weight": 0.1, "contribution": 5.0}
        for k, v in measures.items()
    ]
    return m.HealthScore(
        account_id=account_id,
        scorecard="overall",
        scorecard_version=1,
        as_of=day,
        computed_score=score,
        computed_band=band,
        score=score,
        band=band,
        known_weight=1.0,
        missing=[],
        contributions=contributions,
    )


def write_snapshots(session: Session, accounts: dict[str, m.Account]) -> None:
    """Two refreshes' worth of health and risk scores, as the health and risk domains store them."""
    before, today = TODAY - dt.timedelta(days=35), TODAY
    usual = {"seat_utilisation": 0.6, "usage_trend": 0.0}
    for label, account in accounts.items():
        if label == "fresh":
            continue
        previous = {"healthred": (45, "yellow"), "healthdrop": (90, "green")}.get(label, (75, "green"))
        current = {"healthred": (35, "red"), "healthdrop": (60, "yellow")}.get(label, (75, "green"))
        now_measures = {
            **usual,
            **{"usage": {"usage_trend": -0.45}, "seats": {"seat_utilisation": 0.95}}.get(label, {}),
        }
        session.add(_health(account.id, before, *previous, **usual))
        session.add(_health(account.id, today, *current, **now_measures))
    model = m.RiskModel(
        file_name="risk.joblib",
        data_as_of=before,
        horizon_days=90,
        train_start=before,
        train_end=before,
        n_samples=100,
        base_rate=0.1,
        features=[],
        params={},
        metrics={},
        trained_by="test",
    )
    session.add(model)
    session.flush()
    for label, account in accounts.items():
        for day, p in ((before, 0.2), (today, 0.8 if label == "risky" else 0.2)):
            session.add(
                m.RiskScore(
                    account_id=account.id,
                    model_id=model.id,
                    as_of=day,
                    probability=p,
                    band="high" if p > 0.5 else "low",
                    drivers=[],
                )
            )
    session.flush()


def build(session: Session, *, snapshots: bool = True) -> Scenario:
    csm = factories.team_member(session, name="鈴木 CSM")
    plan = factories.plan(session)
    old = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    accounts: dict[str, m.Account] = {}

    def customer(label: str, **kw: object) -> m.Account:
        account = factories.account(
            session,
            name=f"株式会社{label}",
            owner_id=csm.id,
            created_at=old,
            lifecycle_stage=kw.pop("lifecycle_stage", "adoption"),
            touch_tier="high",
            **kw,
        )
        factories.contact(
            session,
            account,
            name=f"{label} 推進役",
            is_champion=True,
            role="decision_maker",
            email=f"champion@{label}.example.jp",
        )
        factories.contact(
            session, account, name=f"{label} 管理者", role="admin", email=f"admin@{label}.example.jp", language="en"
        )
        factories.subscription(
            session, account, plan, start_date=dt.date(2025, 1, 1), renewal_date=TODAY + dt.timedelta(days=400)
        )
        accounts[label] = account
        return account

    a = customer("champion")
    factories.contact(
        session, a, name="旧推進役", is_champion=True, is_active=False, deactivated_at=NOW - dt.timedelta(days=2)
    )
    a = customer("detractor")
    session.add(
        m.SurveyResponse(
            external_id="sr-1",
            account_id=a.id,
            kind="nps",
            score=3,
            comment="遅い",
            responded_at=NOW - dt.timedelta(days=1),
        )
    )
    a = customer("csat")
    session.add(
        m.SurveyResponse(
            external_id="sr-2", account_id=a.id, kind="csat", score=1, responded_at=NOW - dt.timedelta(days=1)
        )
    )
    a = customer("escalated")
    session.add(
        m.Ticket(
            external_id="t-esc",
            account_id=a.id,
            subject="ログインできない",
            escalated=True,
            opened_at=NOW - dt.timedelta(days=1),
        )
    )
    a = customer("busy")
    for i in range(5):
        session.add(
            m.Ticket(
                external_id=f"t-busy-{i}", account_id=a.id, subject=f"質問{i}", opened_at=NOW - dt.timedelta(days=i + 1)
            )
        )
    a = customer("unpaid")
    invoice = m.Invoice(external_id="inv-1", account_id=a.id, issued_on=TODAY, amount_minor=50_000)
    session.add(invoice)
    session.flush()
    session.add(
        m.Payment(
            external_id="pay-1",
            invoice_id=invoice.id,
            account_id=a.id,
            status="failed",
            attempted_at=NOW - dt.timedelta(days=1),
            amount_minor=50_000,
            failure_reason="card_declined",
        )
    )
    a = customer("late", lifecycle_stage="onboarding")
    session.add(
        m.OnboardingMilestone(external_id="ms-1", account_id=a.id, kind="kickoff", due_on=TODAY - dt.timedelta(days=10))
    )
    a = customer("renewing")
    session.execute(
        text("UPDATE subscriptions SET renewal_date = :d, term_months = 12 WHERE account_id = :a"),
        {"d": TODAY + dt.timedelta(days=85), "a": a.id},
    )
    customer("silent")  # no touch at all since 2025
    fresh = factories.account(session, name="株式会社新規", owner_id=csm.id, created_at=NOW - dt.timedelta(days=1))
    factories.contact(session, fresh, name="新規 担当", email="new@fresh.example.jp")
    accounts["fresh"] = fresh
    a = customer("stage")
    session.add(
        m.LifecycleChange(
            account_id=a.id,
            from_stage="adoption",
            to_stage="at_risk",
            changed_at=NOW - dt.timedelta(days=1),
            actor="csm",
        )
    )
    for label in ("healthred", "healthdrop", "risky", "usage", "seats"):
        customer(label)
    session.flush()
    if snapshots:
        write_snapshots(session, accounts)
    # everyone but 'silent' has been in touch recently, so only 'silent' is silent
    for label, account in accounts.items():
        if label != "silent":
            session.add(
                m.VocEntry(
                    external_id=f"voc-{label}",
                    account_id=account.id,
                    channel="web_inquiry",
                    text="要望です",
                    recorded_at=NOW - dt.timedelta(days=3),
                )
            )
    session.execute(text("UPDATE accounts SET lifecycle_stage = 'adoption' WHERE id = :a"), {"a": accounts["seats"].id})
    session.flush()
    return Scenario(csm=csm, accounts=accounts)
