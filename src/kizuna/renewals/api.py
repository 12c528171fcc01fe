"""REST API of the renewal center and the expansion pipeline (``/api/v1``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from kizuna.auth.deps import current_principal
from kizuna.auth.service import Principal
from kizuna.platform.clock import today
from kizuna.platform.paging import Page, Paging
from kizuna.platform.web.deps import DbSession, Id, Pages
from kizuna.renewals import expansion, service
from kizuna.renewals.schemas import CallIn, OutcomeIn

router = APIRouter(prefix="/api/v1", tags=["renewals"])


@router.get(
    "/renewal-center",
    response_model=Page[dict[str, Any]],
    summary="One page of upcoming renewals with ARR, health, risk, model and CSM calls (with the total count)",
)
def upcoming(
    horizon_days: int = Query(120, ge=1, le=730),
    owner_id: int | None = Query(None, ge=1, le=2**31 - 1),
    paging: Paging = Pages,
    session: Session = DbSession,
) -> Page[dict[str, Any]]:
    day = today()
    total = service.count_upcoming(session, today=day, horizon_days=horizon_days, owner_id=owner_id)
    rows = service.upcoming(
        session,
        today=day,
        horizon_days=horizon_days,
        owner_id=owner_id,
        limit=paging.per_page,
        offset=paging.offset,
    )
    return Page(items=rows, total=total, page=paging.page, per_page=paging.per_page)


@router.get("/renewal-center/forecast", summary="Probability-weighted renewing ARR, CSM vs model")
def forecast(horizon_days: int = Query(120, ge=1, le=730), session: Session = DbSession) -> dict[str, Any]:
    return service.renewal_forecast(session, today=today(), horizon_days=horizon_days)


@router.post("/renewal-center/{renewal_id}/call", summary="Store the CSM's forecast call")
def call(
    renewal_id: Id,
    data: CallIn,
    principal: Principal = Depends(current_principal),
    session: Session = DbSession,
) -> dict[str, Any]:
    r = service.set_forecast_call(session, actor=principal.actor, renewal_id=renewal_id, call=data.call, note=data.note)
    return {
        "renewal_id": r.id,
        "csm_call": r.csm_call,
        "disagreement": service.disagrees(r.csm_call, r.model_probability),
    }


@router.post("/renewal-center/{renewal_id}/outcome", summary="Record a renewal's outcome by hand")
def outcome(
    renewal_id: Id,
    data: OutcomeIn,
    principal: Principal = Depends(current_principal),
    session: Session = DbSession,
) -> dict[str, Any]:
    r = service.record_outcome(
        session, actor=principal.actor, renewal_id=renewal_id, outcome=data.outcome, arr_minor=data.arr_minor
    )
    return {"renewal_id": r.id, "outcome": r.outcome, "outcome_arr_minor": r.outcome_arr_minor}


@router.get("/expansion", summary="Upsell / cross-sell pipeline with the signals behind it")
def pipeline(session: Session = DbSession) -> dict[str, Any]:
    return expansion.expansion_pipeline(session)
