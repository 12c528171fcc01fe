"""HTML pages of the import runs and the file upload (``/imports``), one run with its rejected rows and the reasons in
words (``/imports/{run_id}``), and the download of a run's rejected rows."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, Response
from sqlalchemy.orm import Session

from kizuna.auth.deps import current_principal
from kizuna.auth.service import Principal
from kizuna.errors import NotFound
from kizuna.imports import service
from kizuna.imports.mapping import NAMED_MAPPINGS
from kizuna.imports.reasons import reason_words
from kizuna.imports.rejects import read_rejects
from kizuna.platform.paging import MAX_PAGE, Paging
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
#: import runs on a page of the history
RUNS_PER_PAGE = 50


def _reason(request: Request) -> Any:
    t = i18n.translator(language_of(request))
    return lambda reason: reason_words(reason or "", t)


def _history(session: Session, page: int) -> dict[str, Any]:
    """One page of the import history (past the last: the last) with its pager's numbers."""
    runs, total = service.import_runs(session, paging=Paging(page, RUNS_PER_PAGE))
    shown = Paging(page, RUNS_PER_PAGE).within(total)
    if shown.page != page:
        runs, total = service.import_runs(session, paging=shown)
    return {"runs": runs, "runs_total": total, "page": shown.page, "pages": shown.pages(total)}


@router.get("/imports", response_class=HTMLResponse)
def imports(request: Request, page: int = Query(1, ge=1, le=MAX_PAGE), session: Session = DbSession) -> Response:
    return render(
        request,
        "imports/imports.html",
        {
            **_history(session, page),
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
    return render(
        request,
        "imports/imports.html",
        {
            **_history(session, 1),
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
