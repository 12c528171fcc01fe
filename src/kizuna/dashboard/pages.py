"""The portfolio dashboard page (``/``) and its JSON (``/api/v1/dashboard``) for the charts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from kizuna.dashboard import service
from kizuna.dashboard.service import Portfolio, PortfolioFilter
from kizuna.platform.clock import today
from kizuna.platform.web import i18n
from kizuna.platform.web.deps import DbSession
from kizuna.platform.web.templating import language_of, render

router = APIRouter()


def portfolio_filter(
    segment: str | None = Query(None, max_length=100),
    tier: str | None = Query(None, max_length=16),
    owner_id: int | None = Query(None, ge=0, le=2**31),
) -> PortfolioFilter:
    return PortfolioFilter(segment=segment or None, tier=tier or None, owner_id=owner_id or None)


MOVEMENT_COLOURS = {
    "new": "#2b8a3e",
    "reactivation": "#69db7c",
    "expansion": "#1c7ed6",
    "contraction": "#f59f00",
    "churn": "#c92a2a",
}


def chart_specs(p: Portfolio, language: str) -> dict[str, Any]:
    """Chart specifications (drawn by static/kizuna.js) from the portfolio figures."""
    t: Callable[..., str] = i18n.translator(language)
    months = [i18n.format_month(m["month"], language) for m in p.movements]
    waterfall = {
        "kind": "bar",
        "format": "yen",
        "categories": months,
        "series": [
            {"name": t(f"movement.{k}"), "data": [m[k] for m in p.movements], "stack": "mv", "color": colour}
            for k, colour in MOVEMENT_COLOURS.items()
        ]
        + [{"name": t("metric.mrr"), "type": "line", "data": [m["mrr_end"] for m in p.movements], "color": "#495057"}],
    }
    stages = {
        "kind": "donut",
        "data": [{"name": t(f"stage.{k}"), "value": v} for k, v in sorted(p.stage_distribution.items())],
    }
    nps = {
        "kind": "line",
        "categories": [i18n.format_month(r["month"], language) for r in p.nps_by_month],
        "series": [{"name": "NPS", "data": [round(r["nps"], 1) for r in p.nps_by_month], "color": "#7048e8"}],
    }
    band_colours = {"green": "#2b8a3e", "yellow": "#f59f00", "red": "#c92a2a", "unknown": "#adb5bd"}
    cards = sorted(p.health_bands)
    health = {
        "kind": "bar",
        "categories": cards,
        "series": [
            {
                "name": t(f"band.{band}") if band != "unknown" else "—",
                "data": [p.health_bands[c].get(band, 0) for c in cards],
                "stack": "bands",
                "color": colour,
            }
            for band, colour in band_colours.items()
        ],
    }
    return {"waterfall": waterfall, "stages": stages, "nps": nps, "health": health}


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def dashboard_page(
    request: Request, filters: PortfolioFilter = Depends(portfolio_filter), session: Session = DbSession
) -> Response:
    p = service.portfolio(session, today=today(), filters=filters)
    return render(
        request, "dashboard/index.html", {"p": p, "f": filters, "charts": chart_specs(p, language_of(request))}
    )


@router.get("/api/v1/dashboard", tags=["metrics"], summary="Portfolio figures of the dashboard")
def dashboard_json(
    filters: PortfolioFilter = Depends(portfolio_filter), session: Session = DbSession
) -> dict[str, Any]:
    p = service.portfolio(session, today=today(), filters=filters)
    return {
        "as_of": p.as_of.isoformat(),
        "currency": p.currency,
        "mrr_minor": p.mrr_minor,
        "arr_minor": p.arr_minor,
        "paying_accounts": p.paying_accounts,
        "nrr": p.nrr,
        "grr": p.grr,
        "logo_churn": p.logo_churn,
        "movements": [{**m, "month": m["month"].isoformat()} for m in p.movements],
        "snapshot_as_of": p.snapshot_as_of.isoformat() if p.snapshot_as_of else None,
        "revenue_note": p.revenue_note,
        "stage_distribution": p.stage_distribution,
        "at_risk": p.at_risk,
        "renewals_due": {"accounts": p.renewals_due_count, "mrr_minor": p.renewals_due_mrr_minor},
        "onboarding": {"completed": p.onboarding_completed, "total": p.onboarding_total},
        "nps": {"score": p.nps, "responses": p.nps_responses},
    }
