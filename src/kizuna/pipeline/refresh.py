"""``kizuna refresh``: recompute everything derived from the hub, in the order data flows.

sources -> store -> **refresh** (KPIs, scores, models, text) -> snapshots in the store -> playbook triggers.

The steps come from the one list of domains (``kizuna.domains.REFRESH_STEPS``, in data-flow order): each is a
domain's ``jobs.refresh(ctx) -> dict`` (a short summary for the CLI). Every step gets the same
:class:`~kizuna.hub.context.RefreshContext`, so the hub tables are read once and shared; a step never calls back
into this module.

Each summary gets the step's wall time (``seconds``) and this process's CPU time (``cpu_seconds``).

A step that cannot compute on the data there is (an empty hub, accounts without a paying line, too short a history)
raises :class:`~kizuna.errors.NotEnoughData` or returns a summary with ``"skipped": reason``: it is *skipped*, its
reason kept in its summary, and the later steps run. Any other exception is a bug and stops the refresh.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import OperationalError

from kizuna.db import refresh_statistics, utcnow
from kizuna.errors import NotEnoughData
from kizuna.hub.context import RefreshContext
from kizuna.hub.watermark import record_refresh, refresh_watermark
from kizuna.platform.clock import today
from kizuna.runtime import Runtime

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Step:
    """One refresh step: its name (``kizuna refresh --only NAME``) and the function that runs it."""

    name: str
    run: Callable[[RefreshContext], dict[str, Any]]


def refresh(
    runtime: Runtime,
    steps: Sequence[Step],
    *,
    as_of: dt.date | None = None,
    only: Sequence[str] | None = None,
    act_on_history: bool = False,
) -> dict[str, dict[str, Any]]:
    """Run ``steps`` in order (or those named in ``only``); returns each step's summary, by name.

    Back-fill mode (:mod:`kizuna.hub.watermark`): the steps that act (playbooks, expansion opportunities, onboarding
    plans) act only on what is new since the previous refresh; the hub's first refresh is quiet unless
    ``act_on_history`` (``kizuna refresh --act-on-history``): the summaries of those steps then say ``"quiet"``. A
    full refresh (not ``only``) is recorded as the next one's watermark.
    """
    unknown = sorted(set(only or ()) - {step.name for step in steps})
    if unknown:
        from kizuna.errors import InvalidInput

        names = ", ".join(step.name for step in steps)
        raise InvalidInput(f"no refresh step {', '.join(unknown)}; the steps are {names}", field="only")
    # every step's transactions begin as writers (IMMEDIATE on SQLite): a step reads, computes and writes while the
    # scheduler, a worker and the web app write every few seconds; begun deferred, the VoC step (a minute of text
    # analysis in one transaction) was refused at its write on every attempt (found by bench/soak.py)
    ctx = RefreshContext(runtime=runtime.as_writer(), as_of=as_of or today())
    ran_at = ctx.now
    with runtime.transaction() as session:
        ctx.watermark = refresh_watermark(session, now=ran_at, act_on_history=act_on_history)
    summaries: dict[str, dict[str, Any]] = {}
    for step in steps:
        if only and step.name not in only:
            continue
        started, cpu = time.perf_counter(), time.process_time()
        try:
            summary = _run_step(step, ctx)
        except NotEnoughData as exc:
            summary = {"skipped": str(exc)}
        if "skipped" in summary:
            log.warning("refresh step %s skipped: %s", step.name, summary["skipped"])
        summary["seconds"] = round(time.perf_counter() - started, 2)
        # this process's CPU time apart (child processes not counted): on a busy machine the wall time says how
        # long the step waited for a core as much as how much work it did
        summary["cpu_seconds"] = round(time.process_time() - cpu, 2)
        summaries[step.name] = summary
        log.info(
            "refresh step %s done in %.1f s (%.1f s of CPU)", step.name, summary["seconds"], summary["cpu_seconds"]
        )
    refresh_statistics(runtime.engine)
    if not only:
        # today's refresh is recorded when it ends: what its own steps wrote (a lifecycle change) is not new after it
        ended = ctx.now if ctx.as_of < today() else max(ran_at, utcnow())
        with runtime.transaction(write=True) as session:
            record_refresh(session, as_of=ctx.as_of, ran_at=ended, acted=not ctx.watermark.quiet)
    if ctx.watermark.quiet:
        log.warning(
            "the hub's first refresh was quiet: no playbook, expansion opportunity or onboarding plan acted on the "
            "history; the next refresh acts on what is new since (kizuna refresh --act-on-history acts now)"
        )
    return summaries


def skipped_steps(summaries: dict[str, dict[str, Any]]) -> dict[str, str]:
    """The steps of a refresh's ``summaries`` that were skipped, with the reason each gave."""
    return {name: str(summary["skipped"]) for name, summary in summaries.items() if summary.get("skipped")}


#: how many times a step runs when SQLite refuses its write because another connection wrote meanwhile
LOCKED_ATTEMPTS = 3


def _run_step(step: Step, ctx: RefreshContext) -> dict[str, Any]:
    """Run one step; again (up to ``LOCKED_ATTEMPTS`` times) when SQLite refused it with "database is locked".

    A step's transaction that reads and then writes fails at once on SQLite when another connection (the web app's
    scheduler, a form) has written in between; its work was rolled back, and every step can run again (each
    replaces what it stores for the date), so it does instead of stopping the refresh.
    """
    for attempt in range(1, LOCKED_ATTEMPTS):
        try:
            return step.run(ctx)
        except OperationalError as exc:
            if "database is locked" not in str(exc):
                raise
            log.warning("refresh step %s met another writer (attempt %d); running it again", step.name, attempt)
    return step.run(ctx)
