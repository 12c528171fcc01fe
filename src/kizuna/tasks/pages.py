"""HTML page of the open and snoozed tasks (``/tasks``, with CSV and Excel export) and the form completing one."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from kizuna.accounts import service as accounts_service
from kizuna.auth.deps import current_principal
from kizuna.auth.service import Principal
from kizuna.platform.web import i18n
from kizuna.platform.web.deps import DbSession, Id
from kizuna.platform.web.exports import export_response
from kizuna.platform.web.templating import language_of, render
from kizuna.tasks import service

router = APIRouter(include_in_schema=False)


@router.get("/tasks", response_class=HTMLResponse)
def tasks(
    request: Request,
    owner_id: int | None = Query(None, ge=1, le=2**31),
    format: str | None = Query(None, pattern="^(csv|xlsx)$"),
    session: Session = DbSession,
) -> Response:
    rows = service.list_tasks(session, owner_id=owner_id, statuses=("open", "snoozed"), limit=1000)
    if format:
        t = i18n.translator(language_of(request))
        columns = [
            ("due_on", "task.due"),
            ("priority", "task.priority"),
            ("title", "task.title"),
            ("account_id", "field.account"),
            ("owner_id", "field.owner"),
            ("status", "task.status"),
        ]
        return export_response(
            format,
            filename="tasks",
            columns=[(k, t(label)) for k, label in columns],
            rows=({c: getattr(task, c) for c, _ in columns} for task in rows),
        )
    return render(
        request,
        "tasks/tasks.html",
        {"tasks": rows, "team": accounts_service.team_members(session), "owner_id": owner_id},
    )


@router.post("/tasks/{task_id}/complete")
def complete_task(
    task_id: Id,
    outcome: str = Form("", max_length=5000),
    principal: Principal = Depends(current_principal),
    session: Session = DbSession,
) -> RedirectResponse:
    service.complete_task(session, actor=principal.actor, task_id=task_id, outcome=outcome or None)
    return RedirectResponse("/tasks", status_code=303)
