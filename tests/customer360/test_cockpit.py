"""The CSM's cockpit on SQLite and PostgreSQL: today's work ranked by what is at stake, accounts at risk with the
reason, renewals, onboarding behind plan, and every CSM's book for a manager."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from kizuna import models as m
from kizuna.customer360 import cockpit, words
from kizuna.tasks.service import create_task
from tests import factories as f

TODAY = dt.date(2026, 11, 22)


def _model(session: Session) -> m.RiskModel:
    row = m.RiskModel(
        file_name="x.joblib",
        data_as_of=TODAY,
        horizon_days=90,
        train_start=dt.date(2025, 1, 1),
        train_end=TODAY,
        n_samples=100,
        base_rate=0.1,
        features=[],
        params={},
        metrics={},
        trained_by="t",
    )
    session.add(row)
    session.flush()
    return row


def _risk(session: Session, model: m.RiskModel, account: m.Account, p: float, band: str, drivers: list) -> None:  # type: ignore[type-arg]
    session.add(
        m.RiskScore(account_id=account.id, model_id=model.id, as_of=TODAY, probability=p, band=band, drivers=drivers)
    )
    session.flush()


def _book(session: Session) -> dict[str, object]:
    csm = f.team_member(session, name="佐藤 花子")
    plan = f.plan(session)
    big = f.account(session, name="大口株式会社", owner_id=csm.id)
    small = f.account(session, name="小口株式会社", owner_id=csm.id)
    leaving = f.account(session, name="解約予定株式会社", owner_id=csm.id)
    f.subscription(session, big, plan, mrr_minor=1_000_000, renewal_date=TODAY + dt.timedelta(days=40))
    f.subscription(session, small, plan, mrr_minor=100_000, renewal_date=TODAY + dt.timedelta(days=200))
    f.subscription(
        session, leaving, plan, mrr_minor=200_000, status="cancelled", renewal_date=TODAY + dt.timedelta(days=10)
    )
    model = _model(session)
    login_drop = {"feature": "days_since_last_login", "value": 45, "contribution": 0.8}
    renewal_near = {"feature": "days_to_renewal", "value": 40, "contribution": 1.2}
    _risk(session, model, big, 0.4, "high", [renewal_near, login_drop])
    _risk(session, model, small, 0.9, "high", [{"feature": "seat_utilisation", "value": 0.2, "contribution": 0.5}])
    return {"csm": csm, "big": big, "small": small, "leaving": leaving}


def test_urgency_halves_every_week_before_the_due_date() -> None:
    assert cockpit.urgency(TODAY - dt.timedelta(days=3), today=TODAY) == 1.0
    assert cockpit.urgency(TODAY, today=TODAY) == 1.0
    assert cockpit.urgency(TODAY + dt.timedelta(days=7), today=TODAY) == pytest.approx(0.5)
    assert cockpit.urgency(TODAY + dt.timedelta(days=14), today=TODAY) == pytest.approx(0.25)
    assert cockpit.urgency(None, today=TODAY) == pytest.approx(0.5 ** (30 / 7))


def test_today_s_work_is_ranked_by_risk_times_arr_times_urgency(session: Session) -> None:
    book = _book(session)
    csm, big, small, leaving = book["csm"], book["big"], book["small"], book["leaving"]
    assert isinstance(csm, m.TeamMember)
    assert isinstance(big, m.Account) and isinstance(small, m.Account) and isinstance(leaving, m.Account)

    def task(title: str, account: m.Account | None, due: dt.date | None, priority: str = "normal") -> None:
        create_task(
            session,
            actor="t",
            title=title,
            account_id=account.id if account else None,
            owner_id=csm.id,
            due_on=due,
            priority=priority,
        )

    task("大口: 来週", big, TODAY + dt.timedelta(days=7))  # 0.4 × 12,000,000 × 0.5 = 2,400,000
    task("小口: 今日", small, TODAY, "urgent")  # 0.9 × 1,200,000 × 1 = 1,080,000
    task("解約予定: 今日", leaving, TODAY)  # notice given: 1.0 × 2,400,000 × 1 = 2,400,000, due sooner than 大口
    task("社内: 期限切れ", None, TODAY - dt.timedelta(days=5), "urgent")  # nothing at stake
    view = cockpit.my_cockpit(session, team_member_id=csm.id, today=TODAY)
    assert [r.task.title for r in view.tasks] == ["解約予定: 今日", "大口: 来週", "小口: 今日", "社内: 期限切れ"]
    assert [round(r.stake_minor) for r in view.tasks] == [2_400_000, 2_400_000, 1_080_000, 0]
    assert view.open_tasks == 4
    assert view.tasks[0].risk is not None and view.tasks[0].risk.notice_given

    # at risk: notice given and the high band, riskiest ARR first, with the reason a CSM can act on
    assert [a.name for a in view.at_risk] == ["大口株式会社", "解約予定株式会社", "小口株式会社"]
    first = view.at_risk[0]
    assert first.risk.top_driver is not None and first.risk.top_driver["feature"] == "days_since_last_login"
    assert words.driver_words(first.risk.top_driver, "ja") == "最終ログインから45日"
    assert words.driver_words(first.risk.top_driver, "en") == "45 days since the last login"
    assert words.driver_words(None, "ja", notice_given=True) == "解約の申し出あり"
    small_reason = view.at_risk[2].risk.top_driver
    assert words.driver_words(small_reason, "ja") == "席利用率が20%"
    assert first.open_tasks == 1 and first.arr_minor == 12_000_000

    # renewals within 90 days carry their risk
    assert [(r["name"], r["risk"].probability) for r in view.renewals] == [
        ("解約予定株式会社", 1.0),
        ("大口株式会社", 0.4),
    ]


def test_onboarding_behind_plan(session: Session) -> None:
    csm = f.team_member(session)
    late = f.account(session, name="遅延株式会社", owner_id=csm.id)
    on_time = f.account(session, name="順調株式会社", owner_id=csm.id)
    for account, days in ((late, -12), (on_time, 5)):
        for kind, shift in (("kickoff", 0), ("initial_setup", 3)):
            session.add(
                m.OnboardingMilestone(
                    external_id=f"OB-{account.id}-{kind}",
                    account_id=account.id,
                    kind=kind,
                    due_on=TODAY + dt.timedelta(days=days + shift),
                )
            )
    session.flush()
    behind = cockpit.onboarding_behind(session, owner_id=csm.id, today=TODAY)
    assert [(b.name, b.milestone, b.days_late, b.overdue, b.planned) for b in behind] == [
        ("遅延株式会社", "kickoff", 12, 2, 2)
    ]


def test_without_a_team_member_a_manager_chooses_a_book(session: Session) -> None:
    book = _book(session)
    csm = book["csm"]
    assert isinstance(csm, m.TeamMember)
    idle = f.team_member(session, name="山田 次郎")
    create_task(session, actor="t", title="期限切れ", owner_id=csm.id, due_on=TODAY - dt.timedelta(days=1))
    view = cockpit.my_cockpit(session, team_member_id=None, today=TODAY)
    assert view.owner is None and view.tasks == []
    books = {b.team_member_id: b for b in view.books}
    mine = books[csm.id]
    assert (mine.accounts, mine.arr_minor, mine.open_tasks, mine.overdue_tasks, mine.at_risk) == (
        3,
        12 * 1_300_000,
        1,
        1,
        3,  # two in the high band and one that gave notice
    )
    assert books[idle.id].accounts == 0
    assert view.books[0].team_member_id == csm.id  # largest ARR first
