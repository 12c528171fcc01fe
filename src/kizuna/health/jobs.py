"""Refresh step: compute and store today's health scores of every account in force, on every scorecard.

Runs after the VoC step, whose stored per-account VoC sentiment of the refresh date it reads (one computation
serves both)."""

from __future__ import annotations

import logging
from typing import Any

from kizuna.hub.context import RefreshContext

log = logging.getLogger(__name__)


def refresh(ctx: RefreshContext) -> dict[str, Any]:
    from kizuna.health.service import compute_scores, scorecards
    from kizuna.voc.service import account_sentiment, entry_sentiment

    cards = scorecards(ctx.runtime.settings)
    with ctx.runtime.transaction() as session:
        stored = account_sentiment(session, as_of=ctx.as_of)
        if not stored.empty:
            voc = stored.rename(columns={"sentiment": "voc_sentiment"})[["account_id", "voc_sentiment"]]
            return compute_scores(session, tables=ctx.tables, as_of=ctx.as_of, cards=cards, voc_sentiment=voc)
        # a date the VoC step did not store (a back-filled past date, or `refresh --only health`): the same
        # point-in-time function on the stored per-text sentiment
        log.info("no stored VoC sentiment for %s: weighing the stored per-text sentiment", ctx.as_of)
        scores = entry_sentiment(session)
        return compute_scores(session, tables=ctx.tables, as_of=ctx.as_of, cards=cards, voc_scores=scores)
