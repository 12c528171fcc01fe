"""Portfolio pages: renewals, expansion, cohorts, The Model funnel, VoC, surveys, tasks, imports and playbooks.

Each handler parses, calls one service (this package's ``portfolio`` reads or the owning domain's service) and
renders; every list has CSV and Excel export.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from kizuna.accounts import service as accounts_service
from kizuna.accounts.schemas import AccountQuery
from kizuna.auth.deps import current_principal
from kizuna.auth.service import Principal
from kizuna.dashboard.service import portfolio
from kizuna.platform.clock import today
from kizuna.platform.web import i18n
from kizuna.platform.web.deps import DbSession, Id, settings_of
from kizuna.platform.web.exports import export_response
from kizuna.platform.web.templating import language_of, render
from kizuna.web import portfolio as reads

router = APIRouter(include_in_schema=False)
FORMAT = Query(None, pattern="^(csv|xlsx)$")


def _export(request: Request, fmt: str, name: str, columns: list[tuple[str, str]], rows: Any) -> Response:
    t = i18n.translator(language_of(request))
    return export_response(fmt, filename=name, columns=[(k, t(label)) for k, label in columns], rows=rows)


@router.get("/renewals", response_class=HTMLResponse)
def renewals(
    request: Request,
    horizon_days: int = Query(90, ge=1, le=730),
    owner_id: int | None = Query(None, ge=1, le=2**31),
    format: str | None = FORMAT,
    session: Session = DbSession,
) -> Response:
    rows = accounts_service.upcoming_renewals(session, today=today(), horizon_days=horizon_days, owner_id=owner_id)
    if format:
        columns = [
            ("renewal_date", "field.renewal"),
            ("account_id", "field.id"),
            ("name", "field.account"),
            ("owner_name", "field.owner"),
            ("mrr_minor", "metric.mrr"),
            ("currency", "field.currency"),
            ("cancelled", "sub.cancelled"),
        ]
        return _export(request, format, "renewals", columns, rows)
    return render(request, "portfolio/renewals.html", {"rows": rows, "horizon_days": horizon_days})


@router.get("/expansion", response_class=HTMLResponse)
def expansion(request: Request, format: str | None = FORMAT, session: Session = DbSession) -> Response:
    page = accounts_service.list_accounts(
        session, AccountQuery(lifecycle_stage="expansion", sort="-mrr", per_page=200), today=today()
    )
    if format:
        columns = [
            ("id", "field.id"),
            ("name", "field.account"),
            ("owner_name", "field.owner"),
            ("mrr_minor", "metric.mrr"),
        ]
        return _export(request, format, "expansion", columns, (r.model_dump() for r in page.items))
    p = portfolio(session, today=today())
    lang = language_of(request)
    chart = {
        "kind": "bar",
        "format": "yen",
        "categories": [i18n.format_month(m["month"], lang) for m in p.movements],
        "series": [
            {
                "name": i18n.translate(lang, "movement.expansion"),
                "data": [m["expansion"] for m in p.movements],
                "color": "#1c7ed6",
            },
        ],
    }
    return render(request, "portfolio/expansion.html", {"page": page, "chart": chart})


@router.get("/cohorts", response_class=HTMLResponse)
def cohorts(request: Request, session: Session = DbSession) -> Response:
    c = reads.cohorts(session)
    lang = language_of(request)
    y = [i18n.format_month(m, lang) for m in c.months]

    def heat(values: list[list[float | None]]) -> dict[str, Any]:
        data = [[x, yi, None if v is None else round(v, 3)] for yi, row in enumerate(values) for x, v in enumerate(row)]
        return {
            "kind": "heatmap",
            "format": "pct",
            "x": [str(o) for o in c.offsets],
            "y": y,
            "data": data,
            "min": 0,
            "max": 1,
        }

    return render(
        request, "portfolio/cohorts.html", {"c": c, "logo_chart": heat(c.logo), "revenue_chart": heat(c.revenue)}
    )


@router.get("/funnel", response_class=HTMLResponse)
def funnel(request: Request, format: str | None = FORMAT, session: Session = DbSession) -> Response:
    f = reads.funnel(session)
    if format:
        columns = [("stage", "funnel.stage"), ("count", "funnel.count"), ("conversion", "funnel.conversion")]
        return _export(request, format, "the-model", columns, f["stages"])
    lang = language_of(request)
    chart = {
        "kind": "bar",
        "categories": [i18n.translate(lang, f"funnel.{s['stage']}") for s in f["stages"]],
        "series": [
            {
                "name": i18n.translate(lang, "funnel.count"),
                "data": [s["count"] for s in f["stages"]],
                "color": "#b4233c",
            }
        ],
    }
    return render(request, "portfolio/funnel.html", {"f": f, "chart": chart})


@router.get("/voc", response_class=HTMLResponse)
def voc(
    request: Request,
    channel: str | None = Query(None, max_length=32),
    format: str | None = FORMAT,
    session: Session = DbSession,
) -> Response:
    entries = reads.voc_entries(session, channel=channel or None, limit=5000 if format else 100)
    if format:
        rows = (
            {
                "recorded_at": e["entry"].recorded_at,
                "account": e["account_name"],
                "channel": e["entry"].channel,
                "text": e["entry"].text,
            }
            for e in entries
        )
        columns = [
            ("recorded_at", "field.date"),
            ("account", "field.account"),
            ("channel", "filter.channel"),
            ("text", "voc.entries"),
        ]
        return _export(request, format, "voc", columns, rows)
    lang = language_of(request)
    by_channel = reads.voc_by_channel(session)
    chart = {
        "kind": "donut",
        "data": [{"name": i18n.translate(lang, f"channel.{k}"), "value": v} for k, v in by_channel.items()],
    }
    return render(
        request,
        "portfolio/voc.html",
        {"entries": entries, "chart": chart, "channel": channel, "channels": sorted(by_channel)},
    )


VOC_VIEWS = ("network", "characteristic", "requests", "lift")


@router.get("/voc/analytics", response_class=HTMLResponse)
def voc_analytics(
    request: Request,
    view: str = Query("network", pattern="^(network|characteristic|requests|lift)$"),
    by: str = Query("churned", pattern="^(churned|nps|plan|industry|segment|channel)$"),
    channel: str | None = Query(None, max_length=32),
    session: Session = DbSession,
) -> Response:
    result = reads.voc_analysis(session, view=view, by=by, channel=channel or None)
    return render(
        request,
        "portfolio/voc_analytics.html",
        {
            "view": view,
            "by": by,
            "channel": channel,
            "views": VOC_VIEWS,
            "result": result,
        },
    )


@router.get("/surveys", response_class=HTMLResponse)
def surveys(request: Request, format: str | None = FORMAT, session: Session = DbSession) -> Response:
    responses = reads.survey_responses(session, limit=5000 if format else 100)
    if format:
        rows = (
            {
                "responded_at": r["response"].responded_at,
                "account": r["account_name"],
                "kind": r["response"].kind,
                "score": r["response"].score,
                "comment": r["response"].comment,
            }
            for r in responses
        )
        columns = [
            ("responded_at", "field.date"),
            ("account", "field.account"),
            ("kind", "survey.kind"),
            ("score", "survey.score"),
            ("comment", "survey.comment"),
        ]
        return _export(request, format, "surveys", columns, rows)
    lang = language_of(request)
    trend = reads.nps_by_month(session, today=today())
    chart = {
        "kind": "line",
        "categories": [i18n.format_month(r["month"], lang) for r in trend],
        "series": [{"name": "NPS", "data": [round(r["nps"], 1) for r in trend], "color": "#7048e8"}],
    }
    return render(request, "portfolio/surveys.html", {"responses": responses, "chart": chart})


@router.get("/tasks", response_class=HTMLResponse)
def tasks(
    request: Request,
    owner_id: int | None = Query(None, ge=1, le=2**31),
    format: str | None = FORMAT,
    session: Session = DbSession,
) -> Response:
    from kizuna.tasks import service as tasks_service

    rows = tasks_service.list_tasks(session, owner_id=owner_id, statuses=("open", "snoozed"), limit=1000)
    if format:
        columns = [
            ("due_on", "task.due"),
            ("priority", "task.priority"),
            ("title", "task.title"),
            ("account_id", "field.account"),
            ("owner_id", "field.owner"),
            ("status", "task.status"),
        ]
        return _export(request, format, "tasks", columns, ({c: getattr(t, c) for c, _ in columns} for t in rows))
    return render(
        request,
        "portfolio/tasks.html",
        {"tasks": rows, "team": accounts_service.team_members(session), "owner_id": owner_id},
    )


@router.post("/tasks/{task_id}/complete")
def complete_task(
    task_id: Id,
    outcome: str = Form("", max_length=5000),
    principal: Principal = Depends(current_principal),
    session: Session = DbSession,
) -> RedirectResponse:
    from kizuna.tasks import service as tasks_service

    tasks_service.complete_task(session, actor=principal.actor, task_id=task_id, outcome=outcome or None)
    return RedirectResponse("/tasks", status_code=303)


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
        "portfolio/imports.html",
        {"runs": reads.import_runs(session), "entities": IMPORT_ENTITIES, "outcome": None},
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
    outcome = reads.upload_import(
        session,
        settings=settings_of(request),
        actor=principal.actor,
        entity=entity,
        filename=file.filename or "upload",
        stream=file.file,
        dry_run=dry_run,
    )
    runs = list(reads.import_runs(session))
    status = 400 if outcome.error else 200
    return render(
        request,
        "portfolio/imports.html",
        {"runs": runs, "entities": IMPORT_ENTITIES, "outcome": outcome},
        status_code=status,
    )


@router.get("/imports/{run_id}/rejects")
def download_rejects(request: Request, run_id: int, session: Session = DbSession) -> FileResponse:
    path = reads.rejects_file(session, run_id=run_id, rejects_dir=settings_of(request).rejects_dir)
    return FileResponse(path, media_type="text/csv; charset=utf-8", filename=path.name)


@router.get("/playbooks", response_class=HTMLResponse)
def playbooks(request: Request, session: Session = DbSession) -> Response:
    from kizuna.playbooks import service as playbooks_service

    return render(
        request,
        "portfolio/playbooks.html",
        {
            "playbooks": playbooks_service.list_playbooks(session),
            "runs": playbooks_service.run_log(session, limit=50),
        },
    )


@router.post("/playbooks/import-library")
def import_playbook_library(
    principal: Principal = Depends(current_principal), session: Session = DbSession
) -> RedirectResponse:
    from kizuna.playbooks import service as playbooks_service

    playbooks_service.import_library(session, actor=principal.actor)
    return RedirectResponse("/playbooks", status_code=303)


@router.get("/playbooks/{key}", response_class=HTMLResponse)
def playbook_editor(request: Request, key: str, session: Session = DbSession) -> Response:
    from kizuna.playbooks import service as playbooks_service

    return render(
        request,
        "portfolio/playbook_editor.html",
        {
            "key": key,
            "yaml_text": playbooks_service.export_playbook(session, key=key),
            "runs": playbooks_service.run_log(session, key=key, limit=50),
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
    from kizuna.errors import InvalidInput
    from kizuna.playbooks import service as playbooks_service
    from kizuna.playbooks.schemas import parse_playbook_yaml

    result: dict[str, Any] | None = None
    error = None
    try:
        definition = parse_playbook_yaml(yaml_text, source=f"{key}.yaml")
        if action == "dry_run":
            report = playbooks_service.evaluate_definition(
                session, definition, dry_run=True, language=language_of(request), actor=principal.actor
            )
            result = {"summary": report.summary(), "outcomes": report.outcomes[:200]}
        elif action == "save":
            playbooks_service.import_playbook(session, actor=principal.actor, yaml_text=yaml_text, source=f"{key}.yaml")
            return RedirectResponse(f"/playbooks/{definition.key}", status_code=303)
        else:
            result = {"summary": {"playbook": definition.key, "valid": True}, "outcomes": []}
    except InvalidInput as exc:
        error = str(exc)
    return render(
        request,
        "portfolio/playbook_editor.html",
        {
            "key": key,
            "yaml_text": yaml_text,
            "runs": playbooks_service.run_log(session, key=key, limit=50),
            "result": result,
            "error": error,
        },
        status_code=400 if error else 200,
    )
