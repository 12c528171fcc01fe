"""Playbooks end to end on a real SQLite data dir, a real SMTP server and a real webhook peer on loopback."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from kizuna import models as m
from kizuna.platform.outbox.service import DeliveryPolicy
from kizuna.playbooks.jobs import evaluate_enabled, process_jobs, tick
from kizuna.playbooks.models import JobStatus
from kizuna.playbooks.service import (
    LIBRARY_DIR,
    evaluate_playbook,
    export_playbook,
    import_library,
    import_playbook,
    run_log,
    set_enabled,
)
from kizuna.runtime import Runtime
from tests import factories
from tests.platform.outbox.loopback import SmtpServer, WebhookPeer
from tests.playbooks.scenario import NOW, build

FAST = DeliveryPolicy(backoff_seconds=0.0, requeue_seconds=0.0)


def _import_library(runtime: Runtime, peer: WebhookPeer | None, *, enable: bool = True) -> list[str]:
    keys = []
    with runtime.transaction() as session:
        for path in sorted(LIBRARY_DIR.glob("*.yaml")):
            text = path.read_text(encoding="utf-8")
            if peer is not None:
                text = text.replace("http://127.0.0.1:9", peer.base_url)
            playbook, _ = import_playbook(session, actor="test", yaml_text=text, source=path.name)
            if enable:
                set_enabled(session, actor="test", key=playbook.key, enabled=True)
            keys.append(playbook.key)
    return keys


def _counts(runtime: Runtime) -> dict[str, int]:
    with runtime.transaction() as session:
        return {
            "tasks": session.scalar(select(func.count()).select_from(m.Task)) or 0,
            "messages": session.scalar(select(func.count()).select_from(m.OutboundMessage)) or 0,
            "opportunities": session.scalar(select(func.count()).select_from(m.Opportunity)) or 0,
            "lifecycle_changes": session.scalar(select(func.count()).select_from(m.LifecycleChange)) or 0,
            "jobs": session.scalar(select(func.count()).select_from(m.PendingJob)) or 0,
        }


@pytest.fixture
def wired(runtime: Runtime, smtp_server: SmtpServer, webhook_peer: WebhookPeer) -> Runtime:
    runtime.settings = runtime.settings.model_copy(
        update={"smtp_host": smtp_server.host, "smtp_port": smtp_server.port}
    )
    with runtime.transaction() as session:
        build(session)
    return runtime


def test_evaluating_every_playbook_twice_acts_once(
    wired: Runtime, smtp_server: SmtpServer, webhook_peer: WebhookPeer
) -> None:
    keys = _import_library(wired, webhook_peer)
    webhook_peer.script["/slack"] = [500]  # the first Slack post fails once: retried, still sent once
    first = tick(wired, now=NOW, policy=FAST)
    after_first = _counts(wired)
    mails, calls = len(smtp_server.messages), len(webhook_peer.requests)
    second = tick(wired, now=NOW, policy=FAST)
    assert _counts(wired) == after_first
    assert (len(smtp_server.messages), len(webhook_peer.requests)) == (mails, calls)
    assert second["jobs"] == {"done": 0, "retrying": 0, "failed": 0} and first["jobs"]["failed"] == 0
    # every example playbook fired on the scenario, and did something
    with wired.transaction() as session:
        acted = set(
            session.scalars(
                select(m.Playbook.key)
                .join(m.PlaybookRun)
                .join(m.PlaybookRunAccount)
                .where(m.PlaybookRunAccount.outcome == "queued")
            )
        )
        outcomes = set(
            session.scalars(
                select(m.PlaybookRunAccount.outcome).join(m.PlaybookRun).where(m.PlaybookRun.id > len(keys))
            )
        )
    assert acted == set(keys)
    assert outcomes == {"already_acted"}  # the second round's log
    assert after_first["tasks"] == 13 and after_first["opportunities"] == 2 and mails == 8
    assert {r["status"] for r in webhook_peer.calls("/slack")} == {500, 200}
    assert len([r for r in webhook_peer.requests if r["status"] == 200]) == 3  # churn-risk, escalated, at-risk


def test_a_crash_mid_run_is_resumed_without_loss_or_repetition(
    wired: Runtime, smtp_server: SmtpServer, webhook_peer: WebhookPeer
) -> None:
    _import_library(wired, webhook_peer)
    evaluate_enabled(wired, now=NOW)
    with wired.transaction() as session:
        due = session.scalar(select(func.count()).select_from(m.PendingJob).where(m.PendingJob.run_after <= NOW))
    assert due and due > 10

    class Crash(BaseException):
        """Stands for the process dying: not an Exception, so nothing in kizuna catches it."""

    seen: list[int] = []

    def crash_in_the_sixth_job(job: m.PendingJob) -> None:
        seen.append(job.id)
        if len(seen) == 6:
            raise Crash  # in the second batch, inside the sixth job's savepoint, after its action ran

    with pytest.raises(Crash):
        process_jobs(wired, now=NOW, before_commit=crash_in_the_sixth_job, worker="w1", batch_size=4)
    with wired.transaction() as session:
        done = session.scalars(select(m.PendingJob).where(m.PendingJob.status == JobStatus.done)).all()
        stuck = session.scalars(select(m.PendingJob).where(m.PendingJob.status == JobStatus.running)).all()
    # the first batch of four committed; the second (jobs 5-8) died with the process and left no trace
    assert len(done) == 4 and len(stuck) == due - 4  # the rest is still leased to the dead worker
    # a new worker cannot take them until the lease ends, then finishes everything exactly once
    assert process_jobs(wired, now=NOW, worker="w2").done == 0
    later = NOW + dt.timedelta(minutes=6)
    resumed = process_jobs(wired, now=later, worker="w2")
    assert resumed.done == due - 4 and resumed.failed == 0
    with wired.transaction() as session:
        statuses = session.execute(
            select(m.PendingJob.status, m.PendingJob.attempts).where(m.PendingJob.run_after <= NOW)
        ).all()
        tasks = session.scalars(select(m.Task.dedupe_key)).all()
    assert {status for status, _ in statuses} == {JobStatus.done}
    assert sorted(attempts for _, attempts in statuses).count(2) == due - 4  # only the interrupted ones ran again
    assert len(tasks) == len(set(tasks))
    # and a fresh full round afterwards changes nothing
    before = _counts(wired)
    tick(wired, now=later, policy=FAST)
    after = _counts(wired)
    assert {k: v for k, v in after.items() if k != "messages"} == {k: v for k, v in before.items() if k != "messages"}


def test_sequences_wait_then_run_their_next_step_once(wired: Runtime, smtp_server: SmtpServer) -> None:
    keys = _import_library(wired, None, enable=False)
    assert "payment-failed" in keys
    with wired.transaction() as session:
        set_enabled(session, actor="t", key="payment-failed", enabled=True)
    tick(wired, now=NOW, policy=FAST)
    assert [m_["To"] for m_ in smtp_server.messages] == ["admin@unpaid.example.jp"]
    assert _counts(wired)["tasks"] == 0  # the task is step 2, three days later
    for _ in range(2):
        tick(wired, now=NOW + dt.timedelta(days=3, minutes=1), evaluate=False, policy=FAST)
    with wired.transaction() as session:
        [task] = session.scalars(select(m.Task)).all()
    assert task.title.startswith("決済失敗のフォロー") and task.priority == "high"
    assert "card_declined" in (task.reason or "")


def test_dry_run_lists_accounts_and_reasons_and_writes_nothing(wired: Runtime) -> None:
    _import_library(wired, None, enable=False)
    with wired.transaction() as session:
        report = evaluate_playbook(session, key="renewal-due", now=NOW, dry_run=True)
    assert [(o.account_name, o.outcome) for o in report.outcomes] == [("株式会社renewing", "would_act")]
    assert "更新日" in report.outcomes[0].reason and report.jobs_queued == 3
    assert _counts(wired)["jobs"] == 0
    with wired.transaction() as session:
        assert session.scalar(select(func.count()).select_from(m.PlaybookRun)) == 0


def test_conditions_exclude_accounts_and_the_log_says_why(wired: Runtime) -> None:
    text = """key: detractors-low-touch
name: {ja: ロータッチの批判者, en: Low-touch detractors}
trigger: {type: nps_detractor}
conditions:
  - {field: touch_tier, eq: low}
actions:
  - {type: create_task, title: 電話}
"""
    with wired.transaction() as session:
        import_playbook(session, actor="t", yaml_text=text)
        report = evaluate_playbook(session, key="detractors-low-touch", now=NOW)
    [outcome] = report.outcomes
    assert outcome.outcome == "excluded" and "touch_tier eq 'low' (is 'high')" in (outcome.detail or "")
    with wired.transaction() as session:
        [row] = run_log(session, key="detractors-low-touch")
    assert row["outcome"] == "excluded" and row["actions"] == []


def test_versions_are_kept_and_export_returns_the_yaml(wired: Runtime) -> None:
    v1 = "key: pb-x\nname: 版1\ntrigger: {type: payment_failed}\nactions:\n  - {type: create_task, title: 一}\n"
    v2 = v1.replace("title: 一", "title: 二")
    with wired.transaction() as session:
        assert import_playbook(session, actor="t", yaml_text=v1)[1] is True
        assert import_playbook(session, actor="t", yaml_text=v1)[1] is False
        playbook, changed = import_playbook(session, actor="t", yaml_text=v2)
        assert changed and playbook.current_version == 2
        assert export_playbook(session, key="pb-x") == v2
        assert export_playbook(session, key="pb-x", version=1) == v1


def test_actions_change_stage_with_history_and_open_opportunities(wired: Runtime) -> None:
    _import_library(wired, None, enable=False)
    with wired.transaction() as session:
        set_enabled(session, actor="t", key="expansion-seats", enabled=True)
    tick(wired, now=NOW, policy=FAST)
    with wired.transaction() as session:
        [opportunity] = session.scalars(select(m.Opportunity)).all()
        [change] = session.scalars(
            select(m.LifecycleChange).where(m.LifecycleChange.actor == "playbook:expansion-seats")
        )
        account = session.get(m.Account, opportunity.account_id)
    assert opportunity.kind == "upsell" and opportunity.amount_minor == 10_000  # 20% of 50,000 MRR
    assert change.from_stage == "adoption" and change.to_stage == "expansion"
    assert account is not None and account.lifecycle_stage == "expansion"


WORKER_THAT_DIES = """
import datetime as dt, os, signal, sys
from pathlib import Path
from kizuna.playbooks.jobs import process_jobs
from kizuna.runtime import Runtime
from kizuna.settings import Settings

runtime = Runtime.open(Settings(data_dir=Path(sys.argv[1])))
seen = []

def die_in_the_seventh_job(job):
    seen.append(job.id)
    if len(seen) == 7:
        os.kill(os.getpid(), signal.SIGKILL)  # no cleanup, no rollback: the process is simply gone

process_jobs(runtime, now=dt.datetime.fromisoformat(sys.argv[2]), worker="doomed", batch_size=3,
             before_commit=die_in_the_seventh_job)
"""


def test_a_killed_worker_process_loses_nothing(wired: Runtime) -> None:
    import signal
    import subprocess
    import sys

    _import_library(wired, None)
    evaluate_enabled(wired, now=NOW)
    with wired.transaction() as session:
        due = session.scalar(select(func.count()).select_from(m.PendingJob).where(m.PendingJob.run_after <= NOW))
    assert due and due > 10
    done = subprocess.run(
        [sys.executable, "-c", WORKER_THAT_DIES, str(wired.settings.data_dir), NOW.isoformat()],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()
    with wired.transaction() as session:
        statuses = dict(
            session.execute(
                select(m.PendingJob.status, func.count())
                .where(m.PendingJob.run_after <= NOW)
                .group_by(m.PendingJob.status)
            ).all()
        )
    assert statuses == {"done": 6, "running": due - 6}  # two batches of three committed; the third died with it
    resumed = process_jobs(wired, now=NOW + dt.timedelta(minutes=6), worker="heir")
    assert resumed.done == due - 6 and resumed.failed == 0
    with wired.transaction() as session:
        keys = session.scalars(select(m.Task.dedupe_key)).all()
        jobs_left = session.scalar(
            select(func.count())
            .select_from(m.PendingJob)
            .where(m.PendingJob.run_after <= NOW, m.PendingJob.status != "done")
        )
    assert jobs_left == 0 and len(keys) == len(set(keys)) == 13


def test_the_in_process_scheduler_starts_ticks_and_stops(runtime: Runtime) -> None:
    import time

    from kizuna.playbooks.jobs import start_scheduler, stop_scheduler

    with runtime.transaction() as session:
        account = factories.account(session, created_at=dt.datetime.now(dt.UTC))
        import_playbook(
            session,
            actor="t",
            yaml_text=(LIBRARY_DIR / "new-account.yaml")
            .read_text(encoding="utf-8")
            .replace("enabled: false", "enabled: true"),
        )
    scheduler = start_scheduler(runtime, interval=0.05)
    deadline = time.monotonic() + 60
    while scheduler.ticks < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    stop_scheduler(scheduler)
    assert scheduler.ticks >= 2 and scheduler._thread is None
    with runtime.transaction() as session:
        [task] = session.scalars(select(m.Task)).all()
    assert task.account_id == account.id and task.title.startswith("キックオフ日程の調整")


def test_the_run_log_finds_each_firings_jobs_through_an_index(session: Session) -> None:
    """The customer 360 asks for an account's run log on every view: its jobs are found through the account's index,
    never a scan of ``pending_jobs`` (which grows with every refresh), and each firing gets its own jobs only."""
    scenario = build(session, snapshots=False)
    detractor = scenario.accounts["detractor"]
    for key, titles in (("call-detractors", ["電話"]), ("call-detractors-x", ["電話", "メール"])):
        actions = "".join(f"  - {{type: create_task, title: {t}}}\n" for t in titles)
        yaml_text = f"key: {key}\nname: {{ja: {key}, en: {key}}}\ntrigger: {{type: nps_detractor}}\nactions:\n{actions}"
        import_playbook(session, actor="t", yaml_text=yaml_text)
        evaluate_playbook(session, key=key, now=NOW)
    for other in range(30):  # other accounts' jobs the run log must not read
        session.add(
            m.PendingJob(
                idempotency_key=f"call-detractors:{other}:x:a0",
                kind="action",
                account_id=scenario.accounts["busy"].id,
                payload={"action": {"type": "create_task"}},
            )
        )
    session.flush()

    statements: list[tuple[str, Any]] = []
    connection = session.connection()

    def remember(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        statements.append((statement, parameters))

    event.listen(connection, "before_cursor_execute", remember)
    try:
        rows = run_log(session, account_id=detractor.id)
    finally:
        event.remove(connection, "before_cursor_execute", remember)

    by_playbook = {row["playbook"]: row for row in rows}
    assert set(by_playbook) == {"call-detractors", "call-detractors-x"}
    assert [a["type"] for a in by_playbook["call-detractors"]["actions"]] == ["create_task"]
    assert [a["type"] for a in by_playbook["call-detractors-x"]["actions"]] == ["create_task", "create_task"]
    assert all(a["status"] == "pending" for row in rows for a in row["actions"])

    job_queries = [(sql, params) for sql, params in statements if "pending_jobs" in sql]
    assert len(job_queries) == 1  # one query for all the entries, not one per entry
    if connection.dialect.name == "sqlite":
        for sql, params in job_queries:
            plan = " / ".join(r[-1] for r in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params))
            assert "SCAN pending_jobs" not in plan and "ix_pending_jobs_account_id" in plan, plan


def test_the_run_log_stays_bounded_over_repeated_evaluations(session: Session) -> None:
    """Every refresh and scheduler pass evaluates every playbook; a standing signal (acted on, or its condition
    unmet) is logged when its outcome changes, not again at each pass, and a run that logged and queued nothing
    replaces the playbook's previous such run: the log grew by one row per standing signal and one run per playbook
    at every evaluation (bench/soak.py: +390 rows a day on 500 accounts)."""
    build(session)
    keys = [key for key, _ in import_library(session, actor="t")]

    def evaluate_all(round_: int) -> list[Any]:
        return [evaluate_playbook(session, key=key, now=NOW + dt.timedelta(hours=round_)) for key in keys]

    def log_rows() -> int:
        return session.scalar(select(func.count()).select_from(m.PlaybookRunAccount)) or 0

    def runs() -> int:
        return session.scalar(select(func.count()).select_from(m.PlaybookRun)) or 0

    first = evaluate_all(0)
    queued = log_rows()
    assert queued == sum(len(r.outcomes) for r in first) > 10
    second = evaluate_all(1)
    assert {o.outcome for r in second for o in r.outcomes} == {"already_acted"}
    settled = log_rows()
    assert settled == 2 * queued - sum(1 for r in first for o in r.outcomes if o.outcome == "already_acted")
    evaluate_all(2)
    kept_runs = runs()
    assert kept_runs == 3 * len(keys)  # two runs that logged and the latest, silent one, per playbook
    for round_ in range(3, 8):
        again = evaluate_all(round_)
        assert sum(len(r.outcomes) for r in again) == sum(len(r.outcomes) for r in second)  # the same signals
        assert log_rows() == settled, f"round {round_}: the run log grew"
        assert runs() == kept_runs, f"round {round_}: the runs grew"
    assert session.scalar(select(func.max(m.PlaybookRun.started_at))) == NOW + dt.timedelta(hours=7)
    runs = session.scalars(select(m.PlaybookRun).order_by(m.PlaybookRun.id.desc()).limit(len(keys))).all()
    assert sum(run.signals for run in runs) == sum(len(r.outcomes) for r in second)  # the counts still say it all
    # an account's log shows each of its firings once queued and once already acted on, the latter newest
    account = first[0].outcomes[0].account_id
    outcomes = [e["outcome"] for e in run_log(session, key=keys[0], account_id=account)]
    assert outcomes[0] == "already_acted" and outcomes.count("queued") == outcomes.count("already_acted") > 0


def test_evaluation_reads_the_attributes_its_conditions_and_stakes_name_with_the_same_result(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each playbook reads only the attributes it names (the snapshots of no condition are not read): the outcomes,
    the run log and the queued jobs (their stakes basis too) are those of every attribute read for every firing."""
    from kizuna.playbooks import service
    from kizuna.segments.attributes import account_attributes

    build(session)
    keys = [key for key, _ in import_library(session, actor="t")]
    conditions = """key: named-everything
name: 名前
trigger: {type: payment_failed}
conditions:
  - {field: health.overall.score, gte: 0}
  - {field: segments, exists: false}
  - {field: plans, exists: true}
actions:
  - {type: create_task, title: 電話}
"""
    keys.append(import_playbook(session, actor="t", yaml_text=conditions)[0].key)
    session.flush()

    def evaluate() -> list[Any]:
        out: list[Any] = []
        savepoint = session.begin_nested()
        for key in keys:
            for dry_run in (True, False):
                report = evaluate_playbook(session, key=key, now=NOW, dry_run=dry_run)
                out.append([(o.account_id, o.outcome, o.reason, o.detail, o.task, o.stakes) for o in report.outcomes])
        out.append(
            session.execute(
                select(m.PendingJob.idempotency_key, m.PendingJob.account_id, m.PendingJob.payload).order_by(
                    m.PendingJob.idempotency_key
                )
            ).all()
        )
        out.append(
            session.execute(
                select(
                    m.PlaybookRunAccount.firing_key, m.PlaybookRunAccount.outcome, m.PlaybookRunAccount.detail
                ).order_by(m.PlaybookRunAccount.firing_key)
            ).all()
        )
        savepoint.rollback()
        return out

    named = evaluate()
    monkeypatch.setattr(
        service,
        "account_attributes",
        lambda session, ids, *, today, names=None: account_attributes(session, ids, today=today),
    )
    assert evaluate() == named
    assert any(row[2]["signal"]["stakes_basis"]["arr_minor"] for row in named[-2])
    assert [outcome[1] for outcome in named[-3]] == ["queued"]  # the playbook naming each group met its conditions


def _planned_one_by_one(definition: Any, signal: Any, firing_key: str, now: dt.datetime) -> list[dict[str, Any]]:
    """The jobs of one firing as ``_planned_jobs`` built them before: each action dumped for each firing."""
    from kizuna.playbooks import schemas as s

    base = {
        "playbook_key": definition.key,
        "playbook_name": definition.title(),
        "trigger_type": definition.trigger.type,
        "signal": {
            "fingerprint": signal.fingerprint,
            "reason": signal.reason,
            "facts": signal.facts,
            "contact_id": signal.contact_id,
            "stakes_basis": {"risk": 0.25, "arr_minor": 1200.0},
        },
    }
    rows = []
    for i, action in enumerate(definition.actions):
        if isinstance(action, s.StartSequence):
            at, steps = now, []
            for j, step in enumerate(action.steps):
                at = at + dt.timedelta(days=step.wait_days)
                steps.append((f"a{i}:{action.name}:s{j}", step.action, at))
        else:
            steps = [(f"a{i}", action, now)]
        for path, simple, run_after in steps:
            rows.append(
                {
                    "idempotency_key": f"{firing_key}:{path}"[:300],
                    "kind": "action",
                    "playbook_id": 7,
                    "run_id": 9,
                    "account_id": signal.account_id,
                    "payload": {
                        **base,
                        "action": simple.model_dump(mode="json", by_alias=True, exclude_none=True),
                        "action_path": path,
                    },
                    "status": "pending",
                    "run_after": run_after,
                    "attempts": 0,
                    "max_attempts": 5,
                    "created_at": now,
                }
            )
    return rows


def test_the_jobs_of_a_firing_are_those_of_each_action_dumped_for_it(session: Session) -> None:
    from kizuna.playbooks.service import _action_steps, _planned_jobs, definition_of, get_playbook
    from kizuna.playbooks.triggers import Signal

    keys = [key for key, _ in import_library(session, actor="t")]
    attributes = {"risk.probability": 0.25, "arr_minor": 1200}
    for key in keys:
        definition = definition_of(session, get_playbook(session, key))
        steps = _action_steps(definition, NOW)
        for account_id in (1, 2):
            signal = Signal(account_id, f"fp-{account_id}", "理由", {"n": account_id}, contact_id=3)
            firing_key = f"{key}:{account_id}:fp-{account_id}"
            planned = _planned_jobs(
                definition, signal, firing_key, NOW, playbook_id=7, run_id=9, steps=steps, attributes=attributes
            )
            assert planned == _planned_one_by_one(definition, signal, firing_key, NOW), key
            assert [list(job) for job in planned] == [
                list(job) for job in _planned_one_by_one(definition, signal, firing_key, NOW)
            ]
