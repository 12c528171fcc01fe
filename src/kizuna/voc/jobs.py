"""Refresh step: analyse new or changed VoC entries (incremental by text hash) and store each account's VoC
sentiment as of the refresh date in ``voc_account_sentiment`` (read by health scores)."""

from __future__ import annotations

import logging
from typing import Any

from kizuna.hub.context import RefreshContext

log = logging.getLogger(__name__)


def refresh(ctx: RefreshContext) -> dict[str, Any]:
    from kizuna.voc.service import analyse_entries, store_account_sentiment

    with ctx.runtime.transaction() as session:
        summary: dict[str, Any] = dict(analyse_entries(session))
        summary["accounts_with_sentiment"] = store_account_sentiment(session, as_of=ctx.as_of)
    log.info("voc refresh: %s", summary)
    return summary
