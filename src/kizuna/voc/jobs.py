"""Refresh step: analyse new or changed VoC entries (incremental by text hash), store each account's VoC
sentiment as of the refresh date in ``voc_account_sentiment`` (read by health scores), and store the analyses the
VoC pages show (``voc_analyses``: frequency, network, topics, sentiment, churn reasons, feature requests)."""

from __future__ import annotations

import logging
from typing import Any

from kizuna.hub.context import RefreshContext

log = logging.getLogger(__name__)


def refresh(ctx: RefreshContext) -> dict[str, Any]:
    from kizuna.analytics.text.tokenize import TextAnalyzer
    from kizuna.voc.insights import refresh_insights
    from kizuna.voc.service import analyse_entries, store_account_sentiment

    analyzer = TextAnalyzer()  # one tokenizer and its cache for both passes over the texts
    with ctx.runtime.transaction() as session:
        summary: dict[str, Any] = dict(analyse_entries(session, analyzer=analyzer))
        summary["accounts_with_sentiment"] = store_account_sentiment(session, as_of=ctx.as_of)
        summary["analyses_stored"] = refresh_insights(session, as_of=ctx.as_of, analyzer=analyzer)
    log.info("voc refresh: %s", summary)
    return summary
