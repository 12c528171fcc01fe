"""REST API of lifecycle stages, onboarding plans and success plans (``/api/v1``)."""

from __future__ import annotations

import dataclasses
from typing import Any

from fastapi import APIRouter, Depends, Path, Query, status
from sqlalchemy.orm import Session

from kizuna.auth.deps import current_principal
from kizuna.auth.service import Principal
from kizuna.lifecycle import service
from kizuna.lifecycle.schemas import GoalIn, GoalUpdate, StageIn
from kizuna.platform.clock import today
from kizuna.platform.paging import Page, Paging
from kizuna.platform.web.deps import DbSession, Id, Pages

router = APIRouter(prefix="/api/v1", tags=["lifecycle"])


@router.post("/accounts/{account_id}/stage", summary="Change an account's lifecycle stage")
def change_stage(
    account_id: Id,
    data: StageIn,
    principal: Principal = Depends(current_principal),
    session: Session = DbSession,
) -> dict[str, Any]:
    change = service.change_stage(
        session, actor=principal.actor, account_id=account_id, stage=data.stage, reason=data.reason
    )
    return {"changed": change is not None, "stage": data.stage}


@router.get("/accounts/{account_id}/stage-history", summary="Lifecycle stage changes")
def stage_history(account_id: Id, session: Session = DbSession) -> list[dict[str, Any]]:
    return [
        {
            "from_stage": c.from_stage,
            "to_stage": c.to_stage,
            "changed_at": c.changed_at,
            "actor": c.actor,
            "reason": c.reason,
        }
        for c in service.stage_history(session, account_id=account_id)
    ]


@router.get("/accounts/{account_id}/onboarding", summary="Onboarding milestones, overdue, time-to-value")
def onboarding(account_id: Id, session: Session = DbSession) -> dict[str, Any]:
    status_ = service.onboarding_status(session, account_id=account_id, today=today())
    return dataclasses.asdict(status_)


@router.post("/accounts/{account_id}/onboarding/{kind}/complete", summary="Complete a milestone")
def complete(
    account_id: Id,
    kind: str = Path(max_length=32),
    principal: Principal = Depends(current_principal),
    session: Session = DbSession,
) -> dict[str, Any]:
    m = service.complete_milestone(session, actor=principal.actor, account_id=account_id, kind=kind)
    return {"kind": m.kind, "completed_at": m.completed_at}


@router.get(
    "/onboarding/overdue",
    response_model=Page[dict[str, Any]],
    summary="One page of the open milestones past their due date, most overdue first (with the total count)",
)
def overdue(
    owner_id: int | None = Query(None, ge=1, le=2**31 - 1), paging: Paging = Pages, session: Session = DbSession
) -> Page[dict[str, Any]]:
    return service.overdue_milestones(session, today=today(), owner_id=owner_id, paging=paging)


@router.get("/accounts/{account_id}/success-plan", summary="The account's goals and KPIs")
def success_plan(account_id: Id, session: Session = DbSession) -> list[dict[str, Any]]:
    return service.success_plan(session, account_id=account_id, today=today())


@router.post("/accounts/{account_id}/success-plan", status_code=status.HTTP_201_CREATED, summary="Add a goal")
def add_goal(
    account_id: Id,
    data: GoalIn,
    principal: Principal = Depends(current_principal),
    session: Session = DbSession,
) -> dict[str, Any]:
    goal = service.add_goal(session, actor=principal.actor, account_id=account_id, **data.model_dump())
    return {"id": goal.id, "status": goal.status}


@router.patch("/success-goals/{goal_id}", summary="Record progress on a goal")
def update_goal(
    goal_id: Id,
    data: GoalUpdate,
    principal: Principal = Depends(current_principal),
    session: Session = DbSession,
) -> dict[str, Any]:
    goal = service.update_goal(session, actor=principal.actor, goal_id=goal_id, **data.model_dump())
    return {"id": goal.id, "status": goal.status, "current_value": goal.current_value}
