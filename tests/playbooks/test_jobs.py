"""The scheduler and the job runner under several processes: one scheduler per installation, a restart that evaluates
nothing again, a worker that outlived its lease, and retention -- on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from kizuna import models as m
from kizuna.platform.outbox.models import MessageStatus
from kizuna.platform.outbox.service import DeliveryPolicy
from kizuna.platform.queue import claim
from kizuna.playbooks.jobs import (
    Scheduler,
    WorkReport,
    _run_job,
    apply_retention,
    evaluate_enabled,
    process_jobs,
    tick,
)
from kizuna.playbooks.models import JobStatus
from kizuna.playbooks.service import import_playbook
from kizuna.runtime import Runtime
from tests import factories
from tests.platform.outbox.loopback import WebhookPeer

FAST = DeliveryPolicy(backoff_seconds=0.0, requeue_seconds=0.0)

WELCOME_AND_HOOK = """
key: welcome-hook
name: {ja: 新規アカウントの通知, en: Tell the team about new accounts}
enabled: true
trigger: {type: account_created, within_days: 3}
actions:
  - {type: send_email, template: welcome, to: all_contacts}
  - {type: webhook, url: "URL", format: json}
  - type: create_task
    title: {ja: "キックオフ日程の調整: {{ account.name }}", en: "Schedule the kickoff with {{ account.name }}"}
"""


def _new_accounts(runtime: Runtime, n: int, *, now: dt.datetime, hook_url: str = "http://127.0.0.1:9/x") -> None:
    with runtime.transaction() as session:
        for i in range(n):
            account = factories.account(session, name=f"株式会社新規{i}", created_at=now - dt.timedelta(hours=1))
            factories.contact(session, account)
        import_playbook(session, actor="t", yaml_text=WELCOME_AND_HOOK.replace("URL", hook_url))


def _count(runtime: Runtime, model: type[object], *where: object) -> int:
    with runtime.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)  # type: ignore[arg-type]


def test_one_scheduler_per_installation_evaluates(db_runtime: Runtime) -> None:
    _new_accounts(db_runtime, 3, now=dt.datetime.now(dt.UTC))
    web_worker_1, web_worker_2 = Scheduler(db_runtime), Scheduler(db_runtime)
    try:
        first, second = web_worker_1.run_once(), web_worker_2.run_once()
        assert (first["lead"], second["lead"]) == (True, False)
        assert (first["playbooks"], second["playbooks"]) == (1, 0)
        assert _count(db_runtime, m.PlaybookRun) == 1
        assert _count(db_runtime, m.Task) == 3
    finally:
        web_worker_1.stop()
        web_worker_2.stop()


def test_a_restarted_scheduler_evaluates_nothing_again(db_runtime: Runtime) -> None:
    _new_accounts(db_runtime, 2, now=dt.datetime.now(dt.UTC))
    before_restart = Scheduler(db_runtime)
    before_restart.run_once()
    before_restart.stop()  # the server stops; its leader lock goes with it
    jobs = _count(db_runtime, m.PendingJob)
    for _ in range(3):  # three restarts within the evaluation interval
        restarted = Scheduler(db_runtime)
        summary = restarted.run_once()
        restarted.stop()
        assert summary["lead"] and summary["playbooks"] == 0
    assert _count(db_runtime, m.PlaybookRun) == 1 and _count(db_runtime, m.PendingJob) == jobs
    later = Scheduler(db_runtime, evaluate_every=dt.timedelta(0))  # once the interval has passed, it evaluates
    assert later.run_once()["playbooks"] == 1
    later.stop()


def test_a_worker_that_outlived_its_lease_does_not_act_again(db_runtime: Runtime) -> None:
    now = dt.datetime.now(dt.UTC)
    _new_accounts(db_runtime, 3, now=now)
    evaluate_enabled(db_runtime, now=now)
    stale = db_runtime.write(
        lambda session: claim(
            session,
            m.PendingJob,
            ready_status=JobStatus.pending,
            claimed_status=JobStatus.running,
            due_column=m.PendingJob.run_after,
            worker="slow",
            now=now,
            lease=dt.timedelta(minutes=5),
            limit=100,
        )
    )
    assert len(stale) == 9  # three accounts, three actions
    # the slow worker's lease ends; another claims the jobs and runs them
    assert process_jobs(db_runtime, now=now + dt.timedelta(minutes=6), worker="heir").done == 9
    # the slow worker wakes up and runs what it had claimed, under its old tokens
    late = WorkReport()

    def run_late(session: object) -> None:
        for job_id, token in stale.items():
            _run_job(
                session,  # type: ignore[arg-type]
                job_id,
                token=token,
                worker="slow",
                settings=db_runtime.settings,
                report=late,
                before_commit=None,
            )

    db_runtime.write(run_late)
    assert (late.done, late.failed, late.retrying) == (0, 0, 0)
    assert _count(db_runtime, m.Task) == 3 and _count(db_runtime, m.OutboundMessage) == 6


@pytest.mark.postgres
def test_postgres_workers_racing_over_an_expired_lease_act_once(db_runtime: Runtime, webhook_peer: WebhookPeer) -> None:
    if db_runtime.engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one writer at a time: a batch holds the write lock, no claim can come in between")
    now = dt.datetime.now(dt.UTC)
    _new_accounts(db_runtime, 4, now=now, hook_url=webhook_peer.url("/hook"))
    evaluate_enabled(db_runtime, now=now)
    heir: list[int] = []

    def lease_runs_out_in_the_first_job(_job: m.PendingJob) -> None:
        if not heir:  # while the first worker is inside its first job, its lease ends and another worker comes
            thread = threading.Thread(
                target=lambda: heir.append(process_jobs(db_runtime, now=now + dt.timedelta(minutes=6)).done)
            )
            thread.start()
            thread.join(60)

    first = process_jobs(
        db_runtime, now=now, worker="first", batch_size=100, before_commit=lease_runs_out_in_the_first_job
    )
    assert first.done + heir[0] == 12 and heir[0] >= 1
    tick(db_runtime, now=now + dt.timedelta(minutes=7), evaluate=False, policy=FAST)
    assert _count(db_runtime, m.Task) == 4
    assert sorted(webhook_peer.posts_per_key().values()) == [1, 1, 1, 1]


def test_retention_compacts_finished_work_and_acts_on_nothing_again(
    db_runtime: Runtime, webhook_peer: WebhookPeer
) -> None:
    now = dt.datetime.now(dt.UTC)
    _new_accounts(db_runtime, 3, now=now, hook_url=webhook_peer.url("/hook"))
    tick(db_runtime, now=now, policy=FAST)
    evaluate_enabled(db_runtime, now=now)  # a second run: its log says "already acted"
    assert _count(db_runtime, m.PlaybookRun) == 2 and _count(db_runtime, m.PlaybookRunAccount) == 6
    kept = apply_retention(db_runtime, now=now + dt.timedelta(days=db_runtime.settings.retention_days - 1))
    assert not any(kept.values())  # nothing is old enough yet
    counts = apply_retention(db_runtime, now=now + dt.timedelta(days=db_runtime.settings.retention_days + 1))
    assert counts == {"run_log_rows": 6, "runs": 2, "jobs_compacted": 9, "messages_compacted": 6, "connector_runs": 0}
    assert apply_retention(db_runtime, now=now + dt.timedelta(days=400)) == dict.fromkeys(counts, 0)
    with db_runtime.transaction() as session:
        jobs = session.scalars(select(m.PendingJob)).all()
        messages = session.scalars(select(m.OutboundMessage)).all()
    assert {j.status for j in jobs} == {JobStatus.done} and {j.result for j in jobs} == {None}
    assert {j.payload["action"]["type"] for j in jobs} == {"send_email", "webhook", "create_task"}
    assert {(msg.status, msg.body, msg.payload) for msg in messages} == {
        (MessageStatus.outbox, None, None),  # the e-mails (no SMTP here: written to the outbox directory)
        (MessageStatus.sent, None, None),  # the webhooks
    }
    assert len(webhook_peer.requests) == 3
    # the same firings evaluated again: the kept keys say they were acted on
    again = tick(db_runtime, now=now, policy=FAST)
    assert again["jobs"]["done"] == 0 and _count(db_runtime, m.PendingJob) == 9 and _count(db_runtime, m.Task) == 3
    assert len(webhook_peer.requests) == 3


def _children(pid: int) -> list[int]:
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


@pytest.mark.slow
def test_kizuna_serve_with_two_worker_processes_runs_one_scheduler(runtime: Runtime, tmp_path: Path) -> None:
    from tests.servers import free_port

    _new_accounts(runtime, 2, now=dt.datetime.now(dt.UTC))
    port = free_port()
    env = {**os.environ, "KIZUNA_DATA_DIR": str(runtime.settings.data_dir), "PYTHONPATH": os.pathsep.join(sys.path)}
    log_path = tmp_path / "serve.log"
    server = subprocess.Popen(
        [sys.executable, "-c", "from kizuna.cli import main; main()", "serve", "--workers", "2", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log_path.open("wb"),
    )
    try:
        deadline = time.monotonic() + 180
        up = False
        while time.monotonic() < deadline and not up:
            try:
                up = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
            except httpx.HTTPError:
                time.sleep(0.5)
        assert up and server.poll() is None, log_path.read_text()
        workers = [c for c in _children(server.pid) if "spawn" in Path(f"/proc/{c}/cmdline").read_text()]
        assert len(workers) == 2, workers
        time.sleep(10)  # both workers' lifespans have started a scheduler, whose first round runs at once
        assert _count(runtime, m.PlaybookRun) == 1
        assert _count(runtime, m.Task) == 2
    finally:
        server.terminate()
        server.wait(60)
