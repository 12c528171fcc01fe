"""A small customer base on which every example playbook's trigger fires, including the snapshot triggers
(health, risk, metrics tables are created here the way the health/risk/KPI domains are expected to write them)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from kizuna import models as m
from tests import factories

HEALTH_ROW = "INSERT INTO health_scores (account_id, scorecard, as_of, score, color) VALUES (:a, 'overall', :d, :s, :c)"
NOW = dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC)
TODAY = NOW.date()


@dataclass
class Scenario:
    csm: m.TeamMember
    accounts: dict[str, m.Account]


def create_snapshot_tables(session: Session) -> None:
    pk = "SERIAL PRIMARY KEY" if session.get_bind().dialect.name == "postgresql" else "INTEGER PRIMARY KEY"
    session.execute(
        text(
            f"CREATE TABLE IF NOT EXISTS health_scores (id {pk}, account_id INTEGER, "
            "scorecard VARCHAR(50), as_of DATE, score FLOAT, color VARCHAR(10))"
        )
    )
    session.execute(
        text(f"CREATE TABLE IF NOT EXISTS risk_scores (id {pk}, account_id INTEGER, as_of DATE, probability FLOAT)")
    )
    session.execute(
        text(
            f"CREATE TABLE IF NOT EXISTS account_metrics (id {pk}, account_id INTEGER, "
            "as_of DATE, active_users FLOAT, seat_utilisation FLOAT)"
        )
    )


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
        text("UPDATE subscriptions SET renewal_date = :d WHERE account_id = :a"),
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
        create_snapshot_tables(session)
        before, today = TODAY - dt.timedelta(days=35), TODAY

        def put(sql: str, **params: object) -> None:
            session.execute(text(sql), params)

        for label, (s0, c0, s1, c1) in {
            "healthred": (45, "yellow", 35, "red"),
            "healthdrop": (90, "green", 60, "yellow"),
        }.items():
            aid = accounts[label].id
            put(
                HEALTH_ROW,
                a=aid,
                d=before,
                s=s0,
                c=c0,
            )
            put(
                HEALTH_ROW,
                a=aid,
                d=today,
                s=s1,
                c=c1,
            )
        put(
            "INSERT INTO risk_scores (account_id, as_of, probability) VALUES (:a, :d, 0.2)",
            a=accounts["risky"].id,
            d=before,
        )
        put(
            "INSERT INTO risk_scores (account_id, as_of, probability) VALUES (:a, :d, 0.8)",
            a=accounts["risky"].id,
            d=today,
        )
        for label, (u0, u1, s0, s1) in {"usage": (100, 40, 0.5, 0.4), "seats": (50, 55, 0.7, 0.95)}.items():
            for day, users, seats in ((before, u0, s0), (today, u1, s1)):
                put(
                    "INSERT INTO account_metrics (account_id, as_of, active_users, seat_utilisation) "
                    "VALUES (:a, :d, :u, :s)",
                    a=accounts[label].id,
                    d=day,
                    u=users,
                    s=seats,
                )
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
