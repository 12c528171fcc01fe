"""Segments with membership history, RFM segments, touch tiers, books of business and assignment."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kizuna import models as m
from kizuna.errors import Conflict, InvalidInput, NotFound
from kizuna.segments import service
from tests import factories

TODAY = dt.date(2026, 6, 15)


def _paying(session: Session, mrr: int, **kw: object) -> m.Account:
    account = factories.account(session, **kw)
    factories.subscription(session, account, factories.plan(session), mrr_minor=mrr)
    return account


def test_rule_segment_membership_history(session: Session) -> None:
    big = _paying(session, 400_000, region="関西")
    small = _paying(session, 20_000, region="関西")
    elsewhere = _paying(session, 500_000, region="九州")
    service.create_segment(
        session,
        actor="test",
        key="kansai-big",
        name="関西の大口",
        definition={"rules": [{"field": "region", "eq": "関西"}, {"field": "arr_minor", "gte": 1_000_000}]},
    )
    first = service.evaluate_segments(session, actor="test", today=TODAY, keys=["kansai-big"])
    assert (first.segments[0].members, first.segments[0].joined) == (1, 1)
    assert [r["account_id"] for r in service.segment_members(session, key="kansai-big")] == [big.id]

    again = service.evaluate_segments(session, actor="test", today=TODAY, keys=["kansai-big"])
    assert (again.segments[0].joined, again.segments[0].left) == (0, 0)  # nothing changes the second time

    held = service.membership_history(session, key="kansai-big")  # objects the session holds while they end
    big.region = "九州"
    small.region = "関西"
    session.flush()
    later = dt.datetime(2026, 6, 16, tzinfo=dt.UTC)
    moved = service.evaluate_segments(session, actor="test", today=TODAY, keys=["kansai-big"], now=later)
    assert (moved.segments[0].members, moved.segments[0].left) == (0, 1)
    assert [(h.account_id, h.left_at) for h in held] == [(big.id, later)]
    history = service.membership_history(session, key="kansai-big")
    assert [(h.account_id, h.left_at) for h in history] == [(big.id, later)]
    assert service.account_segments(session, account_id=elsewhere.id) == []


def test_any_match_and_segment_in_playbook_conditions(session: Session) -> None:
    from kizuna.segments.attributes import account_attributes

    a = _paying(session, 10_000, industry="小売")
    b = _paying(session, 10_000, industry="物流")
    _paying(session, 10_000, industry="製造")
    service.create_segment(
        session,
        actor="test",
        key="retail-or-logistics",
        name="小売・物流",
        definition={
            "match": "any",
            "rules": [{"field": "industry", "eq": "小売"}, {"field": "industry", "eq": "物流"}],
        },
    )
    service.evaluate_segments(session, actor="test", today=TODAY)
    members = {r["account_id"] for r in service.segment_members(session, key="retail-or-logistics")}
    assert members == {a.id, b.id}
    # playbooks see the membership through their adapter (``segment`` condition)
    assert set(account_attributes(session, [a.id], today=TODAY)[a.id]["segments"]) == {
        "retail-or-logistics",
        "小売・物流",
    }


def test_bad_definitions_are_refused(session: Session) -> None:
    with pytest.raises(InvalidInput, match="rules or an rfm_segment"):
        service.create_segment(session, actor="t", key="empty", name="x", definition={"rules": []})
    with pytest.raises(InvalidInput, match="exactly one operator"):
        service.create_segment(
            session,
            actor="t",
            key="two-ops",
            name="x",
            definition={"rules": [{"field": "region", "eq": "a", "ne": "b"}]},
        )
    with pytest.raises(InvalidInput, match="segment key"):
        service.create_segment(session, actor="t", key="Bad Key", name="x", definition={"rfm_segment": "lost"})
    service.create_segment(session, actor="t", key="lost", name="x", definition={"rfm_segment": "lost"})
    with pytest.raises(Conflict):
        service.create_segment(session, actor="t", key="lost", name="x", definition={"rfm_segment": "lost"})
    with pytest.raises(NotFound):
        service.evaluate_segments(session, actor="t", today=TODAY, keys=["nope"])


def _payments(session: Session, account: m.Account, months: list[dt.date], amount: int) -> None:
    for i, day in enumerate(months):
        invoice = m.Invoice(
            external_id=f"INV-{account.id}-{i}",
            account_id=account.id,
            issued_on=day,
            amount_minor=amount,
            status="paid",
        )
        session.add(invoice)
        session.flush()
        session.add(
            m.Payment(
                external_id=f"PAY-{account.id}-{i}",
                invoice_id=invoice.id,
                account_id=account.id,
                attempted_at=dt.datetime(day.year, day.month, day.day, 3, tzinfo=dt.UTC),
                amount_minor=amount,
                status="succeeded",
            )
        )
    session.flush()


def test_rfm_segments_from_payments(session: Session) -> None:
    loyal = factories.account(session)
    gone = factories.account(session)
    _payments(
        session,
        loyal,
        [dt.date(2025, mo, 1) for mo in range(7, 13)] + [dt.date(2026, mo, 1) for mo in range(1, 7)],
        50_000,
    )
    _payments(session, gone, [dt.date(2025, 6, 1), dt.date(2025, 7, 1)], 10_000)
    rfm = service.rfm_by_account(session, today=TODAY)
    assert rfm[loyal.id]["rfm.r_score"] > rfm[gone.id]["rfm.r_score"]
    assert rfm[loyal.id]["rfm.f_score"] > rfm[gone.id]["rfm.f_score"]
    made = service.ensure_rfm_segments(session, actor="test")
    assert len(made) == 11 and service.ensure_rfm_segments(session, actor="test") == []
    service.evaluate_segments(session, actor="test", today=TODAY)
    in_loyal = service.account_segments(session, account_id=loyal.id)
    in_gone = service.account_segments(session, account_id=gone.id)
    assert len(in_loyal) == 1 and len(in_gone) == 1 and in_loyal != in_gone
    assert in_loyal[0] == f"rfm-{rfm[loyal.id]['rfm.segment'].replace(' ', '-')}"


def test_tiers_from_acv_with_history(session: Session) -> None:
    high = _paying(session, 300_000, touch_tier="low")  # ACV 3.6M
    low = _paying(session, 60_000)  # ACV 720k
    tech = _paying(session, 10_000, touch_tier="tech")  # ACV 120k
    report = service.apply_tiers(session, actor="test", today=TODAY)
    assert (high.touch_tier, low.touch_tier, tech.touch_tier) == ("high", "low", "tech")
    assert report.changed == 2
    assert service.apply_tiers(session, actor="test", today=TODAY).changed == 0
    service.set_tier_policy(session, actor="test", high_touch_min_acv_minor=5_000_000, low_touch_min_acv_minor=100_000)
    service.apply_tiers(session, actor="test", today=TODAY)
    assert (high.touch_tier, low.touch_tier, tech.touch_tier) == ("low", "low", "low")
    history = service.tier_history(session, account_id=high.id)
    assert [(h.from_tier, h.to_tier, h.acv_minor) for h in history] == [
        ("low", "high", 3_600_000),
        ("high", "low", 3_600_000),
    ]
    with pytest.raises(InvalidInput):
        service.set_tier_policy(session, actor="test", high_touch_min_acv_minor=1, low_touch_min_acv_minor=2)


def test_books_of_business_and_coverage(session: Session) -> None:
    # capacity per tier, not one number for all: 2 high-touch accounts load a CSM as much as 8 low-touch ones
    assert service.set_tier_capacities(session, actor="test", capacities={"high": 2, "low": 8}) == {
        "high": 2,
        "low": 8,
        "tech": service.DEFAULT_TIER_CAPACITY["tech"],
    }
    busy = factories.team_member(session, name="忙しい", capacity_accounts=1000)  # the own figure no longer rules
    idle = factories.team_member(session, name="暇", capacity_arr_minor=10_000_000)
    factories.team_member(session, name="営業", role="field_sales")
    for _ in range(3):
        _paying(session, 100_000, owner_id=busy.id, touch_tier="high")
    _paying(session, 100_000, owner_id=busy.id, lifecycle_stage="churned")  # churned: not in the book
    _paying(session, 100_000, owner_id=idle.id, touch_tier="low", lifecycle_stage="at_risk")
    _paying(session, 50_000, owner_id=idle.id, touch_tier="tech")
    books = {b.owner_name: b for b in service.books_of_business(session, today=TODAY)}
    assert set(books) == {"忙しい", "暇"}
    assert (books["忙しい"].accounts, books["忙しい"].arr_minor, books["忙しい"].at_risk) == (3, 3_600_000, 0)
    assert books["忙しい"].load == pytest.approx(1.5) and books["忙しい"].coverage == "over"
    assert books["忙しい"].by_tier == {"high": 3}
    assert books["暇"].at_risk == 1
    tech = service.DEFAULT_TIER_CAPACITY["tech"]
    assert books["暇"].account_load == pytest.approx(1 / 8 + 1 / tech)
    assert books["暇"].load == pytest.approx(max(1 / 8 + 1 / tech, 1_800_000 / 10_000_000))
    assert books["暇"].coverage == "under"
    tiers = {t.tier: t for t in service.coverage_by_tier(session, today=TODAY)}
    assert (tiers["high"].accounts, tiers["high"].accounts_per_csm, tiers["high"].csms_needed) == (3, 2, 1.5)
    assert (tiers["low"].accounts, tiers["low"].arr_minor) == (1, 1_200_000)
    with pytest.raises(InvalidInput):
        service.set_tier_capacities(session, actor="test", capacities={"gold": 3})
    with pytest.raises(InvalidInput):
        service.set_tier_capacities(session, actor="test", capacities={"high": 0})


def test_least_loaded_assignment_weighs_tiers(session: Session) -> None:
    service.set_tier_capacities(session, actor="test", capacities={"high": 5, "tech": 100})
    a = factories.team_member(session, name="A")
    b = factories.team_member(session, name="B")
    for _ in range(2):
        _paying(session, 10_000, owner_id=a.id, touch_tier="high")  # A is at 2/5 = 40%
    for _ in range(30):
        _paying(session, 10_000, owner_id=b.id, touch_tier="tech")  # B at 30/100 = 30%
    new = [_paying(session, 10_000, touch_tier="high") for _ in range(2)]
    done = service.assign_accounts(session, actor="test", today=TODAY, strategy="least_loaded")
    assert {d.account_id for d in done} == {x.id for x in new}
    # B takes the first (30% -> 50%), then A is the lighter (40% -> 60% against B's 70%)
    assert [d.owner_id for d in done] == [b.id, a.id]
    assert service.unassigned_accounts(session) == []
    assert service.assign_accounts(session, actor="test", today=TODAY) == []


def test_round_robin_within_tier_continues_after_last(session: Session) -> None:
    a = factories.team_member(session, name="A")
    b = factories.team_member(session, name="B")
    c = factories.team_member(session, name="C")
    _paying(
        session, 10_000, owner_id=b.id, touch_tier="high", created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    )  # the tier's newest: B got the last one
    new = [
        _paying(session, 10_000, touch_tier="high", created_at=dt.datetime(2026, 2, i, tzinfo=dt.UTC))
        for i in range(1, 5)
    ]
    done = service.assign_accounts(session, actor="test", today=TODAY, strategy="round_robin", tier="high")
    assert [d.account_id for d in done] == [x.id for x in new]
    assert [d.owner_id for d in done] == [c.id, a.id, b.id, c.id]
    with pytest.raises(InvalidInput):
        service.assign_accounts(session, actor="test", today=TODAY, strategy="random")
    assert session.scalar(select(m.AuditEntry).where(m.AuditEntry.action == "assign").limit(1)) is not None


def _rfm_through_rows(session: Session, *, today: dt.date) -> dict[int, dict[str, object]]:
    """``service.rfm_by_account`` as it was: the payments' times converted to aware datetimes row by row."""
    import pandas as pd

    from kizuna.analytics.ltv import rfm_scores, rfm_summary

    end = dt.datetime(today.year, today.month, today.day, 23, 59, 59, tzinfo=dt.UTC)
    rows = session.execute(
        select(m.Payment.account_id, m.Payment.attempted_at, m.Payment.amount_minor).where(
            m.Payment.status == "succeeded", m.Payment.attempted_at <= end
        )
    ).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=["account_id", "at", "amount"])
    frame["at"] = pd.to_datetime(frame["at"], utc=True).dt.tz_localize(None)
    summary = rfm_summary(frame, "account_id", "at", "amount", observation_period_end=pd.Timestamp(today), freq="M")
    scores = rfm_scores(summary)
    return {
        int(account_id): {
            "rfm.segment": str(row["segment"]),
            "rfm.r_score": int(row["r_score"]),
            "rfm.f_score": int(row["f_score"]),
            "rfm.m_score": int(row["m_score"]) if "m_score" in scores.columns else None,
            "rfm.rfm_cell": str(row["rfm_cell"]),
        }
        for account_id, row in scores.iterrows()
    }


def test_rfm_read_as_columns_is_the_rows_rfm(session: Session) -> None:
    import random

    rng = random.Random(16)
    accounts = [factories.account(session) for _ in range(40)]
    n = 0
    for account in accounts:
        invoice = m.Invoice(
            external_id=f"INV-RFM-{account.id}", account_id=account.id, issued_on=TODAY, amount_minor=1, status="paid"
        )
        session.add(invoice)
        session.flush()
        for _ in range(rng.randint(1, 30)):
            n += 1
            # times on month and day edges (the last microsecond of a month, the first of the next), and anywhere
            day = dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(days=rng.randint(0, 900))
            at = rng.choice(
                [
                    day.replace(day=1) - dt.timedelta(microseconds=1),
                    day.replace(day=1),
                    day + dt.timedelta(seconds=rng.randint(0, 86_399), microseconds=rng.randint(0, 999_999)),
                    dt.datetime(TODAY.year, TODAY.month, TODAY.day, 23, 59, 59, tzinfo=dt.UTC),
                    dt.datetime(TODAY.year, TODAY.month, TODAY.day, 23, 59, 59, 1, tzinfo=dt.UTC),
                ]
            )
            session.add(
                m.Payment(
                    external_id=f"PAY-RFM-{n}",
                    invoice_id=invoice.id,
                    account_id=account.id,
                    attempted_at=at,
                    amount_minor=rng.randint(1, 500_000),
                    status=rng.choice(["succeeded", "succeeded", "succeeded", "failed"]),
                )
            )
    session.flush()
    for today in (TODAY, dt.date(2025, 3, 31), dt.date(2024, 2, 29)):
        expected = _rfm_through_rows(session, today=today)
        assert expected
        assert service.rfm_by_account(session, today=today) == expected
