"""Refresh step: analyse new or changed VoC entries (incremental by text hash), store each account's VoC
sentiment as of the refresh date in ``voc_account_sentiment`` (read by health scores), and store the analyses the
VoC pages show (``voc_analyses``: frequency, network, topics, sentiment, churn reasons, feature requests)."""

from __future__ import annotations

import logging
from typing import Any

from kizuna.hub.context import RefreshContext

log = logging.getLogger(__name__)


def refresh(ctx: RefreshContext) -> dict[str, Any]:
    from sqlalchemy import select

    from kizuna.analytics.text.tokenize import TextAnalyzer
    from kizuna.voc import caches
    from kizuna.voc.insights import refresh_insights
    from kizuna.voc.models import VocEntry
    from kizuna.voc.service import analyse_entries, store_account_sentiment

    models_dir = ctx.runtime.settings.models_dir
    analyzer = TextAnalyzer()  # one tokenizer and its cache for both passes over the texts
    loaded = caches.load_terms(models_dir, analyzer)  # the texts of the last refresh are not tokenised again
    with ctx.runtime.transaction() as session:
        summary: dict[str, Any] = dict(analyse_entries(session, analyzer=analyzer, models_dir=models_dir))
        summary["accounts_with_sentiment"] = store_account_sentiment(session, as_of=ctx.as_of)
        summary["analyses_stored"] = refresh_insights(session, as_of=ctx.as_of, analyzer=analyzer)
        texts = session.scalars(select(VocEntry.text)).all()
    summary["texts_tokenised"] = analyzer.tokenised
    caches.save_terms(models_dir, analyzer, texts, loaded=loaded)
    log.info("voc refresh: %s", summary)
    return summary
