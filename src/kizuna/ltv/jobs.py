"""Refresh step: fit the LTV models on the hub as of the refresh date and store the results."""

from __future__ import annotations

from typing import Any

from kizuna.hub.context import RefreshContext
from kizuna.ltv.service import store_portfolio_ltv


def refresh(ctx: RefreshContext) -> dict[str, Any]:
    """Fit the contract (sBG) and purchase (BG/NBD, Gamma-Gamma) models as of the refresh date and store them."""
    from kizuna.analytics.ltv.portfolio import portfolio_ltv  # SciPy: loaded by the step, not by `kizuna --help`

    tables = ctx.tables
    result = portfolio_ltv(
        tables["subscriptions"].to_pandas(),
        tables["plans"].to_pandas(),
        tables["payments"].to_pandas(),
        as_of=ctx.as_of,
        gross_margin=ctx.runtime.settings.gross_margin,
    )
    with ctx.runtime.transaction() as session:
        return store_portfolio_ltv(session, as_of=ctx.as_of, result=result)
