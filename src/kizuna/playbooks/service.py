"""Playbooks: import/export versioned YAML, enable/disable, evaluate (dry run or live), the run log.

Evaluating a playbook (``evaluate_playbook``) finds the accounts its trigger fires for, keeps those that meet its
conditions, and queues one pending job per action (sequence steps at their time) under an idempotency key
``<playbook>:<account>:<fingerprint>:<action>``. A second evaluation finds the same keys and queues nothing: the run
log says ``already_acted``, once (the log records changes of a firing's outcome, not the same outcome at every
evaluation). The jobs are executed by :func:`kizuna.playbooks.jobs.process_jobs`.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Select, delete, insert, select
from sqlalchemy.orm import Session

from kizuna.accounts.models import Account
from kizuna.audit.service import record_audit
from kizuna.db import utcnow
from kizuna.errors import NotFound
from kizuna.hub.watermark import Watermark, current_watermark
from kizuna.platform.paging import Page, Paging, count_rows
from kizuna.platform.queue import insert_ignoring_duplicates
from kizuna.playbooks import priority
from kizuna.playbooks import schemas as s
from kizuna.playbooks.models import (
    JobStatus,
    PendingJob,
    Playbook,
    PlaybookRun,
    PlaybookRunAccount,
    PlaybookVersion,
    RunMode,
    RunOutcome,
)
from kizuna.playbooks.triggers import Signal, evaluate_trigger
from kizuna.segments.attributes import account_attributes, failed_condition
from kizuna.tasks import service as task_service

log = logging.getLogger(__name__)

LIBRARY_DIR = Path(__file__).parent / "library"


# --- definitions -------------------------------------------------------------------------------------------------


def import_playbook(session: Session, *, actor: str, yaml_text: str, source: str = "<yaml>") -> tuple[Playbook, bool]:
    """Store a playbook from YAML; a changed definition becomes a new version. Returns ``(playbook, changed)``.

    The YAML's ``enabled`` sets the playbook's switch (a reviewed change in Git switches it on).
    """
    definition = s.parse_playbook_yaml(yaml_text, source=source)
    data = definition.model_dump(mode="json", by_alias=True, exclude_none=True)
    playbook = session.scalars(select(Playbook).where(Playbook.key == definition.key)).first()
    if playbook is None:
        playbook = Playbook(
            key=definition.key,
            name=definition.title(),
            trigger_type=definition.trigger.type,
            enabled=definition.enabled,
            current_version=1,
        )
        session.add(playbook)
        session.flush()
        session.add(
            PlaybookVersion(playbook_id=playbook.id, version=1, yaml_text=yaml_text, definition=data, created_by=actor)
        )
        record_audit(
            session,
            actor=actor,
            action="create",
            entity="playbook",
            entity_id=playbook.key,
            after={"version": 1, "enabled": playbook.enabled},
        )
        session.flush()
        return playbook, True
    current = current_version(session, playbook)
    if current.definition == data:
        if playbook.enabled != definition.enabled:
            set_enabled(session, actor=actor, key=playbook.key, enabled=definition.enabled)
            return playbook, True
        return playbook, False
    before = {"version": playbook.current_version, "enabled": playbook.enabled}
    playbook.current_version += 1
    playbook.name = definition.title()
    playbook.trigger_type = definition.trigger.type
    playbook.enabled = definition.enabled
    session.add(
        PlaybookVersion(
            playbook_id=playbook.id,
            version=playbook.current_version,
            yaml_text=yaml_text,
            definition=data,
            created_by=actor,
        )
    )
    record_audit(
        session,
        actor=actor,
        action="new_version",
        entity="playbook",
        entity_id=playbook.key,
        before=before,
        after={"version": playbook.current_version, "enabled": playbook.enabled},
    )
    session.flush()
    return playbook, True


def import_library(session: Session, *, actor: str, directory: Path = LIBRARY_DIR) -> list[tuple[str, bool]]:
    """Import every ``*.yaml`` of a directory (default: the example library shipped with kizuna)."""
    out = []
    for path in sorted(directory.glob("*.yaml")):
        playbook, changed = import_playbook(
            session, actor=actor, yaml_text=path.read_text(encoding="utf-8"), source=str(path.name)
        )
        out.append((playbook.key, changed))
    return out


def get_playbook(session: Session, key: str) -> Playbook:
    playbook = session.scalars(select(Playbook).where(Playbook.key == key)).first()
    if playbook is None:
        raise NotFound(f"no playbook {key!r}", key=key)
    return playbook


def current_version(session: Session, playbook: Playbook, version: int | None = None) -> PlaybookVersion:
    wanted = version or playbook.current_version
    row = session.scalars(
        select(PlaybookVersion).where(PlaybookVersion.playbook_id == playbook.id, PlaybookVersion.version == wanted)
    ).first()
    if row is None:
        raise NotFound(f"playbook {playbook.key!r} has no version {wanted}", key=playbook.key, version=wanted)
    return row


def definition_of(session: Session, playbook: Playbook) -> s.PlaybookDefinition:
    return s.PlaybookDefinition.model_validate(current_version(session, playbook).definition)


def export_playbook(session: Session, *, key: str, version: int | None = None) -> str:
    """The YAML of a playbook's current (or given) version, exactly as imported."""
    return current_version(session, get_playbook(session, key), version).yaml_text


def list_playbooks(session: Session) -> list[Playbook]:
    return list(session.scalars(select(Playbook).order_by(Playbook.key)))


def playbook_titles(session: Session, *, language: str) -> dict[str, str]:
    """Each playbook's name in ``language`` (its current version's ``name``), by key."""
    rows = session.execute(
        select(Playbook.key, PlaybookVersion.definition).join(
            PlaybookVersion,
            (PlaybookVersion.playbook_id == Playbook.id) & (PlaybookVersion.version == Playbook.current_version),
        )
    )
    return {key: s.localised(definition.get("name"), language) or key for key, definition in rows}


def set_enabled(session: Session, *, actor: str, key: str, enabled: bool) -> Playbook:
    playbook = get_playbook(session, key)
    if playbook.enabled != enabled:
        record_audit(
            session,
            actor=actor,
            action="enable" if enabled else "disable",
            entity="playbook",
            entity_id=key,
            before={"enabled": playbook.enabled},
            after={"enabled": enabled},
        )
        playbook.enabled = enabled
        session.flush()
    return playbook


# --- evaluation --------------------------------------------------------------------------------------------------


@dataclass
class AccountOutcome:
    account_id: int
    account_name: str
    reason: str
    outcome: str  # RunOutcome; in a dry run "would_act" instead of "queued"
    firing_key: str
    detail: str | None = None
    task: str | None = None  # dry run, an immediate create_task: "open", "wait" or "digest" (see TaskFate)
    stakes: float | None = None


@dataclass
class EvaluationReport:
    playbook: str
    mode: str
    run_id: int | None = None
    skipped: str | None = None
    outcomes: list[AccountOutcome] = field(default_factory=list)
    jobs_queued: int = 0

    def count(self, outcome: str) -> int:
        return sum(1 for o in self.outcomes if o.outcome == outcome)

    def summary(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for o in self.outcomes:
            counts[o.outcome] = counts.get(o.outcome, 0) + 1
        for o in self.outcomes:
            if o.task is not None:
                name = f"tasks_{o.task}"
                counts[name] = counts.get(name, 0) + 1
        return {
            "playbook": self.playbook,
            "mode": self.mode,
            "run_id": self.run_id,
            "skipped": self.skipped,
            "jobs_queued": self.jobs_queued,
            **counts,
        }


#: how an action is stored in a job's payload
AS_JSON: dict[str, Any] = {"mode": "json", "by_alias": True, "exclude_none": True}


def _action_steps(definition: s.PlaybookDefinition, now: dt.datetime) -> list[tuple[str, dict[str, Any], dt.datetime]]:
    """Each job a firing queues as ``(action path, the action as JSON, run after)``: one per action, one per
    sequence step at its due time. The same for every firing of an evaluation, so worked out once (a pydantic dump
    per action and firing: 41,070 firings in a refresh of the 50,000-account demo)."""
    steps: list[tuple[str, dict[str, Any], dt.datetime]] = []
    for i, action in enumerate(definition.actions):
        if isinstance(action, s.StartSequence):
            at = now
            for j, step in enumerate(action.steps):
                at = at + dt.timedelta(days=step.wait_days)
                steps.append((f"a{i}:{action.name}:s{j}", step.action.model_dump(**AS_JSON), at))
        else:
            steps.append((f"a{i}", action.model_dump(**AS_JSON), now))
    return steps


def _planned_jobs(
    definition: s.PlaybookDefinition,
    signal: Signal,
    firing_key: str,
    now: dt.datetime,
    *,
    playbook_id: int | None,
    run_id: int | None,
    steps: list[tuple[str, dict[str, Any], dt.datetime]],
    attributes: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """The jobs one firing queues, one per step of :func:`_action_steps` (the jobs of an evaluation share each
    action's JSON: read only)."""
    base = {
        "playbook_key": definition.key,
        "playbook_name": definition.title(),
        "trigger_type": definition.trigger.type,
        "signal": {
            "fingerprint": signal.fingerprint,
            "reason": signal.reason,
            "facts": signal.facts,
            "contact_id": signal.contact_id,
            **({"stakes_basis": priority.stakes_basis(attributes)} if attributes is not None else {}),
        },
    }
    return [
        {
            "idempotency_key": f"{firing_key}:{path}"[:300],
            "kind": "action",
            "playbook_id": playbook_id,
            "run_id": run_id,
            "account_id": signal.account_id,
            "payload": {**base, "action": action, "action_path": path},
            "status": JobStatus.pending.value,
            "run_after": run_after,
            "attempts": 0,
            "max_attempts": 5,
            "created_at": now,
        }
        for path, action, run_after in steps
    ]


def evaluate_definition(
    session: Session,
    definition: s.PlaybookDefinition,
    *,
    now: dt.datetime | None = None,
    dry_run: bool = True,
    language: str = "ja",
    actor: str = "system",
    playbook: Playbook | None = None,
    watermark: Watermark | None = None,
) -> EvaluationReport:
    """Evaluate one playbook definition. A dry run writes nothing; a live run writes the run, its log and the jobs.

    Back-fill mode: a signal whose moment is before the ``watermark`` (or every signal of a quiet refresh) is logged
    as ``history`` and queues nothing (:mod:`kizuna.hub.watermark`); None acts on every signal."""
    now = now or utcnow()
    report = EvaluationReport(playbook=definition.key, mode=RunMode.dry_run.value if dry_run else RunMode.live.value)
    run: PlaybookRun | None = None
    if not dry_run:
        assert playbook is not None, "a live run needs the stored playbook"
        run = PlaybookRun(
            playbook_id=playbook.id, version=playbook.current_version, mode=RunMode.live, started_at=now, actor=actor
        )
        session.add(run)
        session.flush()
        report.run_id = run.id
    result = evaluate_trigger(session, definition.trigger, now=now, language=language)
    report.skipped = result.skipped
    signals = result.signals
    # the attributes read here: the conditions', the stakes' and the dry run's (the accounts' columns, always read)
    names = {c.field for c in definition.conditions} | priority.STAKES_ATTRIBUTES
    attrs = (
        account_attributes(session, [sig.account_id for sig in signals], today=now.date(), names=names)
        if signals
        else {}
    )
    firing_keys = {id(sig): f"{definition.key}:{sig.account_id}:{sig.fingerprint}"[:250] for sig in signals}
    planned_by_signal: dict[int, list[dict[str, Any]]] = {}
    steps = _action_steps(definition, now)
    for sig in signals:
        planned_by_signal[id(sig)] = _planned_jobs(
            definition,
            sig,
            firing_keys[id(sig)],
            now,
            playbook_id=playbook.id if playbook else None,
            run_id=run.id if run else None,
            steps=steps,
            attributes=attrs.get(sig.account_id),
        )
    all_keys = [job["idempotency_key"] for jobs in planned_by_signal.values() for job in jobs]
    existing: set[str] = set()
    for start in range(0, len(all_keys), 900):
        existing.update(
            session.scalars(
                select(PendingJob.idempotency_key).where(PendingJob.idempotency_key.in_(all_keys[start : start + 900]))
            )
        )
    new_jobs: list[dict[str, Any]] = []
    log_rows: list[dict[str, Any]] = []
    logged = _logged_outcomes(session, signals, set(firing_keys.values())) if run is not None else {}
    for sig in signals:
        account = attrs.get(sig.account_id)
        if account is None:
            continue
        failed = failed_condition(definition.conditions, account)
        planned = planned_by_signal[id(sig)]
        missing = [job for job in planned if job["idempotency_key"] not in existing]
        if watermark is not None and missing and watermark.is_history(sig.at):
            when = "the hub's first refresh" if watermark.quiet else f"before {watermark.since:%Y-%m-%d %H:%M} UTC"
            outcome, detail = RunOutcome.history.value, f"back-fill: {when} (not acted on)"
        elif failed is not None:
            outcome, detail = RunOutcome.excluded.value, f"condition not met: {failed}"
        elif not missing:
            outcome, detail = RunOutcome.already_acted.value, None
        else:
            outcome = "would_act" if dry_run else RunOutcome.queued.value
            detail = ", ".join(job["payload"]["action"]["type"] for job in missing)
            new_jobs.extend(missing)
        report.outcomes.append(
            AccountOutcome(sig.account_id, str(account.get("name")), sig.reason, outcome, firing_keys[id(sig)], detail)
        )
        if run is not None and logged.get(firing_keys[id(sig)]) != outcome:  # a change, not the same again
            log_rows.append(
                {
                    "run_id": run.id,
                    "account_id": sig.account_id,
                    "firing_key": firing_keys[id(sig)],
                    "reason": sig.reason,
                    "outcome": outcome,
                    "detail": detail,
                }
            )
    if dry_run:
        _foresee_tasks(session, report, new_jobs, attrs, today=now.date())
    if not dry_run and run is not None:
        report.jobs_queued = insert_ignoring_duplicates(session, PendingJob, new_jobs, key="idempotency_key")
        if log_rows:
            for start in range(0, len(log_rows), 500):
                session.execute(insert(PlaybookRunAccount), log_rows[start : start + 500])
        run.signals = len(signals)
        run.matched = sum(1 for o in report.outcomes if o.outcome != RunOutcome.excluded)
        run.queued = report.count(RunOutcome.queued)
        run.status = "skipped" if result.skipped else "done"
        run.note = result.skipped
        run.finished_at = utcnow()
        session.flush()
        if not log_rows and not report.jobs_queued:
            _drop_silent_runs(session, playbook_id=run.playbook_id, newest=run.id)
    else:
        report.jobs_queued = len(new_jobs)
    log.info("playbook %s (%s): %s", definition.key, report.mode, report.summary())
    return report


def _drop_silent_runs(session: Session, *, playbook_id: int, newest: int) -> None:
    """Delete the playbook's earlier runs that logged nothing and queued nothing: this one, the newest, says when it
    was last evaluated (a scheduler's restart reads it) and what it found. A run with a log row or a job stays
    until retention (``kizuna.playbooks.jobs.apply_retention``). Without this, every refresh and scheduler pass
    added a run per playbook that nothing ever shows."""
    logged = select(PlaybookRunAccount.id).where(PlaybookRunAccount.run_id == PlaybookRun.id).exists()
    queued = select(PendingJob.id).where(PendingJob.run_id == PlaybookRun.id).exists()
    session.execute(
        delete(PlaybookRun)
        .where(PlaybookRun.playbook_id == playbook_id, PlaybookRun.id < newest, PlaybookRun.queued == 0)
        .where(~logged, ~queued)
        .execution_options(synchronize_session=False)
    )


def _logged_outcomes(session: Session, signals: list[Any], firing_keys: set[str]) -> dict[str, str]:
    """The newest logged outcome of each of ``firing_keys`` (read by the signals' accounts, an index).

    The run log records what changed: a firing whose outcome is the one logged last (a signal still "already acted"
    on at every evaluation, a condition still unmet) is not logged again; the run's counts say how many there were.
    Without this the log grew by one row per standing signal at every refresh and scheduler pass."""
    accounts = sorted({sig.account_id for sig in signals})
    newest: dict[str, tuple[int, str]] = {}
    for start in range(0, len(accounts), 900):
        rows = session.execute(
            select(PlaybookRunAccount.firing_key, PlaybookRunAccount.id, PlaybookRunAccount.outcome).where(
                PlaybookRunAccount.account_id.in_(accounts[start : start + 900])
            )
        )
        for key, row_id, outcome in rows:
            if key in firing_keys and (key not in newest or row_id > newest[key][0]):
                newest[key] = (row_id, outcome)
    return {key: outcome for key, (_row_id, outcome) in newest.items()}


class TaskFate(enum.StrEnum):
    """What a dry run foresees for a task a playbook would create now."""

    open = "open"  # released today, within its owner's budget
    wait = "wait"  # waits: its owner's budget for today is used by tasks more at stake
    digest = "digest"  # a tech-touch account: a line in its CSM's digest task


def _foresee_tasks(
    session: Session,
    report: EvaluationReport,
    new_jobs: list[dict[str, Any]],
    attrs: dict[int, dict[str, Any]],
    *,
    today: dt.date,
) -> None:
    """Mark each account a dry run would act on with what becomes of its task: opened today, waiting, or digested.

    The new tasks compete for each owner's room today (as :func:`kizuna.tasks.service.release_waiting` computes it)
    with the tasks already waiting, most at stake first.
    """
    stakes_of: dict[int, float] = {}
    for job in new_jobs:
        action = job["payload"]["action"]
        if action["type"] != "create_task" or ":" in job["payload"]["action_path"]:
            continue  # not a task, or a sequence step (created on its own day)
        basis = job["payload"]["signal"].get("stakes_basis") or priority.stakes_basis({})
        stakes = priority.task_stakes(
            basis, priority=action.get("priority", "normal"), due_in_days=action.get("due_in_days", 3)
        )
        stakes_of[job["account_id"]] = max(stakes, stakes_of.get(job["account_id"], 0.0))
    if not stakes_of:
        return
    by_owner: dict[int | None, list[tuple[float, int]]] = {}
    for o in report.outcomes:
        if o.outcome != "would_act" or o.account_id not in stakes_of:
            continue
        o.stakes = stakes_of[o.account_id]
        account = attrs.get(o.account_id, {})
        if priority.in_digest(account):
            o.task = TaskFate.digest
            continue
        by_owner.setdefault(account.get("owner_id"), []).append((o.stakes, o.account_id))
    rooms = task_service.room_today(session, owners=set(by_owner), today=today)
    opened: set[int] = set()
    for owner, candidates in by_owner.items():
        room, waiting_stakes = rooms[owner]
        ranked = sorted([(st, 0, acc) for st, acc in candidates] + [(st, 1, 0) for st in waiting_stakes], reverse=True)
        opened.update(acc for st, new, acc in ranked[: max(room, 0)] if new == 0)
    for o in report.outcomes:
        if o.task is None and o.stakes is not None:
            o.task = TaskFate.open if o.account_id in opened else TaskFate.wait


def evaluate_playbook(
    session: Session,
    *,
    key: str,
    actor: str = "system",
    now: dt.datetime | None = None,
    dry_run: bool = False,
    language: str = "ja",
    watermark: Watermark | None = None,
) -> EvaluationReport:
    """Evaluate a stored playbook (its current version). Live runs queue work; the caller commits. ``watermark``:
    what acts (default: what follows the hub's latest refresh, :func:`kizuna.hub.watermark.current_watermark`)."""
    playbook = get_playbook(session, key)
    definition = definition_of(session, playbook)
    if watermark is None:
        watermark = current_watermark(session, now=now or utcnow())
    return evaluate_definition(
        session,
        definition,
        now=now,
        dry_run=dry_run,
        language=language,
        actor=actor,
        playbook=playbook,
        watermark=watermark,
    )


# --- the run log -------------------------------------------------------------------------------------------------


def _run_log_query(key: str | None, account_id: int | None) -> Select[PlaybookRunAccount, PlaybookRun, str]:
    stmt = (
        select(PlaybookRunAccount, PlaybookRun, Playbook.key)
        .join(PlaybookRun, PlaybookRun.id == PlaybookRunAccount.run_id)
        .join(Playbook, Playbook.id == PlaybookRun.playbook_id)
    )
    if key:
        stmt = stmt.where(Playbook.key == key)
    if account_id:
        stmt = stmt.where(PlaybookRunAccount.account_id == account_id)
    return stmt.order_by(PlaybookRunAccount.id.desc())


def page_run_log(session: Session, *, key: str | None = None, paging: Paging) -> Page[dict[str, Any]]:
    """One page of the run log (newest first; of one playbook with ``key``) and how many rows it holds in all."""
    rows = run_log(session, key=key, limit=paging.per_page, offset=paging.offset)
    total = len(rows) if paging.page == 1 and len(rows) < paging.per_page else None
    if total is None:
        total = count_rows(session, _run_log_query(key, None))
    return Page(items=rows, total=total, page=paging.page, per_page=paging.per_page)


def run_log(
    session: Session, *, key: str | None = None, account_id: int | None = None, limit: int = 100, offset: int = 0
) -> list[dict[str, Any]]:
    """The newest run-log rows (``limit`` of them from ``offset``), each with its account's outcome and what its jobs
    did."""
    rows = session.execute(_run_log_query(key, account_id).limit(limit).offset(offset)).all()
    account_ids = sorted({entry.account_id for entry, _run, _key in rows})
    names = {i: n for i, n in session.execute(select(Account.id, Account.name).where(Account.id.in_(account_ids)))}
    jobs = _jobs_of_firings(session, account_ids=account_ids, firing_keys={entry.firing_key for entry, _, _ in rows})
    return [
        {
            "run_id": run.id,
            "at": run.started_at,
            "playbook": playbook_key,
            "account_id": entry.account_id,
            "account_name": names.get(entry.account_id),
            "reason": entry.reason,
            "outcome": entry.outcome,
            "detail": entry.detail,
            "actions": jobs.get(entry.firing_key, []),
        }
        for entry, run, playbook_key in rows
    ]


def _jobs_of_firings(
    session: Session, *, account_ids: list[int], firing_keys: set[str]
) -> dict[str, list[dict[str, Any]]]:
    """What the jobs of each firing did, by firing key (a job's idempotency key is ``<firing key>:<action path>``).

    One query over the accounts' jobs (the ``account_id`` index), matched to firings by prefix here: a ``LIKE
    '<key>:%'`` per firing scans the whole of ``pending_jobs`` (neither database uses an index for it, and ``_`` in a
    playbook key is a wildcard), and a range on the key is only correct under a bytewise collation (PostgreSQL's
    usual ``en_US``/ICU orders ``;`` before ``:``)."""
    found: dict[str, list[dict[str, Any]]] = {}
    if not firing_keys:
        return found
    for start in range(0, len(account_ids), 900):
        jobs = session.execute(
            select(
                PendingJob.idempotency_key,
                PendingJob.payload,
                PendingJob.status,
                PendingJob.result,
                PendingJob.last_error,
            )
            .where(PendingJob.account_id.in_(account_ids[start : start + 900]))
            .order_by(PendingJob.id)
        ).all()
        for job_key, payload, status, result, error in jobs:
            # the longest prefix that is one of the firings (an action path holds colons too)
            firing_key = job_key
            while ":" in firing_key:
                firing_key = firing_key[: firing_key.rfind(":")]
                if firing_key in firing_keys:
                    break
            if firing_key in firing_keys:
                found.setdefault(firing_key, []).append(
                    {"type": payload["action"]["type"], "status": status, "result": result, "error": error}
                )
    return found
