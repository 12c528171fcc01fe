"""Playbooks within a team's capacity: generated tasks wait beyond a CSM's daily budget, most at stake first, are
released day by day, and tech-touch accounts go into one digest per CSM."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from kizuna import models as m
from kizuna.platform.outbox.service import DeliveryPolicy
from kizuna.playbooks.jobs import tick
from kizuna.playbooks.service import LIBRARY_DIR, evaluate_playbook, import_playbook, set_enabled
from kizuna.runtime import Runtime
from kizuna.tasks.models import DEFAULT_DAILY_TASK_BUDGET, TaskStatus
from kizuna.tasks.service import complete_task, create_task, live_task, set_daily_budget, workload
from tests.platform.outbox.loopback import SmtpServer
from tests.playbooks.scenario import NOW, Scenario, build

FAST = DeliveryPolicy(backoff_seconds=0.0, requeue_seconds=0.0)
DAY = dt.timedelta(days=1)


@pytest.fixture
def team(runtime: Runtime, smtp_server: SmtpServer) -> tuple[Runtime, Scenario]:
    runtime.settings = runtime.settings.model_copy(
        update={"smtp_host": smtp_server.host, "smtp_port": smtp_server.port}
    )
    with runtime.transaction() as session:
        scenario = build(session)
        for path in sorted(LIBRARY_DIR.glob("*.yaml")):
            playbook, _ = import_playbook(
                session, actor="test", yaml_text=path.read_text(encoding="utf-8"), source=path.name
            )
            set_enabled(session, actor="test", key=playbook.key, enabled=True)
    return runtime, scenario


def _tasks(runtime: Runtime, status: str) -> list[m.Task]:
    with runtime.transaction() as session:
        rows = list(session.scalars(select(m.Task).where(m.Task.status == status).order_by(m.Task.id)))
        session.expunge_all()
    return rows


def test_a_csm_gets_no_more_than_the_daily_budget_most_at_stake_first(team: tuple[Runtime, Scenario]) -> None:
    runtime, scenario = team
    with runtime.transaction() as session:
        set_daily_budget(session, actor="test", member_id=scenario.csm.id, budget=3)
    first = tick(runtime, now=NOW, policy=FAST)
    opened, waiting = _tasks(runtime, "open"), _tasks(runtime, "waiting")
    # 13 tasks fire on the scenario's 13 accounts: 3 open, the other 10 wait
    assert (len(opened), len(waiting), first["released_tasks"]) == (3, 10, 3)
    # stakes = risk x ARR x urgency: the new account, with no contract yet, has nothing at stake
    assert all((t.stakes or 0) > 0 or t.account_id == scenario.accounts["fresh"].id for t in opened + waiting)
    assert min(t.stakes or 0 for t in opened) >= max(t.stakes or 0 for t in waiting)
    assert {t.released_on for t in opened} == {NOW.date()} and {t.released_on for t in waiting} == {None}
    # the riskiest account (churn probability 0.8 against 0.2) comes first
    risky = scenario.accounts["risky"].id
    assert risky in {t.account_id for t in opened}

    # again the same day: nothing new fires (de-duplicated), nothing more is released
    again = tick(runtime, now=NOW + dt.timedelta(hours=2), policy=FAST)
    assert again["released_tasks"] == 0 and again["jobs"]["done"] == 0
    assert len(_tasks(runtime, "open")) == 3
    with runtime.transaction() as session:
        for task in opened[:2]:
            complete_task(session, actor="csm", task_id=task.id)
    assert tick(runtime, now=NOW + dt.timedelta(hours=4), policy=FAST)["released_tasks"] == 0  # today's budget is used

    # the next day: room for 2 (one is still open), the next most at stake
    next_day = tick(runtime, now=NOW + DAY, policy=FAST)
    assert next_day["released_tasks"] == 2
    released = [t for t in _tasks(runtime, "open") if t.released_on == (NOW + DAY).date()]
    best_waiting = sorted((t.stakes or 0 for t in waiting), reverse=True)[:2]
    assert sorted((t.stakes or 0 for t in released), reverse=True) == best_waiting
    assert all(t.due_on is not None and t.due_on >= (NOW + DAY).date() for t in released)
    with runtime.transaction() as session:
        [row] = workload(session, today=(NOW + DAY).date())
    assert (row.owner_id, row.budget, row.open, row.waiting, row.released_today) == (scenario.csm.id, 3, 3, 8, 2)


def test_the_default_budget_keeps_a_day_of_work_open(team: tuple[Runtime, Scenario]) -> None:
    runtime, _scenario = team
    tick(runtime, now=NOW, policy=FAST)
    assert len(_tasks(runtime, "open")) == DEFAULT_DAILY_TASK_BUDGET
    assert len(_tasks(runtime, "waiting")) == 13 - DEFAULT_DAILY_TASK_BUDGET


def test_tech_touch_accounts_go_into_one_digest_per_csm(team: tuple[Runtime, Scenario]) -> None:
    runtime, scenario = team
    tech = [scenario.accounts[label] for label in ("usage", "healthred", "late", "renewing")]
    with runtime.transaction() as session:
        session.execute(update(m.Account).where(m.Account.id.in_([a.id for a in tech])).values(touch_tier="tech"))
    tick(runtime, now=NOW, policy=FAST)
    with runtime.transaction() as session:
        tasks = list(session.scalars(select(m.Task)))
        digests = [t for t in tasks if t.source == "playbook:digest"]
        assert len(digests) == 1
        [digest] = digests
        assert digest.account_id is None and digest.owner_id == scenario.csm.id
        assert digest.title == "テックタッチ顧客のダイジェスト（4件）"
        lines = (digest.reason or "").splitlines()
        assert len(lines) == 4 and all(f"[#{a.id}]" in digest.reason for a in tech)  # type: ignore[operator]
        assert not [t for t in tasks if t.account_id in {a.id for a in tech}]  # no task of their own
        assert len(tasks) == 13 - 4 + 1
    # a second round adds nothing to the digest
    tick(runtime, now=NOW + dt.timedelta(hours=1), policy=FAST)
    with runtime.transaction() as session:
        again = session.scalars(select(m.Task).where(m.Task.source == "playbook:digest")).one()
        assert again.reason == digest.reason


def test_a_dry_run_says_which_tasks_would_open_wait_or_go_into_the_digest(team: tuple[Runtime, Scenario]) -> None:
    runtime, scenario = team
    with runtime.transaction() as session:
        set_daily_budget(session, actor="test", member_id=scenario.csm.id, budget=2)
        session.execute(
            update(m.Account).where(m.Account.id == scenario.accounts["healthred"].id).values(touch_tier="tech")
        )
    with runtime.transaction() as session:
        # two tasks open already: no room today, every new task of a high-touch account would wait
        report = evaluate_playbook(session, key="health-red", now=NOW, dry_run=True)
        assert [(o.account_name, o.task) for o in report.outcomes] == [("株式会社healthred", "digest")]
        for title in ("a", "b"):
            create_task(session, actor="csm", title=title, owner_id=scenario.csm.id, source="playbook:manual-test")
    with runtime.transaction() as session:
        report = evaluate_playbook(session, key="nps-detractor", now=NOW, dry_run=True)
        assert [o.task for o in report.outcomes] == ["wait"]
        assert report.summary()["tasks_wait"] == 1
        session.execute(update(m.TeamMember).values(daily_task_budget=5))
        report = evaluate_playbook(session, key="nps-detractor", now=NOW, dry_run=True)
        assert [o.task for o in report.outcomes] == ["open"] and report.outcomes[0].stakes
        session.rollback()


def test_a_waiting_task_is_live_for_de_duplication(team: tuple[Runtime, Scenario]) -> None:
    runtime, scenario = team
    with runtime.transaction() as session:
        first, created = create_task(
            session, actor="pb", title="x", owner_id=scenario.csm.id, dedupe_key="k", throttled=True
        )
        second, again = create_task(session, actor="pb", title="x", owner_id=scenario.csm.id, dedupe_key="k")
        assert created and not again and first.id == second.id and first.status == TaskStatus.waiting
        assert live_task(session, dedupe_key="k") is first
