"""``kizuna refresh`` step: compute every KPI as of the refresh date and store the snapshot (first step)."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kizuna.hub.context import RefreshContext

log = logging.getLogger(__name__)


def refresh(ctx: RefreshContext) -> dict[str, Any]:
    """Compute the KPI snapshot on the configured analytics engine and replace it in the app database.

    On DuckDB with two processes (``kpi_processes``) the usage and funnel parts run in a worker process
    (:class:`~kizuna.kpis.worker.KpiWorker`) while this process computes the revenue and voice parts (and sends the
    worker the account outcomes the funnel needs as soon as the MRR movements are known); on Spark (which spreads
    its own work) or with one, all run here.
    """
    from kizuna.analytics.engine import threads
    from kizuna.analytics.kpi._common import KPI_COLUMNS
    from kizuna.analytics.kpi.fx import in_base_currency
    from kizuna.analytics.kpi.revenue import prepare_revenue
    from kizuna.analytics.kpi.snapshot import combine, funnel_part, revenue_part, voice_part
    from kizuna.kpis.worker import WORKER_INPUTS, KpiWorker, usage_part

    settings = ctx.runtime.settings
    processes = settings.kpi_processes or min(2, os.cpu_count() or 1)
    if settings.analytics_engine != "duckdb":
        processes = 1
    if processes > 1:
        # started before the hub read: its imports and its work on the events overlap it
        with KpiWorker(settings.events_dir, ctx.as_of) as worker:
            tables = ctx.hub(KPI_COLUMNS)
            worker.submit(ctx.arrow(WORKER_INPUTS))
            # one DuckDB thread here too, so that each process keeps a core: two threads each would contend
            with threads(ctx.con, 1):
                conversion = in_base_currency(tables, ctx.as_of, base=settings.currency)
                prepared = prepare_revenue(conversion.tables, ctx.as_of)
                worker.send_outcomes(prepared, ctx.as_of)
                native = tables if conversion.converted else None
                revenue = revenue_part(
                    prepared,
                    ctx.as_of,
                    gross_margin=settings.gross_margin,
                    native=native,
                    base_currency=conversion.currency,
                )
                voice = voice_part(tables, ctx.as_of)
                snapshot = combine(revenue, voice, worker.usage())
                # the funnel's tables go in last: the worker computes them while the rest is written
                snapshot["tables"] = _then(snapshot["tables"], lambda: worker.funnel().tables)
                counts, pruned = _store(ctx, snapshot)
    else:
        tables = ctx.hub(KPI_COLUMNS)
        conversion = in_base_currency(tables, ctx.as_of, base=settings.currency)
        prepared = prepare_revenue(conversion.tables, ctx.as_of)
        native = tables if conversion.converted else None
        revenue = revenue_part(
            prepared,
            ctx.as_of,
            gross_margin=settings.gross_margin,
            native=native,
            base_currency=conversion.currency,
        )
        voice = voice_part(tables, ctx.as_of)
        usage = usage_part(tables, settings.events_dir, ctx.as_of)
        snapshot = combine(revenue, voice, usage, funnel_part(prepared, ctx.as_of))
        counts, pruned = _store(ctx, snapshot)
    series = snapshot["series"]
    month = ctx.as_of.replace(day=1)
    head = series[(series.metric == "mrr_minor") & (series.dimension == "") & (series.month == month)]
    log.info("KPI snapshot as of %s: %s", ctx.as_of, counts)
    if conversion.unconverted:
        log.warning(
            "no exchange rate to %s for %s: left out of the totals", conversion.currency, conversion.unconverted
        )
    return {
        "as_of": ctx.as_of.isoformat(),
        "currency": conversion.currency,
        **({"currencies": list(conversion.currencies)} if len(conversion.currencies) > 1 else {}),
        **({"unconverted": list(conversion.unconverted)} if conversion.unconverted else {}),
        "mrr": {r.currency: int(r.value) for r in head.itertuples()},
        **counts,
        "pruned_snapshots": len(pruned),
        "processes": processes,
    }


def _store(ctx: RefreshContext, snapshot: dict[str, Any]) -> tuple[dict[str, int], list[Any]]:
    from kizuna.kpis.service import prune_snapshots, replace_snapshot

    settings = ctx.runtime.settings
    with ctx.runtime.transaction() as session:
        counts = replace_snapshot(session, actor="refresh", as_of=ctx.as_of, **snapshot)
        pruned = prune_snapshots(session, actor="refresh", as_of=ctx.as_of, keep_days=settings.kpi_snapshot_days)
    return counts, pruned


def _then(first: dict[str, Any], later: Callable[[], dict[str, Any]]) -> Iterator[tuple[str, Any]]:
    """The pairs of ``first``, then those of ``later()``, called only once ``first``'s are taken."""
    yield from first.items()
    yield from later().items()
