"""HTML page of the import runs and the file upload (``/imports``), and the download of a run's rejected rows."""

from __future__ import annotations

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, Response
from sqlalchemy.orm import Session

from kizuna.auth.deps import current_principal
from kizuna.auth.service import Principal
from kizuna.imports import service
from kizuna.platform.web.deps import DbSession, settings_of
from kizuna.platform.web.templating import render

router = APIRouter(include_in_schema=False)

#: the entities offered by the upload form, in this order
IMPORT_ENTITIES = [
    "accounts",
    "contacts",
    "team_members",
    "subscriptions",
    "plans",
    "products",
    "invoices",
    "payments",
    "tickets",
    "survey_responses",
    "voc_entries",
    "activities",
    "onboarding_milestones",
    "leads",
    "opportunities",
    "marketing_spend",
    "events",
]


@router.get("/imports", response_class=HTMLResponse)
def imports(request: Request, session: Session = DbSession) -> Response:
    return render(
        request,
        "imports/imports.html",
        {"runs": service.import_runs(session), "entities": IMPORT_ENTITIES, "outcome": None},
    )


@router.post("/imports", response_class=HTMLResponse)
def upload(
    request: Request,
    entity: str = Form(..., max_length=32),
    file: UploadFile = File(...),
    dry_run: bool = Form(False),
    principal: Principal = Depends(current_principal),
    session: Session = DbSession,
) -> Response:
    outcome = service.upload_import(
        session,
        settings=settings_of(request),
        actor=principal.actor,
        entity=entity,
        filename=file.filename or "upload",
        stream=file.file,
        dry_run=dry_run,
    )
    runs = list(service.import_runs(session))
    return render(
        request,
        "imports/imports.html",
        {"runs": runs, "entities": IMPORT_ENTITIES, "outcome": outcome},
        status_code=400 if outcome.error else 200,
    )


@router.get("/imports/{run_id}/rejects")
def download_rejects(request: Request, run_id: int, session: Session = DbSession) -> FileResponse:
    path = service.rejects_file(session, run_id=run_id, rejects_dir=settings_of(request).rejects_dir)
    return FileResponse(path, media_type="text/csv; charset=utf-8", filename=path.name)
