"""Refresh step: compute and store today's health scores of every account in force, on every scorecard; then, when
a scorecard's stored backtest is missing, of an older version or a month old, backtest it against real churn and
store the result (the health pages read it), and give a new install six months of per-account history.

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
            measures = ctx.measures([ctx.as_of], voc_sentiment=voc).drop(columns="as_of")
            summary = compute_scores(session, tables=ctx.tables, as_of=ctx.as_of, cards=cards, measures=measures)
        else:
            # a date the VoC step did not store (a back-filled past date, or `refresh --only health`): the same
            # point-in-time function on the stored per-text sentiment
            log.info("no stored VoC sentiment for %s: weighing the stored per-text sentiment", ctx.as_of)
            scores = entry_sentiment(session)
            measures = ctx.measures([ctx.as_of], voc_scores=scores).drop(columns="as_of")
            summary = compute_scores(session, tables=ctx.tables, as_of=ctx.as_of, cards=cards, measures=measures)
    summary.update(backtest(ctx, cards))
    return summary


def backtest(ctx: RefreshContext, cards: dict[str, Any]) -> dict[str, Any]:
    """Backtest the scorecards whose stored backtest is stale and back-fill a new install's history."""
    from kizuna.errors import InvalidInput
    from kizuna.health.service import (
        BACKFILL_DATES,
        backtest_history,
        behaviour_sources,
        needs_backfill,
        stale_backtests,
        store_backtest,
        store_history,
        with_behaviour,
    )
    from kizuna.voc.service import entry_sentiment

    with ctx.runtime.transaction() as session:
        stale = stale_backtests(session, cards, as_of=ctx.as_of)
        backfill = needs_backfill(session, as_of=ctx.as_of)
        voc_scores = entry_sentiment(session) if stale or backfill else None
    if not stale and not backfill:
        return {}
    # the measures at past dates take seconds: computed outside the write transaction
    # (the dates' measures are kept for the churn-risk step, which reads the same dates 30 days apart)
    measures, churns = backtest_history(
        ctx.tables, as_of=ctx.as_of, measures_of=lambda dates: ctx.measures(dates, voc_scores=voc_scores)
    )
    out: dict[str, Any] = {}
    if measures.empty:
        return out
    if behaviour_sources(stale if not backfill else cards.values()):
        measures = with_behaviour(ctx.tables, measures)
    with ctx.runtime.transaction() as session:
        for card in stale:
            try:
                row = store_backtest(session, card=card, measures=measures, churns=churns, as_of=ctx.as_of)
            except InvalidInput as exc:
                log.warning("scorecard %s not backtested: %s", card.name, exc)
                continue
            out.setdefault("backtested", {})[card.name] = row.metrics.get("roc_auc")
        if backfill:
            past = sorted(d for d in set(measures["as_of"]) if d < ctx.as_of)[-BACKFILL_DATES:]
            out["history_backfilled"] = store_history(session, measures=measures, cards=cards, dates=past)
    return out
