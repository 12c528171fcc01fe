"""``kizuna refresh`` step: compute every KPI as of the refresh date and store the snapshot (first step)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kizuna.refresh import RefreshContext

log = logging.getLogger(__name__)


def refresh(ctx: RefreshContext) -> dict[str, object]:
    """Compute the KPI snapshot on the configured analytics engine and replace it in the app database."""
    from kizuna.analytics.kpi._common import KPI_COLUMNS, prepared_key
    from kizuna.analytics.kpi.snapshot import compute_snapshot
    from kizuna.analytics.kpi.usage import user_activity
    from kizuna.metrics.service import prune_snapshots, replace_snapshot
    from kizuna.usage.rollups import account_months
    from kizuna.usage.store import EventStore

    tables = ctx.hub(KPI_COLUMNS)
    store = EventStore(ctx.runtime.settings.events_dir)
    # the users active in the last 60 days, grouped once: account usage and this month's usage read them
    tables[prepared_key("user_activity", ctx.as_of)] = user_activity(tables, ctx.as_of).cache()
    tables[prepared_key("account_months", ctx.as_of)] = account_months(tables, store, ctx.as_of)
    snapshot = compute_snapshot(tables, ctx.as_of, gross_margin=ctx.runtime.settings.gross_margin)
    with ctx.runtime.transaction() as session:
        counts = replace_snapshot(session, actor="refresh", as_of=ctx.as_of, **snapshot)
        keep = ctx.runtime.settings.kpi_snapshot_days
        pruned = prune_snapshots(session, actor="refresh", as_of=ctx.as_of, keep_days=keep)
    series = snapshot["series"]
    month = ctx.as_of.replace(day=1)
    head = series[(series.metric == "mrr_minor") & (series.dimension == "") & (series.month == month)]
    log.info("KPI snapshot as of %s: %s", ctx.as_of, counts)
    return {
        "as_of": ctx.as_of.isoformat(),
        "mrr": {r.currency: int(r.value) for r in head.itertuples()},
        **counts,
        "pruned_snapshots": len(pruned),
    }
