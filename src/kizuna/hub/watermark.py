"""Back-fill mode: signals act only on what is new since the previous refresh.

Importing three years of history must not fire today's playbooks, expansion opportunities and onboarding plans for
the past. Every refresh is recorded (:class:`~kizuna.hub.models.RefreshRun`); a signal has a moment (the ticket was
opened, the milestone fell overdue, the health score turned red, ...) and acts only when that moment is after the
*watermark*:

* the hub's **first refresh is quiet** by default: nothing acts; what it sees is the baseline (``kizuna refresh
  --act-on-history`` makes the first refresh act on the present as any later one would);
* after a quiet refresh the watermark is that refresh's moment: only what happened since acts;
* after a refresh that acted, it is that refresh's moment less ``LATE_DAYS`` (data synced a little late still acts;
  the playbooks' idempotency keys never act twice on one event).

A hub never refreshed (a test, a script that evaluates a playbook directly) has no watermark: signals act as the
triggers' own look-back windows allow. docs/playbooks.md ("Back-fill") says the same for users.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from kizuna.hub.models import RefreshRun

#: an event dated up to this many days before the previous refresh still acts (it arrived late)
LATE_DAYS = 3


@dataclass(frozen=True)
class Watermark:
    """What acts in one evaluation: signals whose moment is at or after ``since`` (None: every signal)."""

    since: dt.datetime | None
    quiet: bool = False  # nothing acts (the first refresh of a hub): every signal is the baseline

    def is_history(self, moment: dt.datetime | None) -> bool:
        """Whether a signal of ``moment`` is history, not to act on (a signal without a moment acts unless quiet)."""
        if self.quiet:
            return True
        if self.since is None or moment is None:
            return False
        return moment < self.since

    @property
    def since_day(self) -> dt.date | None:
        return None if self.since is None else self.since.date()


def previous_refresh(session: Session, *, before: dt.datetime | None = None) -> RefreshRun | None:
    """The latest recorded refresh (that ran at or before ``before``)."""
    stmt = select(RefreshRun).order_by(RefreshRun.ran_at.desc(), RefreshRun.id.desc()).limit(1)
    if before is not None:
        stmt = stmt.where(RefreshRun.ran_at <= before)
    return session.scalars(stmt).first()


def watermark_after(previous: RefreshRun | None) -> Watermark:
    """The watermark an evaluation after ``previous`` uses (None: the hub was never refreshed)."""
    if previous is None:
        return Watermark(since=None)
    ran_at = previous.ran_at if previous.ran_at.tzinfo else previous.ran_at.replace(tzinfo=dt.UTC)
    return Watermark(since=ran_at if not previous.acted else ran_at - dt.timedelta(days=LATE_DAYS))


def current_watermark(session: Session, *, now: dt.datetime) -> Watermark:
    """The watermark of an evaluation at ``now`` outside a refresh (the scheduler's tick)."""
    return watermark_after(previous_refresh(session, before=now))


def refresh_watermark(session: Session, *, now: dt.datetime, act_on_history: bool = False) -> Watermark:
    """The watermark of a refresh judging signals at ``now``: quiet when the hub was never refreshed (unless
    ``act_on_history``), else what follows the previous refresh."""
    previous = previous_refresh(session, before=now)
    if previous is None:
        return Watermark(since=None, quiet=not act_on_history)
    return watermark_after(previous)


def record_refresh(session: Session, *, as_of: dt.date, ran_at: dt.datetime, acted: bool) -> RefreshRun:
    """Record a refresh that ran (flushes; the caller commits)."""
    run = RefreshRun(as_of=as_of, ran_at=ran_at, acted=acted)
    session.add(run)
    session.flush()
    return run
