"""HTML pages of the playbooks: the list with the run log (``/playbooks``), importing the bundled library, and the
YAML editor of one playbook (``/playbooks/{key}``: validate, dry run, save)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from kizuna.auth.deps import current_principal
from kizuna.auth.service import Principal
from kizuna.errors import InvalidInput
from kizuna.platform.clock import today
from kizuna.platform.paging import MAX_PAGE, Paging
from kizuna.platform.web.deps import DbSession
from kizuna.platform.web.templating import language_of, render
from kizuna.playbooks import service
from kizuna.playbooks.schemas import parse_playbook_yaml
from kizuna.tasks.models import DEFAULT_DAILY_TASK_BUDGET
from kizuna.tasks.service import workload

router = APIRouter(include_in_schema=False)
#: run-log rows on a page
RUNS_PER_PAGE = 50
PAGE = Query(1, ge=1, le=MAX_PAGE)


def _runs(session: Session, *, key: str | None, page: int) -> dict[str, Any]:
    """One page of the run log (every playbook's, or ``key``'s) with its pager's numbers; past the last: the last."""
    found = service.page_run_log(session, key=key, paging=Paging(page, RUNS_PER_PAGE))
    shown = Paging(page, RUNS_PER_PAGE).within(found.total)
    if shown.page != page:
        found = service.page_run_log(session, key=key, paging=shown)
    base = "/playbooks?" if key is None else f"/playbooks/{key}?"
    return {"runs": found.items, "runs_total": found.total, "page": found.page, "pages": found.pages, "runs_base": base}


@router.get("/playbooks", response_class=HTMLResponse)
def playbooks(request: Request, page: int = PAGE, session: Session = DbSession) -> Response:
    language = language_of(request)
    return render(
        request,
        "playbooks/playbooks.html",
        {
            "playbooks": service.list_playbooks(session),
            "titles": service.playbook_titles(session, language=language),
            "workload": workload(session, today=today()),
            "default_budget": DEFAULT_DAILY_TASK_BUDGET,
            **_runs(session, key=None, page=page),
        },
    )


@router.post("/playbooks/import-library")
def import_playbook_library(
    principal: Principal = Depends(current_principal), session: Session = DbSession
) -> RedirectResponse:
    service.import_library(session, actor=principal.actor)
    return RedirectResponse("/playbooks", status_code=303)


@router.get("/playbooks/{key}", response_class=HTMLResponse)
def playbook_editor(request: Request, key: str, page: int = PAGE, session: Session = DbSession) -> Response:
    return render(
        request,
        "playbooks/playbook_editor.html",
        {
            "key": key,
            "titles": service.playbook_titles(session, language=language_of(request)),
            "yaml_text": service.export_playbook(session, key=key),
            **_runs(session, key=key, page=page),
            "result": None,
            "error": None,
        },
    )


@router.post("/playbooks/{key}", response_class=HTMLResponse)
def playbook_check(
    request: Request,
    key: str,
    yaml_text: str = Form(..., max_length=200_000),
    action: str = Form("validate", pattern="^(validate|dry_run|save)$"),
    principal: Principal = Depends(current_principal),
    session: Session = DbSession,
) -> Response:
    result: dict[str, Any] | None = None
    error = None
    try:
        definition = parse_playbook_yaml(yaml_text, source=f"{key}.yaml")
        if action == "dry_run":
            report = service.evaluate_definition(
                session, definition, dry_run=True, language=language_of(request), actor=principal.actor
            )
            result = {"summary": report.summary(), "total": len(report.outcomes), "outcomes": report.outcomes[:200]}
        elif action == "save":
            service.import_playbook(session, actor=principal.actor, yaml_text=yaml_text, source=f"{key}.yaml")
            return RedirectResponse(f"/playbooks/{definition.key}", status_code=303)
        else:
            result = {"valid": True, "summary": {}, "total": 0, "outcomes": []}
    except InvalidInput as exc:
        error = str(exc)
    return render(
        request,
        "playbooks/playbook_editor.html",
        {
            "key": key,
            "titles": service.playbook_titles(session, language=language_of(request)),
            "yaml_text": yaml_text,
            **_runs(session, key=key, page=1),
            "result": result,
            "error": error,
        },
        status_code=400 if error else 200,
    )
