"""Refresh step: compute and store today's health scores of every account in force, on every scorecard."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


def voc_scores(ctx: Any) -> Any:
    """Per-text VoC sentiment, computed once per refresh and shared by the health and risk steps (None if no VoC)."""
    cache = ctx.__dict__
    if "health_voc_scores" not in cache:
        v = ctx.tables["voc_entries"]
        n = int(v.filter(v.account_id.notnull()).count().to_pandas())
        scores = None
        if n:
            from kizuna.analytics.health.measures import voc_text_scores

            try:
                scores = voc_text_scores(ctx.tables)
            except Exception:  # an optional input must never stop the scores
                log.warning("VoC text analysis failed; the VoC sentiment measure stays missing", exc_info=True)
        cache["health_voc_scores"] = scores
    return cache["health_voc_scores"]


def refresh(ctx: Any) -> dict[str, Any]:
    from kizuna.health.service import compute_scores, scorecards

    cards = scorecards(ctx.runtime.settings)
    with ctx.runtime.transaction() as session:
        return compute_scores(session, tables=ctx.tables, as_of=ctx.as_of, cards=cards, voc_scores=voc_scores(ctx))
