"""REST API of churn risk (``/api/v1``): an account's probability, band and drivers; the model report."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from kizuna.errors import NotFound
from kizuna.platform.web.deps import DbSession, Id
from kizuna.risk import service

router = APIRouter(prefix="/api/v1", tags=["risk"])


@router.get("/accounts/{account_id}/risk", summary="An account's latest churn probability, band and drivers")
def account_risk(account_id: Id, session: Session = DbSession) -> dict[str, Any]:
    row = service.latest_risk(session, account_id=account_id)
    if row is None:
        raise NotFound(f"no risk score for account {account_id}", account_id=account_id)
    return {
        "account_id": row.account_id,
        "as_of": row.as_of,
        "probability": row.probability,
        "band": row.band,
        "drivers": row.drivers,
        "model_id": row.model_id,
    }


@router.get("/risk/report", summary="The active model, its backtest and the riskiest accounts")
def report(top: int = Query(20, ge=1, le=500), session: Session = DbSession) -> dict[str, Any]:
    return service.risk_report(session, top=top)
