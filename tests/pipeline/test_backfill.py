"""Back-fill mode: a hub that imported years of history does not act on it.

The hub is built as a team builds it, from CSV files through ``import_file`` (accounts from 2024, subscription lines
whose seat count is blank, onboarding milestones never completed, escalated tickets, one active user per account),
the example playbook library switched on, and refreshed by every step of ``kizuna.domains.REFRESH_STEPS``:

* the first refresh is quiet: no task, job, e-mail, expansion opportunity or onboarding plan; the run log says
  ``history``;
* data imported afterwards acts only when it is new since that refresh: a milestone that falls overdue after it is
  acted on, one back-filled from 2024 is not;
* a blank seat count is unknown: one active user is never 100 % of "one seat";
* ``kizuna refresh --act-on-history`` makes the first refresh act on the present.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from kizuna.accounts.models import Account
from kizuna.billing.models import Subscription
from kizuna.cli import build_app
from kizuna.domains import REFRESH_STEPS
from kizuna.funnel.models import Opportunity
from kizuna.hub.models import RefreshRun
from kizuna.hub.watermark import LATE_DAYS, Watermark, current_watermark, refresh_watermark
from kizuna.imports.service import import_file
from kizuna.migrations import upgrade
from kizuna.pipeline.refresh import refresh
from kizuna.playbooks.models import PendingJob, Playbook, PlaybookRunAccount
from kizuna.playbooks.service import import_library, set_enabled
from kizuna.renewals import expansion
from kizuna.runtime import Runtime
from kizuna.settings import Settings
from kizuna.tasks.models import Task

FIRST = dt.date(2026, 11, 1)  # the first refresh, after the back-fill
SECOND = dt.date(2026, 11, 6)
ACCOUNTS = 12


def _write(path: Path, header: Sequence[str], rows: Sequence[Sequence[object]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _import(runtime: Runtime, entity: str, path: Path) -> None:
    with runtime.transaction() as session:
        summary = import_file(session, entity=entity, path=path, settings=runtime.settings, actor="test")
    assert summary.rejected == 0, summary.sample_rejections


@pytest.fixture
def backfilled(tmp_path: Path) -> Iterator[Runtime]:
    settings = Settings(data_dir=tmp_path / "data", kpi_processes=1, scheduler_in_process=False)
    settings.ensure_dirs()
    upgrade(settings.sqlalchemy_url)
    runtime = Runtime.open(settings)
    ids = [f"A{i:02d}" for i in range(ACCOUNTS)]
    files = tmp_path / "files"
    files.mkdir()
    _import(
        runtime,
        "accounts",
        _write(
            files / "accounts.csv",
            ["external_id", "name", "created_at"],
            [[a, f"株式会社{a}", f"2024-0{1 + i % 6}-10"] for i, a in enumerate(ids)],
        ),
    )
    _import(runtime, "products", _write(files / "products.csv", ["external_id", "name"], [["P", "kizuna"]]))
    _import(
        runtime,
        "plans",
        _write(
            files / "plans.csv",
            ["external_id", "product_external_id", "name", "list_price", "currency"],
            [["PRO", "P", "Pro", "3000", "JPY"]],
        ),
    )
    _import(  # the seat counts are blank: unknown, never one seat
        runtime,
        "subscriptions",
        _write(
            files / "subscriptions.csv",
            ["external_id", "account_external_id", "plan_external_id", "quantity", "mrr", "currency", "start_date"],
            [[f"S-{a}", a, "PRO", "", "30000", "JPY", f"2024-0{1 + i % 6}-10"] for i, a in enumerate(ids)],
        ),
    )
    _import(  # the onboarding the old tool never marked complete: overdue since 2024
        runtime,
        "onboarding_milestones",
        _write(
            files / "milestones.csv",
            ["external_id", "account_external_id", "kind", "due_on"],
            [
                [f"M-{a}-{k}", a, k, f"2024-0{1 + i % 6}-2{j}"]
                for i, a in enumerate(ids)
                for j, k in enumerate(["kickoff", "initial_setup"])
            ],
        ),
    )
    _import(  # escalations of the past, the last ones a day before the first refresh
        runtime,
        "tickets",
        _write(
            files / "tickets.csv",
            ["external_id", "account_external_id", "subject", "opened_at", "escalated"],
            [
                [f"T-{a}", a, "ログインできない", f"2026-10-{31 - i % 2}T09:00:00+09:00", "true"]
                for i, a in enumerate(ids)
            ],
        ),
    )
    _import(  # one user a day per account in October: one active user
        runtime,
        "events",
        _write(
            files / "events.csv",
            ["account_external_id", "event_name", "timestamp", "user_id"],
            [[a, "login", f"2026-10-{d:02d}T10:00:00+09:00", f"{a}-u1"] for a in ids for d in range(1, 32)],
        ),
    )
    with runtime.transaction() as session:
        for key, _changed in import_library(session, actor="test"):
            set_enabled(session, actor="test", key=key, enabled=True)
    yield runtime
    runtime.close()


def _acted(runtime: Runtime) -> tuple[int, int, int]:
    """Jobs queued, tasks made and expansion opportunities opened so far."""
    with runtime.transaction() as session:
        jobs = session.scalar(select(func.count()).select_from(PendingJob)) or 0
        tasks = session.scalar(select(func.count()).select_from(Task)) or 0
        opportunities = session.scalar(select(func.count()).select_from(Opportunity)) or 0
    return jobs, tasks, opportunities


def _outcomes(runtime: Runtime, playbook: str) -> dict[str, str]:
    """The run log of ``playbook``: firing key -> its latest outcome."""
    with runtime.transaction() as session:
        rows = session.execute(
            select(PlaybookRunAccount.firing_key, PlaybookRunAccount.outcome)
            .join(Playbook, Playbook.key == playbook)
            .where(PlaybookRunAccount.firing_key.like(f"{playbook}:%"))
            .order_by(PlaybookRunAccount.id)
        ).all()
    return {key: outcome for key, outcome in rows}


def test_the_first_refresh_of_a_backfilled_hub_is_quiet_and_the_next_acts_on_what_is_new(
    backfilled: Runtime, tmp_path: Path
) -> None:
    runtime = backfilled
    with runtime.transaction() as session:
        assert set(session.scalars(select(Subscription.quantity))) == {None}  # blank seats: unknown

    first = refresh(runtime, REFRESH_STEPS, as_of=FIRST)
    assert "quiet" in first["playbooks"] and "quiet" in first["lifecycle"]
    assert first["lifecycle"]["onboarding_started"] == 0 and first["lifecycle"]["overdue_milestones"] == 2 * ACCOUNTS
    assert _acted(runtime) == (0, 0, 0)  # nothing acted on the history
    overdue = _outcomes(runtime, "onboarding-overdue")
    escalated = _outcomes(runtime, "ticket-escalated")
    assert len(overdue) == ACCOUNTS and set(overdue.values()) == {"history"}
    assert len(escalated) == ACCOUNTS and set(escalated.values()) == {"history"}
    # one active user over an unknown seat count is no seat utilisation, so no expansion signal of seats
    with runtime.transaction() as session:
        signals = expansion.detect_signals(session, today=FIRST, events_dir=runtime.settings.events_dir)
    assert not [s for s in signals if s.signal in ("seat_utilisation", "plan_limit")]

    # after the first refresh: a new customer whose kickoff falls overdue, and more history back-filled
    files = tmp_path / "later"
    files.mkdir()
    _import(
        runtime,
        "accounts",
        _write(
            files / "accounts.csv",
            ["external_id", "name", "created_at"],
            [["NEW", "株式会社ニュー", "2026-11-02T09:00:00+09:00"], ["OLD", "株式会社オールド", "2024-02-01"]],
        ),
    )
    _import(
        runtime,
        "onboarding_milestones",
        _write(
            files / "milestones.csv",
            ["external_id", "account_external_id", "kind", "due_on"],
            [["M-NEW", "NEW", "kickoff", "2026-11-02"], ["M-OLD", "OLD", "kickoff", "2024-05-01"]],
        ),
    )
    second = refresh(runtime, REFRESH_STEPS, as_of=SECOND)
    assert "quiet" not in second["playbooks"]
    overdue = _outcomes(runtime, "onboarding-overdue")
    with runtime.transaction() as session:
        new_id = session.scalar(select(Account.id).where(Account.external_id == "NEW"))
        old_id = session.scalar(select(Account.id).where(Account.external_id == "OLD"))
        tasks = list(session.scalars(select(Task.account_id)))
    queued = {key for key, outcome in overdue.items() if outcome == "queued"}
    assert queued == {k for k in overdue if k.startswith(f"onboarding-overdue:{new_id}:")}
    assert len(queued) == 1  # the milestone that fell overdue after the first refresh, and it alone
    assert next(v for k, v in overdue.items() if k.startswith(f"onboarding-overdue:{old_id}:")) == "history"
    assert new_id in tasks and old_id not in tasks
    assert all(outcome in ("history", "already_acted") for k, outcome in overdue.items() if k not in queued)
    assert _acted(runtime)[2] == 0  # still no expansion opportunity out of unknown seats

    with runtime.transaction() as session:
        runs = list(session.scalars(select(RefreshRun).order_by(RefreshRun.id)))
    assert [(r.as_of, r.acted) for r in runs] == [(FIRST, False), (SECOND, True)]


def test_act_on_history_makes_the_first_refresh_act_on_the_present(backfilled: Runtime) -> None:
    runner = CliRunner()
    app = build_app()
    data = str(backfilled.settings.data_dir)
    args = ["--data-dir", data, "refresh", "--as-of", FIRST.isoformat(), "--only", "playbooks"]
    quiet = runner.invoke(app, args)
    assert quiet.exit_code in (0, 3), quiet.output
    assert "quiet: the hub's first refresh acted on nothing" in quiet.output
    assert _acted(backfilled)[:2] == (0, 0)
    acting = runner.invoke(app, [*args, "--act-on-history"])
    assert acting.exit_code in (0, 3), acting.output
    assert "quiet: the hub's first refresh" not in acting.output
    overdue = _outcomes(backfilled, "onboarding-overdue")
    assert len([o for o in overdue.values() if o == "queued"]) == ACCOUNTS
    jobs, tasks, _ = _acted(backfilled)
    assert jobs > 0 and tasks >= ACCOUNTS
    with backfilled.transaction() as session:  # --only records no refresh: the next full refresh is still the first
        assert session.scalar(select(func.count()).select_from(RefreshRun)) == 0


def test_the_watermark_follows_the_previous_refresh(backfilled: Runtime) -> None:
    now = dt.datetime(2026, 11, 1, 12, tzinfo=dt.UTC)
    with backfilled.transaction() as session:
        assert refresh_watermark(session, now=now) == Watermark(since=None, quiet=True)
        assert refresh_watermark(session, now=now, act_on_history=True) == Watermark(since=None)
        assert current_watermark(session, now=now) == Watermark(since=None)  # never refreshed: as before
        session.add(RefreshRun(as_of=now.date(), ran_at=now, acted=False))
        session.flush()
        after_quiet = current_watermark(session, now=now + dt.timedelta(hours=1))
        assert after_quiet == Watermark(since=now)
        assert after_quiet.is_history(now - dt.timedelta(minutes=1)) and not after_quiet.is_history(now)
        session.add(RefreshRun(as_of=now.date(), ran_at=now + dt.timedelta(days=1), acted=True))
        session.flush()
        acted = refresh_watermark(session, now=now + dt.timedelta(days=2))
        assert acted == Watermark(since=now + dt.timedelta(days=1 - LATE_DAYS))
    assert Watermark(since=None, quiet=True).is_history(None)
    assert not Watermark(since=now).is_history(None)  # a state of now (no moment) acts after a quiet refresh


def test_the_scheduler_acts_on_no_imported_history_before_the_first_refresh(backfilled: Runtime) -> None:
    """A web upload of history while the server runs: its scheduler evaluates, and nothing of the history acts."""
    from kizuna.playbooks.jobs import Scheduler

    scheduler = Scheduler(backfilled)
    try:
        summary = scheduler.run_once()
    finally:
        scheduler.stop()
    assert summary["lead"] and summary["playbooks"] > 0
    assert _acted(backfilled)[:2] == (0, 0)
    assert set(_outcomes(backfilled, "onboarding-overdue").values()) == {"history"}
