"""The portfolio dashboard page (``/``) and its JSON (``/api/v1/dashboard``) for the charts."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from kizuna.dashboard import service
from kizuna.dashboard.service import Portfolio, PortfolioFilter
from kizuna.kpis import review
from kizuna.kpis.review import UNIT_ECONOMICS_SERIES
from kizuna.leakage import service as leakage_service
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
    "resume": "#99e9f2",
    "expansion": "#1c7ed6",
    "contraction": "#f59f00",
    "pause": "#ced4da",
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
    labels = i18n.catalogue(language)
    band_colours = {"green": "#2b8a3e", "yellow": "#f59f00", "red": "#c92a2a", "unknown": "#adb5bd"}
    cards = sorted(p.health_bands)
    health = {
        "kind": "bar",
        "categories": [t(f"dashboard.scorecard.{c}") if f"dashboard.scorecard.{c}" in labels else c for c in cards],
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
    language = language_of(request)
    # (a filtered portfolio has no unit economics: every figure reads "—")
    economics = p.economics or dict.fromkeys((*UNIT_ECONOMICS_SERIES, "churned_12m", "customers_start_12m"))
    context = {
        "p": p,
        "e": economics,
        "f": filters,
        "charts": chart_specs(p, language),
        "factors": risk_factors(p, language),
        # the leakage is stored for the whole portfolio only
        "leakage": None if any(dataclasses.astuple(filters)) else leakage_service.leakage(session, top=0),
        # trials, pauses, notices and currencies are stored for the whole portfolio only
        "model": None if any(dataclasses.astuple(filters)) else review.revenue_model(session),
    }
    return render(request, "dashboard/index.html", context)


def risk_factors(p: Portfolio, language: str) -> dict[int, list[str]]:
    """The two strongest churn-risk drivers of each listed account, in words (a measure the catalogue does not
    name is left out rather than shown as its identifier)."""
    labels = i18n.catalogue(language)
    out: dict[int, list[str]] = {}
    for row in p.risk_top:
        keys = [f"dashboard.factor.{d.get('feature')}" for d in (row.get("drivers") or [])]
        out[row["account_id"]] = [labels[k] for k in keys if k in labels][:2]
    return out


@router.get("/api/v1/dashboard", tags=["metrics"], summary="Portfolio figures of the dashboard")
def dashboard_json(
    filters: PortfolioFilter = Depends(portfolio_filter), session: Session = DbSession
) -> dict[str, Any]:
    p = service.portfolio(session, today=today(), filters=filters)
    model = None if any(dataclasses.astuple(filters)) else review.revenue_model(session)
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
        "review_month": p.review_month.isoformat() if p.review_month else None,
        "logo_churn_review_month": p.logo_churn_month,
        "unit_economics": None
        if p.economics is None
        else {k: v for k, v in p.economics.items() if k != "month"} | {"month": p.economics["month"].isoformat()},
        "onboarding": {
            "accounts": p.onboarding.accounts,
            "complete": p.onboarding.complete,
            "completion_rate": p.onboarding.completion_rate,
            "median_time_to_value_days": p.onboarding.median_time_to_value_days,
        },
        "nps": {"score": p.nps, "responses": p.nps_responses},
        # trials, pauses and notices of the last complete month and the month to date; each currency's own MRR
        "revenue_model": None
        if model is None or model.snapshot_as_of is None
        else {
            "currency": model.currency,
            "review_month": model.review_month.isoformat() if model.review_month else None,
            "month": model.month,
            "month_to_date": model.mtd,
            "currencies": model.currencies,
        },
    }
