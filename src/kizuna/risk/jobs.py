"""Refresh step: (re)train the churn model when there is none or it is older than ``RETRAIN_DAYS``, then score
every account in force."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from kizuna.hub.context import RefreshContext

log = logging.getLogger(__name__)

RETRAIN_DAYS = 30
#: Days between the past dates the model is trained on.
SAMPLE_EVERY_DAYS = 30


def refresh(ctx: RefreshContext) -> dict[str, Any]:
    from kizuna.analytics.risk.behaviour import LOOKBACK_DAYS
    from kizuna.errors import InvalidInput
    from kizuna.risk.service import active_model, score_accounts, train_model
    from kizuna.usage.rollups import event_rollups
    from kizuna.usage.store import EventStore
    from kizuna.voc.service import entry_sentiment

    models_dir = ctx.runtime.settings.models_dir
    summary: dict[str, Any] = {}
    with ctx.runtime.transaction() as session:
        # per-text sentiment stored by the VoC step (which runs first), weighted point-in-time at every date
        voc_scores = entry_sentiment(session)
        row = active_model(session)
        stale = (
            row is None
            or row.data_as_of < ctx.as_of - dt.timedelta(days=RETRAIN_DAYS)
            or not (models_dir / row.file_name).exists()
        )
        if stale:
            try:
                row = train_model(
                    session,
                    actor="system:refresh",
                    tables=ctx.tables,
                    as_of=ctx.as_of,
                    models_dir=models_dir,
                    every_days=SAMPLE_EVERY_DAYS,
                    # the dates' measures, most of them computed already by the health step's backtest
                    measures_of=lambda dates: ctx.measures(dates, voc_scores=voc_scores),
                )
                summary["trained_model"] = row.id
            except InvalidInput as exc:
                log.warning("churn model not trained: %s", exc)
                summary["skipped"] = str(exc)
                return summary
        assert row is not None
        summary.update(
            score_accounts(
                session,
                tables=ctx.tables,
                as_of=ctx.as_of,
                models_dir=models_dir,
                model_row=row,
                voc_scores=voc_scores,
                measures=ctx.measures([ctx.as_of], voc_scores=voc_scores).drop(columns="as_of"),
                # the closed months' event counts from their rollups: today's behaviour reads this month's events
                event_rollups=lambda: event_rollups(
                    ctx.tables,
                    EventStore(ctx.runtime.settings.events_dir),
                    ctx.as_of,
                    days_from=ctx.as_of - dt.timedelta(days=LOOKBACK_DAYS),
                ),
            )
        )
    return summary
