"""REST API of health scores (``/api/v1``): latest scores with contributions, history, explained changes, overrides.
Mounted by the web app behind the ``authorized`` dependency."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, status
from sqlalchemy.orm import Session

from kizuna.auth.deps import current_principal
from kizuna.auth.service import Principal
from kizuna.health import service
from kizuna.health.schemas import HealthScoreOut, OverrideIn, OverrideOut
from kizuna.platform.web.deps import DbSession, Id

router = APIRouter(prefix="/api/v1", tags=["health"])

# A scorecard key in a URL path, bounded like the ids (kizuna.platform.web.deps.Id).
Scorecard = Annotated[str, Path(min_length=1, max_length=64)]


@router.get("/health/scorecards", summary="The scorecards in force, each with its stored backtest")
def list_scorecards(session: Session = DbSession) -> list[dict[str, Any]]:
    """Each scorecard's definition, its newest stored backtest (``backtest``: version, as_of, ROC-AUC) and
    ``warning``: set when that backtest ranks churn worse than random (ROC-AUC under 0.5)."""
    return service.scorecards_with_backtests(session)


@router.get("/accounts/{account_id}/health", summary="An account's latest score on each scorecard")
def account_health(account_id: Id, session: Session = DbSession) -> list[HealthScoreOut]:
    return [HealthScoreOut.model_validate(r) for r in service.latest_scores(session, account_id=account_id)]


@router.get("/accounts/{account_id}/health/{scorecard}/history", summary="Score history and trend")
def history(
    account_id: Id, scorecard: Scorecard, since: dt.date | None = None, session: Session = DbSession
) -> dict[str, Any]:
    rows = service.score_history(session, account_id=account_id, scorecard=scorecard, since=since)
    return {
        "trend": service.health_trend(session, account_id=account_id, scorecard=scorecard),
        "history": [
            {
                "as_of": r.as_of,
                "score": r.score,
                "band": r.band,
                "computed_score": r.computed_score,
                "override_id": r.override_id,
            }
            for r in rows
        ],
    }


@router.get("/accounts/{account_id}/health/{scorecard}/explain", summary="Which measures moved the score")
def explain(
    account_id: Id, scorecard: Scorecard, since: dt.date | None = None, session: Session = DbSession
) -> dict[str, Any]:
    return service.explain_score_change(session, account_id=account_id, scorecard=scorecard, since=since)


@router.post(
    "/accounts/{account_id}/health/overrides",
    status_code=status.HTTP_201_CREATED,
    summary="Override an account's health until a date (the computed score is kept)",
)
def create_override(
    account_id: Id,
    data: OverrideIn,
    principal: Principal = Depends(current_principal),
    session: Session = DbSession,
) -> OverrideOut:
    override = service.record_override(
        session,
        actor=principal.actor,
        account_id=account_id,
        scorecard=data.scorecard,
        band=data.band,
        score=data.score,
        reason=data.reason,
        expires_on=data.expires_on,
    )
    return OverrideOut.model_validate(override)


@router.delete("/health/overrides/{override_id}", summary="Revoke an override from today")
def revoke(
    override_id: Id, principal: Principal = Depends(current_principal), session: Session = DbSession
) -> OverrideOut:
    return OverrideOut.model_validate(service.revoke_override(session, actor=principal.actor, override_id=override_id))
