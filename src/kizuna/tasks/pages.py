"""HTML page of the tasks (``/tasks``: filtered, paged, with CSV and Excel export) and the forms that complete,
snooze and reassign one in place: every form posts the page's own URL as ``next`` and is sent back to it (303), so
a CSM keeps their filters and page."""

from __future__ import annotations

import datetime as dt
from typing import Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from kizuna.accounts import service as accounts_service
from kizuna.auth.deps import current_principal, same_site
from kizuna.auth.service import Principal
from kizuna.errors import InvalidInput
from kizuna.platform.clock import today
from kizuna.platform.web import i18n
from kizuna.platform.web.deps import DbSession, Id
from kizuna.platform.web.exports import export_response
from kizuna.platform.web.templating import language_of, render
from kizuna.tasks import service

router = APIRouter(include_in_schema=False)

PER_PAGE = 50
EXPORT_LIMIT = 10_000


def _owner_filter(raw: str | None) -> int | None:
    """The CSM filter: blank is everyone (a select's "all" sends ``owner_id=``)."""
    if raw is None or not raw.strip():
        return None
    if not raw.strip().isdigit() or int(raw) > 2**31:
        raise InvalidInput(f"owner_id must be a team member's id, not {raw!r}", field="owner_id", value=raw)
    return int(raw)


def _choice(name: str, raw: str | None, allowed: tuple[str, ...]) -> str | None:
    """A select filter's value: blank is "all"."""
    if raw is None or raw == "":
        return None
    if raw not in allowed:
        raise InvalidInput(f"{name} must be one of {', '.join(allowed)}, not {raw!r}", field=name, value=raw)
    return raw


@router.get("/tasks", response_class=HTMLResponse)
def tasks(
    request: Request,
    owner_id: str | None = Query(None, max_length=12),
    status: Literal["open", "snoozed", "waiting"] = Query("open"),
    priority: str | None = Query(None, max_length=16),
    due: str | None = Query(None, max_length=16),
    page: int = Query(1, ge=1, le=1_000_000),
    format: str | None = Query(None, pattern="^(csv|xlsx)$"),
    session: Session = DbSession,
) -> Response:
    owner = _owner_filter(owner_id)
    wanted = _choice("priority", priority, ("urgent", "high", "normal", "low"))
    overdue = _choice("due", due, ("overdue",)) is not None
    day = today()

    def page_of(number: int, size: int) -> service.TaskPage:
        return service.page_tasks(
            session,
            owner_id=owner,
            statuses=(status,),
            priority=wanted,
            overdue_on=day if overdue else None,
            page=number,
            per_page=size,
        )

    if format:
        rows = page_of(1, EXPORT_LIMIT).items
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
    found = page_of(page, PER_PAGE)
    query = {"owner_id": owner, "status": status if status != "open" else None, "priority": wanted}
    query["due"] = "overdue" if overdue else None
    qs = urlencode({k: v for k, v in query.items() if v is not None})
    return render(
        request,
        "tasks/tasks.html",
        {
            "page": found,
            "names": service.names_of(session, found.items),
            "team": accounts_service.team_members(session),
            "owner_id": owner,
            "status": status,
            "priority": wanted,
            "overdue": overdue,
            "qs": qs,
            "snooze_presets": service.snooze_presets(day),
            "today": day,
        },
    )


@router.post("/tasks/{task_id}/complete")
def complete_task(
    task_id: Id,
    outcome: str = Form("", max_length=5000),
    next: str = Form("/tasks", max_length=2000),
    principal: Principal = Depends(current_principal),
    session: Session = DbSession,
) -> RedirectResponse:
    service.complete_task(session, actor=principal.actor, task_id=task_id, outcome=outcome or None)
    return RedirectResponse(same_site(next, "/tasks"), status_code=303)


@router.post("/tasks/{task_id}/snooze")
def snooze_task(
    task_id: Id,
    preset: dt.date | None = Form(None),
    until: dt.date | None = Form(None),
    next: str = Form("/tasks", max_length=2000),
    principal: Principal = Depends(current_principal),
    session: Session = DbSession,
) -> RedirectResponse:
    """Snooze to a preset (the button pressed) or to the date picked."""
    day = preset or until
    if day is None:
        raise InvalidInput("choose a date to snooze the task to", field="until")
    if day <= today():
        raise InvalidInput(f"a task is snoozed to a later day, not {day.isoformat()}", field="until", value=str(day))
    service.snooze_task(session, actor=principal.actor, task_id=task_id, until=day)
    return RedirectResponse(same_site(next, "/tasks"), status_code=303)


@router.post("/tasks/{task_id}/reassign")
def reassign_task(
    task_id: Id,
    owner_id: int = Form(..., ge=1, le=2**31),
    next: str = Form("/tasks", max_length=2000),
    principal: Principal = Depends(current_principal),
    session: Session = DbSession,
) -> RedirectResponse:
    service.reassign_task(session, actor=principal.actor, task_id=task_id, owner_id=owner_id)
    return RedirectResponse(same_site(next, "/tasks"), status_code=303)
