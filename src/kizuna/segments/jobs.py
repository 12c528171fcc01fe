"""Refresh step: touch tiers from ACV, the standard RFM segments, then every active segment re-evaluated."""

from __future__ import annotations

from typing import Any

from kizuna.hub.context import RefreshContext
from kizuna.segments import service


def refresh(ctx: RefreshContext) -> dict[str, Any]:
    """Apply tiers, make sure the RFM segments exist and re-evaluate every active segment (one transaction)."""
    with ctx.runtime.transaction() as session:
        tiers = service.apply_tiers(session, actor="refresh", today=ctx.as_of)
        created = service.ensure_rfm_segments(session, actor="refresh")
        report = service.evaluate_segments(session, actor="refresh", today=ctx.as_of)
    return {"tiers_changed": tiers.changed, "rfm_segments_created": len(created), **report.summary()}
