"""Refresh step: renewals synced from subscriptions (with the model's probability and outcomes), and expansion
signals turned into opportunities. Runs after health and risk, before playbooks."""

from __future__ import annotations

from typing import Any

from kizuna.hub.context import RefreshContext
from kizuna.renewals import expansion, service


def refresh(ctx: RefreshContext) -> dict[str, Any]:
    with ctx.runtime.transaction() as session:
        renewals = service.sync_renewals(session, today=ctx.as_of)
    with ctx.runtime.transaction() as session:
        grown = expansion.open_expansion_opportunities(
            session,
            actor="refresh",
            today=ctx.as_of,
            events_dir=ctx.runtime.settings.events_dir,
            watermark=ctx.watermark,
        )
    return {"renewals": renewals.as_dict(), "expansion": grown.as_dict()}
