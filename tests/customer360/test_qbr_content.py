"""The QBR deck's content on SQLite and PostgreSQL: the quarter, figures from the store, goals against results,
next steps, and nothing internal in the customer's deck."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy.orm import Session

from kizuna import models as m
from kizuna.customer360.qbr.content import build_deck, quarter_of
from kizuna.lifecycle import service as lifecycle
from kizuna.settings import Settings
from kizuna.tasks import service as tasks
from tests import factories as f

TODAY = dt.date(2026, 11, 22)


def test_the_quarter_is_the_three_whole_months_before() -> None:
    assert quarter_of(TODAY) == (dt.date(2026, 8, 1), dt.date(2026, 11, 1))
    assert quarter_of(dt.date(2027, 1, 1)) == (dt.date(2026, 10, 1), dt.date(2027, 1, 1))


def test_deck_from_the_store(session: Session, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    plan = f.plan(session, name="Enterprise")
    account = f.account(session, name="株式会社テスト商会")
    f.subscription(
        session, account, plan, quantity=25, start_date=dt.date(2025, 4, 1), renewal_date=dt.date(2027, 4, 1)
    )
    utc = dt.UTC
    for n, (opened, closed) in enumerate(
        [
            (dt.datetime(2026, 8, 3, tzinfo=utc), dt.datetime(2026, 8, 5, tzinfo=utc)),  # 2 days, in the quarter
            (dt.datetime(2026, 9, 1, tzinfo=utc), dt.datetime(2026, 9, 5, tzinfo=utc)),  # 4 days, in the quarter
            (dt.datetime(2026, 11, 2, tzinfo=utc), dt.datetime(2026, 11, 3, tzinfo=utc)),  # after it
        ]
    ):
        session.add(
            m.Ticket(
                external_id=f"T-qbr-{account.id}-{n}",
                account_id=account.id,
                subject="質問",
                status="closed",
                opened_at=opened,
                closed_at=closed,
            )
        )
    session.add(
        m.SurveyResponse(
            external_id=f"NPS-qbr-{account.id}",
            account_id=account.id,
            kind="nps",
            score=9,
            responded_at=dt.datetime(2026, 10, 1, tzinfo=utc),
        )
    )
    goal = lifecycle.add_goal(
        session,
        actor="test",
        account_id=account.id,
        goal="請求処理を自動化",
        unit="件",
        baseline_value=0,
        target_value=100,
        target_date=dt.date(2027, 2, 1),
    )
    lifecycle.update_goal(session, actor="test", goal_id=goal.id, current_value=100)
    tasks.create_task(session, actor="test", title="値引きの相談 (社内)", account_id=account.id)
    session.flush()

    deck = build_deck(session, account.id, today=TODAY, language="ja", audience="customer", settings=settings)
    assert deck.period == "対象期間: 2026年8月〜2026年10月"
    summary = {fig.label: fig.value for fig in deck.slides[0].figures}
    assert summary["ご契約プラン"] == "Enterprise" and summary["契約ライセンス数"] == "25"
    assert summary["最新のNPS回答"] == "9" and summary["解決したお問い合わせ"] == "2"
    assert summary["契約更新日"] == "2027年4月1日"
    slides = {s.key: s for s in deck.slides}
    assert slides["usage"].empty  # no usage rolled up yet: said, not drawn
    goals = slides["goals"]
    assert goals.chart is not None and goals.chart.series[0].values == [1.0]
    assert goals.table is not None and goals.table.rows[0][-1] == "達成"
    value = slides["value"].bullets
    assert "目標「請求処理を自動化」を達成 (0 件 → 100 件)" in value
    assert "お問い合わせ 2件を解決 (解決までの中央値 3.0日)" in value
    next_steps = slides["next_steps"].table
    assert next_steps is not None
    steps = [row[0] for row in next_steps.rows]
    assert steps == ["契約更新のご確認", "次回ビジネスレビュー"]  # the achieved goal is no longer a step
    assert "値引きの相談" not in deck.text() and not any(s.internal for s in deck.slides)

    internal = build_deck(session, account.id, today=TODAY, language="en", audience="internal", settings=settings)
    assert internal.confidential == "Internal — do not send to the customer"
    assert [s.key for s in internal.slides if s.internal] == ["internal_health", "internal_tasks", "internal_revenue"]
    assert "値引きの相談 (社内)" in internal.text()
