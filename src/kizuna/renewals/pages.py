"""HTML pages of the renewal center (upcoming renewals with both calls, the forecast, and the CSM's call form), the
expansion pipeline, and the renewals and expansion lists (``/renewals``, ``/expansion``, with CSV and Excel export)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from kizuna.accounts import service as accounts_service
from kizuna.accounts.schemas import AccountQuery
from kizuna.auth.deps import current_principal
from kizuna.auth.service import Principal
from kizuna.kpis import service as kpis_service
from kizuna.platform.clock import today
from kizuna.platform.web import i18n
from kizuna.platform.web.deps import DbSession, Id
from kizuna.platform.web.exports import export_response
from kizuna.platform.web.templating import language_of, render
from kizuna.renewals import expansion, service
from kizuna.renewals.models import ForecastCall

# The renewal center and expansion pipeline routes have always been listed in the API schema; the lists below are not.
router = APIRouter(tags=["renewals"])
FORMAT = Query(None, pattern="^(csv|xlsx)$")


def _export(request: Request, fmt: str, name: str, columns: list[tuple[str, str]], rows: Any) -> Response:
    t = i18n.translator(language_of(request))
    return export_response(fmt, filename=name, columns=[(k, t(label)) for k, label in columns], rows=rows)


@router.get("/renewal-center", response_class=HTMLResponse)
def renewal_center(
    request: Request, horizon_days: int = Query(120, ge=1, le=730), session: Session = DbSession
) -> HTMLResponse:
    rows = service.upcoming(session, today=today(), horizon_days=horizon_days)
    forecast = service.renewal_forecast(session, today=today(), horizon_days=horizon_days)
    return render(
        request,
        "renewals/center.html",
        {"rows": rows, "forecast": forecast, "horizon_days": horizon_days, "calls": list(ForecastCall)},
    )


@router.post("/renewal-center/{renewal_id}/call")
def forecast_call(
    renewal_id: Id,
    call: str = Form(..., max_length=16),
    note: str = Form("", max_length=2000),
    principal: Principal = Depends(current_principal),
    session: Session = DbSession,
) -> RedirectResponse:
    service.set_forecast_call(session, actor=principal.actor, renewal_id=renewal_id, call=call, note=note or None)
    return RedirectResponse("/renewal-center", status_code=303)


@router.get("/expansion-pipeline", response_class=HTMLResponse)
def expansion_pipeline(request: Request, session: Session = DbSession) -> HTMLResponse:
    return render(request, "renewals/pipeline.html", {"pipeline": expansion.expansion_pipeline(session)})


@router.get("/renewals", response_class=HTMLResponse, include_in_schema=False)
def renewals(
    request: Request,
    horizon_days: int = Query(90, ge=1, le=730),
    owner_id: int | None = Query(None, ge=1, le=2**31),
    format: str | None = FORMAT,
    session: Session = DbSession,
) -> Response:
    rows = accounts_service.upcoming_renewals(session, today=today(), horizon_days=horizon_days, owner_id=owner_id)
    if format:
        columns = [
            ("renewal_date", "field.renewal"),
            ("account_id", "field.id"),
            ("name", "field.account"),
            ("owner_name", "field.owner"),
            ("mrr_minor", "metric.mrr"),
            ("currency", "field.currency"),
            ("cancelled", "sub.cancelled"),
        ]
        return _export(request, format, "renewals", columns, rows)
    return render(request, "renewals/renewals.html", {"rows": rows, "horizon_days": horizon_days})


@router.get("/expansion", response_class=HTMLResponse, include_in_schema=False)
def expansion_accounts(request: Request, format: str | None = FORMAT, session: Session = DbSession) -> Response:
    page = accounts_service.list_accounts(
        session, AccountQuery(lifecycle_stage="expansion", sort="-mrr", per_page=200), today=today()
    )
    if format:
        columns = [
            ("id", "field.id"),
            ("name", "field.account"),
            ("owner_name", "field.owner"),
            ("mrr_minor", "metric.mrr"),
        ]
        return _export(request, format, "expansion", columns, (r.model_dump() for r in page.items))
    movements = kpis_service.mrr_movements(session)
    lang = language_of(request)
    chart = {
        "kind": "bar",
        "format": "yen",
        "categories": [i18n.format_month(m["month"], lang) for m in movements],
        "series": [
            {
                "name": i18n.translate(lang, "movement.expansion"),
                "data": [m["expansion"] for m in movements],
                "color": "#1c7ed6",
            },
        ],
    }
    return render(request, "renewals/expansion.html", {"page": page, "chart_spec": chart})
