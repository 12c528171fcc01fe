"""HTML pages of the import runs and the file upload (``/imports``), one run with its rejected rows and the reasons in
words (``/imports/{run_id}``), and the download of a run's rejected rows."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, Response
from sqlalchemy.orm import Session

from kizuna.auth.deps import current_principal
from kizuna.auth.service import Principal
from kizuna.errors import NotFound
from kizuna.imports import service
from kizuna.imports.mapping import NAMED_MAPPINGS
from kizuna.imports.reasons import reason_words
from kizuna.imports.rejects import read_rejects
from kizuna.platform.web import i18n
from kizuna.platform.web.deps import DbSession, Id, settings_of
from kizuna.platform.web.templating import language_of, render

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
    "fx_rates",
    "events",
]
#: rejected rows shown on a run's page (the file holds them all)
REJECTS_SHOWN = 200


def _reason(request: Request) -> Any:
    t = i18n.translator(language_of(request))
    return lambda reason: reason_words(reason or "", t)


@router.get("/imports", response_class=HTMLResponse)
def imports(request: Request, session: Session = DbSession) -> Response:
    return render(
        request,
        "imports/imports.html",
        {
            "runs": service.import_runs(session),
            "entities": IMPORT_ENTITIES,
            "mappings": NAMED_MAPPINGS,
            "outcome": None,
            "reason": _reason(request),
        },
    )


@router.post("/imports", response_class=HTMLResponse)
def upload(
    request: Request,
    entity: str = Form(..., max_length=32),
    file: UploadFile = File(...),
    dry_run: bool = Form(False),
    mapping: str = Form("", max_length=32),
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
        mapping=mapping or None,
    )
    runs = list(service.import_runs(session))
    return render(
        request,
        "imports/imports.html",
        {
            "runs": runs,
            "entities": IMPORT_ENTITIES,
            "mappings": NAMED_MAPPINGS,
            "outcome": outcome,
            "reason": _reason(request),
        },
        status_code=400 if outcome.error else 200,
    )


@router.get("/imports/{run_id}", response_class=HTMLResponse)
def import_run(request: Request, run_id: Id, session: Session = DbSession) -> Response:
    run = service.get_import_run(session, run_id)
    rejects: list[dict[str, str]] = []
    missing = False
    if run.rejects_path and run.rejected:
        try:
            path = service.rejects_file(session, run_id=run_id, rejects_dir=settings_of(request).rejects_dir)
            rejects = read_rejects(path, limit=REJECTS_SHOWN)
        except NotFound:
            missing = True
    return render(
        request,
        "imports/run.html",
        {"run": run, "rejects": rejects, "rejects_missing": missing, "reason": _reason(request)},
    )


@router.get("/imports/{run_id}/rejects")
def download_rejects(request: Request, run_id: int, session: Session = DbSession) -> FileResponse:
    path = service.rejects_file(session, run_id=run_id, rejects_dir=settings_of(request).rejects_dir)
    return FileResponse(path, media_type="text/csv; charset=utf-8", filename=path.name)
