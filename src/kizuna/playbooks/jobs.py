"""Playbook work: the refresh step, the job worker and the scheduler (in-process thread or ``kizuna worker``).

- :func:`evaluate_enabled` evaluates every enabled playbook, each in its own transaction.
- :func:`process_jobs` claims due pending jobs (a lease; ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, an atomic
  ``UPDATE ... RETURNING`` on SQLite) and runs each action in the same transaction that marks its job done, so a crash
  rolls the action back and the job is claimed again when its lease ends: nothing lost, nothing done twice. A job's
  "done" is written under its claim's fencing token (:func:`kizuna.platform.queue.fence`): a worker that outlived its
  lease finds the job claimed by another and rolls its action back.
- :func:`kizuna.platform.outbox.service.deliver_queued` then sends the emails and webhooks those transactions queued.
- :func:`tick` does the three; :class:`Scheduler` calls it every ``interval`` seconds in a thread
  (:func:`start_scheduler` / :func:`stop_scheduler` for the web app's lifespan); :func:`run_worker` is the foreground
  loop behind ``kizuna worker``.
- One scheduler per installation: every process that runs a :class:`Scheduler` (each ``kizuna serve`` worker process,
  each ``kizuna worker``) asks for the leader lock (:class:`kizuna.platform.leader.LeaderLock`) each round. Only its
  holder evaluates playbooks, wakes and releases tasks and applies retention; the others only run due jobs and
  deliver messages, which their claims make safe to share. A (re)started scheduler reads when playbooks were last
  evaluated from ``playbook_runs`` and waits out ``evaluate_every`` from then: a restart evaluates nothing again.
- :func:`apply_retention` keeps finished jobs, sent messages and the run log ``retention_days`` days in full.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from kizuna.connectors.service import delete_old_runs as delete_old_connector_runs
from kizuna.crm import jobs as crm_jobs
from kizuna.db import utcnow
from kizuna.errors import KizunaError
from kizuna.hub.context import RefreshContext
from kizuna.hub.watermark import Watermark, current_watermark
from kizuna.imports.models import ImportRun
from kizuna.imports.service import recover_interrupted_imports
from kizuna.mail import jobs as mail_jobs
from kizuna.platform.leader import LeaderLock
from kizuna.platform.outbox.service import DeliveryPolicy, compact_messages, deliver_queued
from kizuna.platform.queue import claim, fence, worker_name
from kizuna.playbooks import batch as batch_actions
from kizuna.playbooks.actions import Prefetched, execute_action, prefetch
from kizuna.playbooks.models import JobStatus, PendingJob, Playbook, PlaybookRun, PlaybookRunAccount, RunMode
from kizuna.playbooks.service import evaluate_playbook
from kizuna.runtime import Runtime
from kizuna.settings import Settings
from kizuna.slack import delivery as slack_delivery
from kizuna.tasks.service import release_waiting, wake_snoozed
from kizuna.teams import delivery as teams_delivery

log = logging.getLogger(__name__)

DEFAULT_LEASE = dt.timedelta(minutes=5)
#: jobs per transaction: run as sets (one claim's worth), or one by one
SET_BATCH = 500
ONE_BY_ONE_BATCH = 50


def evaluate_enabled(
    runtime: Runtime,
    *,
    now: dt.datetime | None = None,
    keys: list[str] | None = None,
    actor: str = "scheduler",
    watermark: Watermark | None = None,
) -> list[dict[str, Any]]:
    """Evaluate enabled playbooks (or the given ones, enabled or not), each in its own committed transaction.

    ``watermark`` says what acts (back-fill mode, :mod:`kizuna.hub.watermark`); default: what follows the hub's
    latest refresh."""
    now = now or utcnow()
    with runtime.transaction() as session:
        stmt = select(Playbook.key).order_by(Playbook.key)
        stmt = stmt.where(Playbook.key.in_(keys)) if keys else stmt.where(Playbook.enabled.is_(True))
        chosen = list(session.scalars(stmt))
        if watermark is None:
            watermark = current_watermark(session, now=now)
    summaries = []
    for key in chosen:
        with runtime.transaction(write=True) as session:
            report = evaluate_playbook(
                session, key=key, actor=actor, now=now, language=runtime.settings.language, watermark=watermark
            )
        summaries.append(report.summary())
    return summaries


def scheduler_watermark(session: Session, *, now: dt.datetime) -> Watermark:
    """What the background scheduler acts on: what follows the hub's latest refresh; before the first refresh of a
    hub that imported files (a web upload of history while the server runs), nothing: the first refresh decides
    (quiet, or ``--act-on-history``). A hub filled otherwise (the API, a script) acts as before."""
    mark = current_watermark(session, now=now)
    if mark.since is None and session.scalar(select(ImportRun.id).where(ImportRun.status == "done").limit(1)):
        return Watermark(since=None, quiet=True)
    return mark


@dataclass
class WorkReport:
    done: int = 0
    retrying: int = 0
    failed: int = 0
    results: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {"done": self.done, "retrying": self.retrying, "failed": self.failed}


def process_jobs(
    runtime: Runtime,
    *,
    now: dt.datetime | None = None,
    limit: int = 500,
    lease: dt.timedelta = DEFAULT_LEASE,
    worker: str | None = None,
    batch_size: int | None = None,
    before_commit: Callable[[PendingJob], None] | None = None,
) -> WorkReport:
    """Run the due pending jobs, ``batch_size`` per transaction (default: 500 run as sets, 50 one by one).

    Without ``before_commit`` a batch's actions run as sets (:mod:`kizuna.playbooks.batch`: its reads once, its
    writes as multi-row inserts; an action it does not know, and any job whose action fails, runs one by one). With
    ``before_commit`` (an observer) each job runs one by one in a savepoint of its own.

    A job's action and its "done" mark commit together; a job that raises is rolled back to its savepoint and
    retried later with back-off (given up after ``max_attempts``). If the process dies, its uncommitted batch is
    rolled back and its claimed jobs are taken again by any worker once the lease ends: nothing is lost, nothing done
    twice. ``before_commit`` (if given) is called inside each job's savepoint after its action ran -- an observer
    hook; a ``BaseException`` raised from it aborts the whole batch like a crash would.
    """
    worker = worker or worker_name()
    report = WorkReport()
    tokens = runtime.write(
        lambda session: claim(
            session,
            PendingJob,
            ready_status=JobStatus.pending,
            claimed_status=JobStatus.running,
            due_column=PendingJob.run_after,
            worker=worker,
            now=now or utcnow(),
            lease=lease,
            limit=limit,
        )
    )
    ids = sorted(tokens)
    size = max(1, batch_size or (ONE_BY_ONE_BATCH if before_commit is not None else SET_BATCH))
    for start in range(0, len(ids), size):
        batch = ids[start : start + size]

        def run_batch(session: Session, batch: list[int] = batch) -> WorkReport:
            part = WorkReport()  # counted apart: a batch retried after "database is locked" is counted once
            loaded = _preload(session, batch)  # (held so the identity map keeps the rows for the batch)
            prefetched = prefetch(session, [row for row in loaded if isinstance(row, PendingJob)])
            if before_commit is None:
                _run_batch_as_sets(
                    session,
                    batch,
                    tokens=tokens,
                    worker=worker,
                    settings=runtime.settings,
                    report=part,
                    prefetched=prefetched,
                )
                return part
            for job_id in batch:
                _run_job(
                    session,
                    job_id,
                    token=tokens[job_id],
                    worker=worker,
                    settings=runtime.settings,
                    report=part,
                    before_commit=before_commit,
                    prefetched=prefetched,
                )
            return part

        part = runtime.write(run_batch)
        report.done += part.done
        report.retrying += part.retrying
        report.failed += part.failed
        report.results.extend(part.results)
    return report


def _preload(session: Session, job_ids: list[int]) -> list[object]:
    """Load a batch's jobs, their accounts and the accounts' owners in three queries instead of three per job."""
    from kizuna.accounts.models import Account, TeamMember

    jobs = list(session.scalars(select(PendingJob).where(PendingJob.id.in_(job_ids))))
    account_ids = {j.account_id for j in jobs if j.account_id is not None}
    accounts = list(session.scalars(select(Account).where(Account.id.in_(account_ids)))) if account_ids else []
    owner_ids = {a.owner_id for a in accounts if a.owner_id is not None}
    owners = list(session.scalars(select(TeamMember).where(TeamMember.id.in_(owner_ids)))) if owner_ids else []
    return [*jobs, *accounts, *owners]


def _hold_all(session: Session, job_ids: list[int], *, worker: str, tokens: dict[int, int]) -> set[int]:
    """The jobs of ``job_ids`` that ``worker``'s claims still hold (their tokens as in ``tokens``), in one update;
    on PostgreSQL it also locks their rows until commit (as :func:`_holds` does for one)."""
    held: set[int] = set()
    for start in range(0, len(job_ids), 900):
        chunk = job_ids[start : start + 900]
        rows = session.execute(
            update(PendingJob)
            .where(
                PendingJob.id.in_(chunk),
                PendingJob.lease_owner == worker,
                PendingJob.status == JobStatus.running,
            )
            .values(lease_owner=worker)
            .returning(PendingJob.id, PendingJob.attempts)
            .execution_options(synchronize_session=False)
        ).all()
        held.update(int(job_id) for job_id, attempts in rows if tokens.get(int(job_id)) == int(attempts))
    return held


def _run_batch_as_sets(
    session: Session,
    batch: list[int],
    *,
    tokens: dict[int, int],
    worker: str,
    settings: Settings,
    report: WorkReport,
    prefetched: Prefetched,
) -> None:
    """Run a batch's jobs: runs of consecutive jobs whose actions :mod:`kizuna.playbooks.batch` works out as sets
    are done as sets (each in a savepoint; one that fails is rolled back and its jobs run one by one), the others
    one by one in their own savepoints, in id order."""
    held = _hold_all(session, batch, worker=worker, tokens=tokens)
    for job_id in batch:
        if job_id not in held:
            log.info("job %s was claimed by another worker after %s's lease ended; not run here", job_id, worker)
    run: list[PendingJob] = []

    def one_by_one(job_ids: list[int]) -> None:
        for job_id in job_ids:
            _run_job(
                session,
                job_id,
                token=tokens[job_id],
                worker=worker,
                settings=settings,
                report=report,
                before_commit=None,
                prefetched=prefetched,
            )

    def as_set() -> None:
        if not run:
            return
        jobs = list(run)
        run.clear()
        try:
            with session.begin_nested():
                results, own_path = batch_actions.run_as_set(session, jobs, settings=settings, prefetched=prefetched)
        except Exception:  # the set's writes failed as a whole: each job on its own, with its own error
            log.warning("a set of %s jobs failed; running them one by one", len(jobs), exc_info=True)
            one_by_one([job.id for job in jobs])
            return
        report.done += len(results)
        report.results.extend(results[job.id] for job in jobs if job.id in results)
        one_by_one([job.id for job in own_path])

    for job_id in batch:
        if job_id not in held:
            continue
        job = session.get(PendingJob, job_id)
        if job is not None and batch_actions.runs_as_set(job):
            run.append(job)
            continue
        as_set()
        one_by_one([job_id])
    as_set()


def _holds(session: Session, job_id: int, *, worker: str, token: int) -> bool:
    """Whether ``worker``'s claim ``token`` still holds the job; on PostgreSQL this also locks the row until commit,
    so no other worker can claim it from here on (a claim skips locked rows)."""
    result = session.execute(
        update(PendingJob)
        .where(fence(PendingJob, job_id, worker=worker, token=token, claimed_status=JobStatus.running))
        .values(lease_owner=worker)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def _run_job(
    session: Session,
    job_id: int,
    *,
    token: int,
    worker: str,
    settings: Settings,
    report: WorkReport,
    before_commit: Callable[[PendingJob], None] | None,
    prefetched: Prefetched | None = None,
) -> None:
    error: str | None = None
    try:
        with session.begin_nested():
            if not _holds(session, job_id, worker=worker, token=token):
                log.info("job %s was claimed by another worker after %s's lease ended; not run here", job_id, worker)
                return
            job = session.get(PendingJob, job_id, populate_existing=True)
            if job is None:
                return
            result = execute_action(session, job, settings=settings, prefetched=prefetched)
            job.status = JobStatus.done
            job.result = result
            job.done_at = utcnow()
            job.lease_owner = None
            job.lease_until = None
            session.flush()
            if before_commit is not None:
                before_commit(job)
        report.done += 1
        report.results.append(result)
        return
    except KizunaError as exc:
        error = str(exc)
    except Exception as exc:  # an unexpected bug in one action must not stop the others
        log.exception("job %s failed", job_id)
        error = f"{type(exc).__name__}: {exc}"
    if not _holds(session, job_id, worker=worker, token=token):
        return
    job = session.get(PendingJob, job_id, populate_existing=True)
    if job is None:
        return
    job.last_error = error[:2000]
    job.lease_owner = None
    job.lease_until = None
    if job.attempts >= job.max_attempts:
        job.status = JobStatus.failed
        report.failed += 1
    else:
        job.status = JobStatus.pending
        job.run_after = utcnow() + dt.timedelta(minutes=2**job.attempts)
        report.retrying += 1
    session.flush()


def tick(
    runtime: Runtime,
    *,
    now: dt.datetime | None = None,
    evaluate: bool = True,
    policy: DeliveryPolicy | None = None,
    lead: bool = True,
    watermark: Watermark | None = None,
) -> dict[str, Any]:
    """One scheduler round: wake snoozed tasks, evaluate enabled playbooks, run due jobs, release waiting tasks
    within each CSM's daily budget (most at stake first), deliver messages. ``watermark``: what acts (default: what
    follows the hub's latest refresh; a refresh passes its own).

    ``lead=False`` (a process that does not hold the leader lock) only runs due jobs and delivers messages."""
    now = now or utcnow()
    woken = runtime.write(lambda session: wake_snoozed(session, today=now.date())) if lead else 0
    evaluated = evaluate_enabled(runtime, now=now, watermark=watermark) if evaluate and lead else []
    work = WorkReport()
    while True:  # drain: a batch may queue more due work (never more than the queue holds)
        batch = process_jobs(runtime, now=now)
        work.done += batch.done
        work.retrying += batch.retrying
        work.failed += batch.failed
        if batch.done + batch.retrying + batch.failed == 0:
            break
    released = runtime.write(lambda session: release_waiting(session, today=now.date())) if lead else {}
    delivered = deliver_queued(
        runtime.sessions,
        settings=runtime.settings,
        now=max(now, utcnow()),
        policy=policy,
        limit=1000,
        senders={**slack_delivery.senders(runtime.settings), **teams_delivery.senders(runtime.settings)},
    )
    return {
        "lead": lead,
        "woken_tasks": woken,
        "playbooks": len(evaluated),
        "jobs": work.as_dict(),
        "released_tasks": sum(released.values()),
        "messages": delivered.as_dict(),
    }


def last_evaluation(runtime: Runtime) -> dt.datetime | None:
    """When enabled playbooks were last evaluated for real (the newest live run), from the database."""
    with runtime.transaction() as session:
        return session.scalar(select(func.max(PlaybookRun.started_at)).where(PlaybookRun.mode == RunMode.live))


def apply_retention(runtime: Runtime, *, now: dt.datetime | None = None) -> dict[str, int]:
    """Keep ``settings.retention_days`` days of finished work in full; older, each table is cut to what it must keep.

    - the run log: runs and their per-account rows are deleted (the log is for looking back, and grew by one row per
      signal at every evaluation); so are the connectors' sync runs, but each vendor's newest of each kind;
    - finished jobs and finished messages are compacted, not deleted: their idempotency key, status, attempts and
      times stay, so a firing that still fires months later is still recognised as acted on (deleting the key would
      act, and e-mail the customer, again); the payload keeps the action's type, the message loses its body.
    Each step is its own transaction, in chunks, so the web app's writers never wait long."""
    now = now or utcnow()
    cutoff = now - dt.timedelta(days=runtime.settings.retention_days)
    counts = {"run_log_rows": 0, "runs": 0, "jobs_compacted": 0, "messages_compacted": 0, "connector_runs": 0}
    while True:
        old_runs = runtime.write(lambda session: _delete_old_runs(session, cutoff=cutoff, counts=counts))
        if not old_runs:
            break
    while runtime.write(lambda session: _compact_jobs(session, cutoff=cutoff, counts=counts)):
        pass
    counts["messages_compacted"] = runtime.write(lambda session: compact_messages(session, before=cutoff))
    counts["connector_runs"] = 0
    while deleted := runtime.write(lambda session: delete_old_connector_runs(session, before=cutoff)):
        counts["connector_runs"] += deleted
    if any(counts.values()):
        log.info("retention (%s days): %s", runtime.settings.retention_days, counts)
    return counts


RETENTION_CHUNK = 500


def _delete_old_runs(session: Session, *, cutoff: dt.datetime, counts: dict[str, int]) -> int:
    runs = list(
        session.scalars(select(PlaybookRun.id).where(PlaybookRun.started_at < cutoff).limit(RETENTION_CHUNK // 10))
    )
    if not runs:
        return 0
    session.execute(update(PendingJob).where(PendingJob.run_id.in_(runs)).values(run_id=None))
    counts["run_log_rows"] += session.execute(  # type: ignore[attr-defined]
        delete(PlaybookRunAccount).where(PlaybookRunAccount.run_id.in_(runs))
    ).rowcount
    counts["runs"] += session.execute(delete(PlaybookRun).where(PlaybookRun.id.in_(runs))).rowcount  # type: ignore[attr-defined]
    return len(runs)


def _compact_jobs(session: Session, *, cutoff: dt.datetime, counts: dict[str, int]) -> int:
    rows = session.execute(
        select(PendingJob.id, PendingJob.payload)
        .where(
            PendingJob.status.in_([JobStatus.done, JobStatus.failed]),
            PendingJob.run_after < cutoff,
            or_(PendingJob.result.is_not(None), PendingJob.last_error.is_not(None)),
        )
        .limit(RETENTION_CHUNK)
    ).all()
    for job_id, payload in rows:
        action = (payload or {}).get("action") or {}
        compact = {
            "playbook_key": (payload or {}).get("playbook_key"),
            "action_path": (payload or {}).get("action_path"),
            "action": {"type": action.get("type", "unknown")},
            "compacted": True,
        }
        session.execute(
            update(PendingJob).where(PendingJob.id == job_id).values(payload=compact, result=None, last_error=None)
        )
    counts["jobs_compacted"] += len(rows)
    return len(rows)


class Scheduler:
    """Runs :func:`tick` every ``interval`` seconds (evaluating playbooks every ``evaluate_every``) in a thread.

    Each round asks for the installation's leader lock; only the holder evaluates, wakes and releases tasks, pulls
    the connected CRMs and mailbox that are due and applies retention (once a day); every scheduler runs due jobs
    and delivers messages."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        interval: float = 30.0,
        evaluate_every: dt.timedelta = dt.timedelta(minutes=15),
        leader: LeaderLock | None = None,
    ) -> None:
        self.runtime = runtime
        self.interval = interval
        self.evaluate_every = evaluate_every
        self.leader = leader or LeaderLock(runtime.engine)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_evaluation: dt.datetime | None = None
        self._last_retention: dt.datetime | None = None
        self.ticks = 0
        self.evaluations = 0

    def _evaluation_due(self, now: dt.datetime) -> bool:
        if self._last_evaluation is None:  # a (re)start: when did any scheduler or refresh last evaluate?
            self._last_evaluation = last_evaluation(self.runtime)
        return self._last_evaluation is None or now - self._last_evaluation >= self.evaluate_every

    def run_once(self) -> dict[str, Any]:
        now = utcnow()
        lead = self.leader.acquire()
        evaluate = lead and self._evaluation_due(now)
        watermark = None
        if evaluate:
            with self.runtime.transaction() as session:
                watermark = scheduler_watermark(session, now=now)
        summary = tick(self.runtime, now=now, evaluate=evaluate, lead=lead, watermark=watermark)
        if evaluate:
            self._last_evaluation = now
            self.evaluations += 1
        if lead:
            # the leader pulls each connected CRM every settings.connector_sync_minutes (kizuna.crm.jobs.due)
            crm = crm_jobs.pull_due(self.runtime, now=now)
            if crm:
                summary["crm"] = crm
            # and the connected mailbox on the same interval (kizuna.mail.jobs.due)
            mail = mail_jobs.pull_due(self.runtime, now=now)
            if mail:
                summary["mail"] = mail
        if lead and (self._last_retention is None or now - self._last_retention >= dt.timedelta(days=1)):
            summary["retention"] = apply_retention(self.runtime, now=now)
            self._last_retention = now
        self.ticks += 1
        return summary

    def recover(self) -> dict[str, int]:
        """What killed imports left behind, cleaned up before the first round (a worker may be the only process
        that starts after a crash: the app's start-up and the next import do the same)."""
        with self.runtime.transaction() as session:
            done = recover_interrupted_imports(session, self.runtime.settings)
        if any(done.values()):
            log.info("recovered after killed imports: %s", done)
        return done

    def run_forever(self) -> None:
        try:
            try:
                self.recover()
            except Exception:
                log.exception("recovering after killed imports failed; the next import will try again")
            while not self._stop.is_set():
                try:
                    summary = self.run_once()
                    log.info("scheduler tick: %s", summary)
                except Exception:
                    log.exception("scheduler tick failed; trying again in %s s", self.interval)
                self._stop.wait(self.interval)
        finally:
            self.leader.release()

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self.run_forever, name="kizuna-scheduler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self.leader.release()


def start_scheduler(runtime: Runtime, *, interval: float = 30.0) -> Scheduler:
    """Start the in-process scheduler (the web app calls this in its lifespan and :func:`stop_scheduler` at exit)."""
    scheduler = Scheduler(runtime, interval=interval)
    scheduler.start()
    return scheduler


def stop_scheduler(scheduler: Scheduler) -> None:
    scheduler.stop()


def run_worker(runtime: Runtime, *, interval: float = 30.0, once: bool = False) -> None:
    """``kizuna worker``: the scheduler in the foreground until SIGINT/SIGTERM."""
    import signal

    scheduler = Scheduler(runtime, interval=interval)
    if once:
        scheduler.recover()
        try:
            log.info("worker: %s", scheduler.run_once())
        finally:
            scheduler.leader.release()
        return

    def _stop(_signum: int, _frame: Any) -> None:
        scheduler._stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    scheduler.run_forever()


def refresh(ctx: RefreshContext) -> dict[str, Any]:
    """Refresh step (last in data flow): evaluate enabled playbooks on the new snapshots and run the due work."""
    summary = tick(ctx.runtime, now=ctx.now, watermark=ctx.watermark)
    if ctx.watermark.quiet:
        summary["quiet"] = "the hub's first refresh: signals recorded as history, none acted on"
    return summary
