"""Expansion signals from real event files and VoC text -> upsell / cross-sell opportunities, once."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.orm import Session

from kizuna import models as m
from kizuna.renewals import expansion
from kizuna.usage.store import EVENT_SCHEMA, EventStore
from tests import factories

TODAY = dt.date(2026, 8, 1)


def _events(root: Path, rows: list[tuple[int, str, dt.datetime]]) -> None:
    table = pa.table(
        {
            "event_id": [f"e{i}" for i in range(len(rows))],
            "account_id": [r[0] for r in rows],
            "user_id": [r[1] for r in rows],
            "event_name": ["view"] * len(rows),
            "feature": ["dashboard"] * len(rows),
            "timestamp": [r[2] for r in rows],
            "properties": [None] * len(rows),
        },
        schema=EVENT_SCHEMA,
    )
    EventStore(root).write_batch(table, batch_key="test")


def test_signals_open_opportunities_once(session: Session, tmp_path: Path) -> None:
    base = factories.plan(session, name="Pro")
    addon = factories.plan(
        session, name="API連携 (月額)", product_name="API連携", is_addon=True, list_price_minor=20_000
    )
    full = factories.account(session, name="満席社")
    factories.subscription(session, full, base, quantity=10, mrr_minor=100_000)
    growing = factories.account(session, name="成長社")
    factories.subscription(session, growing, base, quantity=20, mrr_minor=200_000)
    curious = factories.account(session, name="興味社")
    factories.subscription(session, curious, base, quantity=50, mrr_minor=500_000)
    quiet = factories.account(session, name="静か社")
    factories.subscription(session, quiet, base, quantity=50, mrr_minor=500_000)
    assert addon.is_addon

    recent = dt.datetime(2026, 7, 20, 10, tzinfo=dt.UTC)
    before = dt.datetime(2026, 6, 10, 10, tzinfo=dt.UTC)
    rows = [(full.id, f"u{i}", recent) for i in range(10)]  # 10 of 10 seats
    rows += [(growing.id, f"g{i % 3}", before) for i in range(60)]  # 60 events, then 150: +150%
    rows += [(growing.id, f"g{i % 3}", recent) for i in range(150)]
    rows += [(quiet.id, f"q{i % 5}", t) for t in (before, recent) for i in range(60)]  # flat, 5 of 50 seats
    _events(tmp_path / "events", rows)
    session.add(
        m.VocEntry(
            external_id="V1",
            account_id=curious.id,
            channel="sales_hearing",
            language="ja",
            text="API連携のオプションを追加で検討したいとのこと。",
            recorded_at=recent,
        )
    )
    session.add(
        m.VocEntry(
            external_id="V2",
            account_id=quiet.id,
            channel="call_center",
            language="ja",
            text="画面の表示が遅いです。",
            recorded_at=recent,
        )
    )
    session.flush()

    signals = {
        (s.account_id, s.signal) for s in expansion.detect_signals(session, today=TODAY, events_dir=tmp_path / "events")
    }
    assert signals == {(full.id, "seat_utilisation"), (growing.id, "usage_growth"), (curious.id, "addon_interest")}

    first = expansion.open_expansion_opportunities(session, actor="test", today=TODAY, events_dir=tmp_path / "events")
    assert (first.new_signals, first.opportunities_opened) == (3, 3)
    opps = {o.account_id: o for o in session.scalars(select(m.Opportunity).where(m.Opportunity.stage == "open"))}
    assert {a: o.kind for a, o in opps.items()} == {full.id: "upsell", growing.id: "upsell", curious.id: "cross_sell"}
    assert opps[full.id].amount_minor == 20_000  # 2 more seats at 10,000 a seat
    assert opps[curious.id].amount_minor == 20_000  # the add-on's monthly list price

    later = TODAY + dt.timedelta(days=1)
    second = expansion.open_expansion_opportunities(session, actor="test", today=later, events_dir=tmp_path / "events")
    assert (second.new_signals, second.opportunities_opened) == (0, 0)
    assert (
        session.scalar(select(m.ExpansionSignal.last_seen_on).where(m.ExpansionSignal.account_id == full.id)) == later
    )

    expansion.close_opportunity(session, actor="csm", opportunity_id=opps[full.id].id, won=False)
    third = expansion.open_expansion_opportunities(session, actor="test", today=later, events_dir=tmp_path / "events")
    assert third.opportunities_opened == 0  # closed recently: not offered again yet
    pipeline = expansion.expansion_pipeline(session)
    assert pipeline["by_kind"]["upsell"]["open"]["opportunities"] == 1
    assert pipeline["by_kind"]["upsell"]["lost"]["opportunities"] == 1
    assert pipeline["by_kind"]["cross_sell"]["open"]["amount_minor"] == 20_000
    [curious_row] = [o for o in pipeline["open"] if o["account_id"] == curious.id]
    [signal] = curious_row["signals"]
    assert signal["signal"] == "addon_interest" and "API連携" in signal["detail"]
    assert signal["facts"]["mentions"] == 1 and "API連携" in signal["facts"]["quote"]


def test_opened_opportunities_are_linked_and_audited_in_order(session: Session, tmp_path: Path) -> None:
    """Opportunities opened in one pass (written together): each signal row points at its account's opportunity of
    that kind, an account with two signals of one kind (seats over 100 % and a VoC complaint about the limit) gets
    one opportunity, and the audit rows follow the opportunities' order."""
    from kizuna.hub.watermark import Watermark

    base = factories.plan(session, name="Pro")
    over = [factories.account(session, name=f"満員{i}社") for i in range(3)]
    for account in over:
        factories.subscription(session, account, base, quantity=4, mrr_minor=40_000)
    recent = dt.datetime(2026, 7, 20, 10, tzinfo=dt.UTC)
    _events(tmp_path / "events", [(a.id, f"u{i}", recent) for a in over for i in range(6)])  # 6 users on 4 seats
    session.add(
        m.VocEntry(
            external_id="L1",
            account_id=over[1].id,
            channel="call_center",
            language="ja",
            text="ユーザー数の上限が足りないです。",
            recorded_at=recent,
        )
    )
    session.flush()
    watermark = Watermark(since=dt.datetime(2026, 7, 1, tzinfo=dt.UTC))
    signals = expansion.detect_signals(session, today=TODAY, events_dir=tmp_path / "events")
    assert sorted((s.account_id, s.signal) for s in signals) == sorted(
        [(a.id, "plan_limit") for a in over] + [(over[1].id, "plan_limit")]
    )

    report = expansion.open_expansion_opportunities(
        session, actor="test", today=TODAY, events_dir=tmp_path / "events", watermark=watermark
    )
    assert (report.new_signals, report.opportunities_opened, report.history) == (3, 3, 0)
    opps = list(session.scalars(select(m.Opportunity).order_by(m.Opportunity.id)))
    assert [o.account_id for o in opps] == [a.id for a in over]
    links = dict(session.execute(select(m.ExpansionSignal.account_id, m.ExpansionSignal.opportunity_id)).all())
    assert links == {o.account_id: o.id for o in opps}
    audited = session.scalars(
        select(m.AuditEntry.entity_id).where(m.AuditEntry.action == "open_opportunity").order_by(m.AuditEntry.id)
    ).all()
    assert audited == [str(o.id) for o in opps]
