"""Refresh step: fit the LTV models on the hub as of the refresh date and store the results: the sBG per plan, the
BG/NBD + Gamma-Gamma value per account with its residual contract value, and the survival of the customer base
(Kaplan–Meier by plan and tier, the Cox model), which the LTV page reads."""

from __future__ import annotations

from typing import Any

from kizuna.hub.context import RefreshContext
from kizuna.ltv.service import plan_fit_problems, store_portfolio_ltv, store_survival, survival_results


def refresh(ctx: RefreshContext) -> dict[str, Any]:
    """Fit the contract (sBG) and purchase (BG/NBD, Gamma-Gamma) models and the survival curves as of the refresh
    date and store them."""
    from kizuna.analytics.ltv.portfolio import portfolio_ltv  # SciPy: loaded by the step, not by `kizuna --help`
    from kizuna.analytics.survival import lifetimes_table

    tables = ctx.tables
    result = portfolio_ltv(
        tables["subscriptions"].to_pandas(),
        tables["plans"].to_pandas(),
        tables["payments"].to_pandas(),
        as_of=ctx.as_of,
        gross_margin=ctx.runtime.settings.gross_margin,
    )
    survival = survival_results(lifetimes_table(tables, as_of=ctx.as_of))
    with ctx.runtime.transaction() as session:
        summary: dict[str, Any] = dict(store_portfolio_ltv(session, as_of=ctx.as_of, result=result))
        summary["survival_fits"] = store_survival(session, as_of=ctx.as_of, results=survival)
    # a plan whose sBG fit should not be read as its two numbers is said in the step's summary (codes as on the page)
    problems = plan_fit_problems(result.cohorts)
    if problems:
        summary["fit_problems"] = problems
    return summary
