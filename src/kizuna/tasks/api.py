"""JSON routes of tasks: list (paged, with the total count), create, read, complete. Each route parses, calls one
service and returns its result."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query, status
from sqlalchemy.orm import Session

from kizuna.auth.deps import current_principal
from kizuna.auth.service import Principal
from kizuna.platform.paging import Paging
from kizuna.platform.web.deps import DbSession, Id, Pages
from kizuna.tasks import service as tasks_service
from kizuna.tasks.schemas import TaskCreate, TaskDone, TaskOut, TaskPageOut

router = APIRouter(prefix="/api/v1", tags=["tasks"])


@router.get("/tasks", response_model=TaskPageOut, summary="One page of tasks by due date (with the total count)")
def list_tasks(
    owner_id: int | None = Query(None, ge=1, le=2**31),
    account_id: int | None = Query(None, ge=1, le=2**31),
    status_: list[Literal["waiting", "open", "snoozed", "done", "cancelled"]] = Query(["open"], alias="status"),
    priority: Literal["urgent", "high", "normal", "low"] | None = Query(None),
    paging: Paging = Pages,
    session: Session = DbSession,
) -> TaskPageOut:
    found = tasks_service.page_tasks(
        session,
        owner_id=owner_id,
        account_id=account_id,
        statuses=tuple(status_),
        priority=priority,
        page=paging.page,
        per_page=paging.per_page,
    )
    return TaskPageOut(
        items=[TaskOut.model_validate(t) for t in found.items],
        total=found.total,
        page=found.page,
        per_page=found.per_page,
    )


@router.post("/tasks", response_model=TaskOut, status_code=status.HTTP_201_CREATED, summary="Create a task")
def create_task(
    data: TaskCreate, principal: Principal = Depends(current_principal), session: Session = DbSession
) -> TaskOut:
    if data.account_id is not None:
        from kizuna.accounts.service import get_account

        get_account(session, data.account_id)
    if data.owner_id is not None:
        from kizuna.accounts.service import _check_owner

        _check_owner(session, data.owner_id)
    task, _ = tasks_service.create_task(
        session,
        actor=principal.actor,
        title=data.title,
        account_id=data.account_id,
        owner_id=data.owner_id or principal.team_member_id,
        reason=data.reason,
        priority=data.priority,
        due_on=data.due_on,
        source="api",
    )
    return TaskOut.model_validate(task)


@router.get("/tasks/{task_id}", response_model=TaskOut)
def get_task(task_id: Id, session: Session = DbSession) -> TaskOut:
    return TaskOut.model_validate(tasks_service.get_task(session, task_id))


@router.post("/tasks/{task_id}/complete", response_model=TaskOut, summary="Mark a task done")
def complete_task(
    task_id: Id,
    data: TaskDone,
    principal: Principal = Depends(current_principal),
    session: Session = DbSession,
) -> TaskOut:
    task = tasks_service.complete_task(session, actor=principal.actor, task_id=task_id, outcome=data.outcome)
    return TaskOut.model_validate(task)
