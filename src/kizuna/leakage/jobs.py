"""``kizuna refresh`` step: the revenue leakage by churn reason (after the KPI and VoC steps)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kizuna.hub.context import RefreshContext

log = logging.getLogger(__name__)


def refresh(ctx: RefreshContext) -> dict[str, Any]:
    from kizuna.leakage.service import refresh_leakage

    with ctx.runtime.transaction() as session:
        summary = refresh_leakage(session, con=ctx.con, as_of=ctx.as_of)
    log.info("revenue leakage as of %s: %s", ctx.as_of, summary)
    return summary
