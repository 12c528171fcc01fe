"""Refresh step: start the onboarding plan of new accounts that have none; accounts whose plan is complete move
from onboarding to adoption."""

from __future__ import annotations

from typing import Any

from kizuna.hub.context import RefreshContext
from kizuna.lifecycle import service
from kizuna.platform.paging import Paging


def refresh(ctx: RefreshContext) -> dict[str, Any]:
    with ctx.runtime.transaction() as session:
        mark = ctx.watermark
        if mark.quiet:
            started = 0  # the hub's first refresh: its accounts are history (back-fill mode, kizuna.hub.watermark)
        else:
            started = service.start_onboarding_for_new_accounts(
                session, actor="refresh", today=ctx.as_of, created_since=mark.since
            )
        adopted = service.advance_completed_onboarding(session, actor="refresh")
        overdue = service.overdue_milestones(session, today=ctx.as_of, paging=Paging(1, 1)).total
    summary: dict[str, Any] = {
        "onboarding_started": started,
        "moved_to_adoption": adopted,
        "overdue_milestones": overdue,
    }
    if mark.quiet:
        summary["quiet"] = "the hub's first refresh: no onboarding plan started for the history"
    return summary
