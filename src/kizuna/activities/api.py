"""JSON routes of the account timeline's activities (meetings, calls, e-mails, notes, QBRs)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, status
from sqlalchemy.orm import Session

from kizuna.activities import service
from kizuna.activities.schemas import ActivityCreate, ActivityOut
from kizuna.auth.deps import current_principal
from kizuna.auth.service import Principal
from kizuna.platform.web.deps import ERRORS, DbSession, Id

router = APIRouter(prefix="/api/v1", tags=["activities"])


@router.get(
    "/accounts/{account_id}/activities", response_model=list[ActivityOut], responses=ERRORS, tags=["activities"]
)
def list_activities(
    account_id: Id, limit: int = Query(100, ge=1, le=1000), session: Session = DbSession
) -> list[ActivityOut]:
    return [ActivityOut.model_validate(a) for a in service.list_activities(session, account_id, limit=limit)]


@router.post(
    "/accounts/{account_id}/activities",
    response_model=ActivityOut,
    status_code=status.HTTP_201_CREATED,
    responses=ERRORS,
    tags=["activities"],
    summary="Log an activity or add a note (kind=note)",
)
def log_activity(
    account_id: Id,
    data: ActivityCreate,
    principal: Principal = Depends(current_principal),
    session: Session = DbSession,
) -> ActivityOut:
    activity = service.log_activity(
        session,
        actor=principal.actor,
        account_id=account_id,
        author_id=principal.team_member_id,
        **data.model_dump(),
    )
    return ActivityOut.model_validate(activity)
