"""Lifecycle stages with history, onboarding plans (templates -> milestones), overdue, time-to-value, success plans."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from kizuna.errors import Conflict, InvalidInput, NotFound
from kizuna.lifecycle import service
from kizuna.platform.paging import Paging
from tests import factories

CREATED = dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC)
TODAY = dt.date(2026, 4, 10)


def test_stage_changes_are_kept(session: Session) -> None:
    account = factories.account(session, lifecycle_stage="onboarding")
    assert service.change_stage(session, actor="csm", account_id=account.id, stage="adoption", reason="set-up done")
    assert service.change_stage(session, actor="csm", account_id=account.id, stage="adoption") is None
    service.change_stage(session, actor="csm", account_id=account.id, stage="at_risk")
    history = service.stage_history(session, account_id=account.id)
    assert [(h.from_stage, h.to_stage) for h in history] == [("onboarding", "adoption"), ("adoption", "at_risk")]
    assert history[0].reason == "set-up done" and history[0].actor == "csm"
    with pytest.raises(InvalidInput, match="unknown lifecycle stage"):
        service.change_stage(session, actor="csm", account_id=account.id, stage="happy")
    with pytest.raises(NotFound):
        service.change_stage(session, actor="csm", account_id=10**9, stage="adoption")


def test_onboarding_plan_milestones_overdue_and_time_to_value(session: Session) -> None:
    csm = factories.team_member(session)
    account = factories.account(session, owner_id=csm.id, created_at=CREATED, lifecycle_stage="onboarding")
    made = service.start_onboarding(session, actor="test", account_id=account.id)
    assert [(m.kind, m.due_on) for m in made] == [
        ("kickoff", dt.date(2026, 3, 8)),
        ("initial_setup", dt.date(2026, 3, 22)),
        ("training", dt.date(2026, 3, 31)),
        ("milestone_agreement", dt.date(2026, 4, 15)),
        ("feedback", dt.date(2026, 4, 30)),
    ]
    assert all(m.owner_id == csm.id for m in made)
    assert service.start_onboarding(session, actor="test", account_id=account.id) == []  # never twice

    service.complete_milestone(
        session, actor="csm", account_id=account.id, kind="kickoff", at=dt.datetime(2026, 3, 5, tzinfo=dt.UTC)
    )
    service.complete_milestone(
        session, actor="csm", account_id=account.id, kind="initial_setup", at=dt.datetime(2026, 3, 25, tzinfo=dt.UTC)
    )
    status = service.onboarding_status(session, account_id=account.id, today=TODAY)
    assert [m["state"] for m in status.milestones] == ["done", "done_late", "overdue", "open", "open"]
    assert (status.done, status.total, status.overdue) == (2, 5, 1)
    assert status.time_to_value_days == 24  # created 1 March, set-up (the key milestone) done 25 March
    overdue = service.overdue_milestones(session, today=TODAY, owner_id=csm.id, paging=Paging())
    assert [(o["kind"], o["days_overdue"]) for o in overdue.items] == [("training", 10)] and overdue.total == 1
    summary = service.onboarding_summary(session, today=TODAY)
    assert summary["completion_by_kind"]["kickoff"] == 1.0 and summary["overdue_milestones"] >= 1
    service.reopen_milestone(session, actor="csm", account_id=account.id, kind="initial_setup")
    assert service.onboarding_status(session, account_id=account.id, today=TODAY).time_to_value_days is None
    with pytest.raises(NotFound):
        service.complete_milestone(session, actor="csm", account_id=account.id, kind="go_live")


def test_templates_per_tier_and_new_accounts(session: Session) -> None:
    high = service.create_template(
        session,
        actor="test",
        key="high-touch",
        name="High touch",
        touch_tier="high",
        milestones=[
            {"kind": "kickoff", "due_after_days": 3},
            {"kind": "initial_setup", "due_after_days": 10, "is_key": True},
        ],
    )
    assert high.milestones[0]["owner"] == "csm"
    with pytest.raises(Conflict):
        service.create_template(session, actor="t", key="high-touch", name="x", milestones=high.milestones)
    with pytest.raises(InvalidInput, match="unknown kind"):
        service.create_template(
            session, actor="t", key="bad", name="x", milestones=[{"kind": "party", "due_after_days": 1}]
        )
    with pytest.raises(InvalidInput, match="only one"):
        service.create_template(
            session,
            actor="t",
            key="bad",
            name="x",
            milestones=[
                {"kind": "kickoff", "due_after_days": 1, "is_key": True},
                {"kind": "training", "due_after_days": 2, "is_key": True},
            ],
        )
    big = factories.account(session, touch_tier="high", created_at=CREATED, lifecycle_stage="onboarding")
    small = factories.account(session, touch_tier="tech", created_at=CREATED, lifecycle_stage="onboarding")
    factories.account(session, created_at=CREATED, lifecycle_stage="adoption")  # not onboarding: no plan
    old = factories.account(session, created_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC), lifecycle_stage="onboarding")
    assert service.start_onboarding_for_new_accounts(session, actor="refresh", today=TODAY) == 2
    assert service.start_onboarding_for_new_accounts(session, actor="refresh", today=TODAY) == 0
    assert service.onboarding_status(session, account_id=big.id, today=TODAY).total == 2
    assert service.onboarding_status(session, account_id=small.id, today=TODAY).total == 5
    assert service.onboarding_status(session, account_id=old.id, today=TODAY).total == 0


def test_success_plan_goals(session: Session) -> None:
    account = factories.account(session)
    reduce = service.add_goal(
        session,
        actor="csm",
        account_id=account.id,
        goal="月次決算を5営業日短縮",
        kpi="決算日数",
        unit="日",
        baseline_value=10,
        target_value=5,
        target_date=dt.date(2026, 9, 30),
    )
    grow = service.add_goal(
        session,
        actor="csm",
        account_id=account.id,
        goal="Adoption across sales",
        kpi="weekly active users",
        baseline_value=20,
        target_value=100,
        target_date=dt.date(2026, 3, 31),
    )
    service.update_goal(session, actor="csm", goal_id=reduce.id, current_value=7)
    assert reduce.status == "on_track"
    plan = {g["id"]: g for g in service.success_plan(session, account_id=account.id, today=TODAY)}
    assert plan[reduce.id]["progress"] == pytest.approx(0.6)
    assert plan[grow.id]["past_target_date"] is True and plan[reduce.id]["past_target_date"] is False
    service.update_goal(session, actor="csm", goal_id=reduce.id, current_value=5)
    assert reduce.status == "achieved" and reduce.achieved_at is not None
    service.update_goal(session, actor="csm", goal_id=grow.id, status="missed")
    assert service.success_plan(session, account_id=account.id, today=TODAY)[0]["past_target_date"] is False
    with pytest.raises(InvalidInput):
        service.update_goal(session, actor="csm", goal_id=grow.id, status="great")
    with pytest.raises(InvalidInput):
        service.add_goal(session, actor="csm", account_id=account.id, goal="  ")


def test_complete_onboarding_moves_to_adoption(session: Session) -> None:
    account = factories.account(session, created_at=CREATED, lifecycle_stage="onboarding")
    no_plan = factories.account(session, created_at=CREATED, lifecycle_stage="onboarding")
    service.start_onboarding(session, actor="test", account_id=account.id)
    for kind in ("kickoff", "initial_setup", "training", "milestone_agreement"):
        service.complete_milestone(session, actor="csm", account_id=account.id, kind=kind)
    assert service.advance_completed_onboarding(session, actor="refresh") == 0  # feedback still open
    service.complete_milestone(session, actor="csm", account_id=account.id, kind="feedback")
    assert service.advance_completed_onboarding(session, actor="refresh") == 1
    assert (account.lifecycle_stage, no_plan.lifecycle_stage) == ("adoption", "onboarding")
    assert service.stage_history(session, account_id=account.id)[-1].reason == "onboarding plan complete"
    assert service.advance_completed_onboarding(session, actor="refresh") == 0
