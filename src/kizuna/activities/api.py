"""JSON routes of the account timeline's activities (meetings, calls, e-mails, notes, QBRs)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, status
from sqlalchemy.orm import Session

from kizuna.activities import service
from kizuna.activities.schemas import ActivityCreate, ActivityOut
from kizuna.auth.deps import current_principal
from kizuna.auth.service import Principal
from kizuna.platform.paging import Page, Paging
from kizuna.platform.web.deps import DbSession, Id, Pages

router = APIRouter(prefix="/api/v1", tags=["activities"])


@router.get(
    "/accounts/{account_id}/activities",
    response_model=Page[ActivityOut],
    tags=["activities"],
    summary="One page of the account's activities, newest first (with the total count)",
)
def list_activities(account_id: Id, paging: Paging = Pages, session: Session = DbSession) -> Page[ActivityOut]:
    found, total = service.page_activities(session, account_id, paging=paging)
    items = [ActivityOut.model_validate(a) for a in found]
    return Page(items=items, total=total, page=paging.page, per_page=paging.per_page)


@router.post(
    "/accounts/{account_id}/activities",
    response_model=ActivityOut,
    status_code=status.HTTP_201_CREATED,
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
