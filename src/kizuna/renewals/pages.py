"""HTML pages of the renewal center: upcoming renewals with both calls, the forecast, and the CSM's call form."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from kizuna.auth.deps import current_principal
from kizuna.auth.service import Principal
from kizuna.platform.clock import today
from kizuna.renewals import expansion, service
from kizuna.renewals.models import ForecastCall
from kizuna.platform.web.deps import DbSession, Id
from kizuna.platform.web.templating import render

router = APIRouter(tags=["renewals"])


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
