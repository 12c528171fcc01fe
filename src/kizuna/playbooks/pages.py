"""HTML pages of the playbooks: the list with the run log (``/playbooks``), importing the bundled library, and the
YAML editor of one playbook (``/playbooks/{key}``: validate, dry run, save)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from kizuna.auth.deps import current_principal
from kizuna.auth.service import Principal
from kizuna.errors import InvalidInput
from kizuna.platform.clock import today
from kizuna.platform.web.deps import DbSession
from kizuna.platform.web.templating import language_of, render
from kizuna.playbooks import service
from kizuna.playbooks.schemas import parse_playbook_yaml
from kizuna.tasks.models import DEFAULT_DAILY_TASK_BUDGET
from kizuna.tasks.service import workload

router = APIRouter(include_in_schema=False)


@router.get("/playbooks", response_class=HTMLResponse)
def playbooks(request: Request, session: Session = DbSession) -> Response:
    language = language_of(request)
    return render(
        request,
        "playbooks/playbooks.html",
        {
            "playbooks": service.list_playbooks(session),
            "titles": service.playbook_titles(session, language=language),
            "workload": workload(session, today=today()),
            "default_budget": DEFAULT_DAILY_TASK_BUDGET,
            "runs": service.run_log(session, limit=50),
        },
    )


@router.post("/playbooks/import-library")
def import_playbook_library(
    principal: Principal = Depends(current_principal), session: Session = DbSession
) -> RedirectResponse:
    service.import_library(session, actor=principal.actor)
    return RedirectResponse("/playbooks", status_code=303)


@router.get("/playbooks/{key}", response_class=HTMLResponse)
def playbook_editor(request: Request, key: str, session: Session = DbSession) -> Response:
    return render(
        request,
        "playbooks/playbook_editor.html",
        {
            "key": key,
            "titles": service.playbook_titles(session, language=language_of(request)),
            "yaml_text": service.export_playbook(session, key=key),
            "runs": service.run_log(session, key=key, limit=50),
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
            "runs": service.run_log(session, key=key, limit=50),
            "result": result,
            "error": error,
        },
        status_code=400 if error else 200,
    )
