"""HTML pages of the accounts domain: the accounts list, the customer 360 and its forms, my cockpit."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from kizuna.accounts import service
from kizuna.accounts.schemas import AccountQuery, ActivityCreate
from kizuna.auth import service as auth_service
from kizuna.auth.deps import current_principal
from kizuna.auth.public import _safe_next
from kizuna.auth.service import Principal
from kizuna.dashboard.pages import today
from kizuna.web import i18n
from kizuna.web.deps import DbSession, Id
from kizuna.web.exports import export_response
from kizuna.web.templating import language_of, render

router = APIRouter(include_in_schema=False)

LIST_COLUMNS = [
    ("id", "field.id"),
    ("external_id", "field.external_id"),
    ("name", "field.account"),
    ("industry", "field.industry"),
    ("region", "field.region"),
    ("lifecycle_stage", "field.stage"),
    ("touch_tier", "field.tier"),
    ("owner_name", "field.owner"),
    ("mrr_minor", "metric.mrr"),
    ("currency", "field.currency"),
    ("next_renewal", "field.next_renewal"),
]


@router.get("/accounts", response_class=HTMLResponse)
def accounts_list(
    request: Request,
    query: Annotated[AccountQuery, Query()],
    format: str | None = Query(None, pattern="^(csv|xlsx)$"),
    principal: Principal = Depends(current_principal),
    session: Session = DbSession,
) -> Response:
    if format:
        page = service.list_accounts(session, query, today=today(), limit_all=True)
        t = i18n.translator(language_of(request))
        return export_response(
            format,
            filename="accounts",
            columns=[(k, t(label)) for k, label in LIST_COLUMNS],
            rows=(row.model_dump() for row in page.items),
        )
    page = service.list_accounts(session, query, today=today())
    params = query.model_dump(exclude_defaults=True, exclude={"page"})
    views = (
        auth_service.list_saved_views(session, user_id=principal.id, page="accounts")
        if principal.kind == "user"
        else []
    )
    return render(
        request,
        "accounts/list.html",
        {
            "page": page,
            "query": query,
            "options": service.filter_options(session),
            "qs": urlencode(params),
            "qs_nosort": urlencode({k: v for k, v in params.items() if k != "sort"}),
            "pages": max(1, -(-page.total // query.per_page)),
            "views": views,
        },
    )


@router.post("/accounts/bulk-assign")
def bulk_assign(
    account_ids: list[int] = Form(...),
    owner_id: int = Form(..., ge=0),
    next: str = Form("/accounts"),
    principal: Principal = Depends(current_principal),
    session: Session = DbSession,
) -> RedirectResponse:
    service.bulk_assign(session, actor=principal.actor, account_ids=account_ids, owner_id=owner_id or None)
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/accounts/views")
def save_view(
    name: str = Form(..., max_length=200),
    query: str = Form("", max_length=2000),
    principal: Principal = Depends(current_principal),
    session: Session = DbSession,
) -> RedirectResponse:
    auth_service.save_view(
        session, actor=principal.actor, user_id=principal.id, page="accounts", name=name, query=query
    )
    return RedirectResponse(f"/accounts?{query}", status_code=303)


@router.post("/accounts/views/{view_id}/delete")
def delete_view(
    view_id: Id, principal: Principal = Depends(current_principal), session: Session = DbSession
) -> RedirectResponse:
    auth_service.delete_saved_view(session, actor=principal.actor, user_id=principal.id, view_id=view_id)
    return RedirectResponse("/accounts", status_code=303)


@router.get("/accounts/{account_id}", response_class=HTMLResponse)
def customer_360(request: Request, account_id: int, session: Session = DbSession) -> Response:
    view = service.customer_360(session, account_id, today=today())
    lang = language_of(request)
    mrr_chart = {
        "kind": "line",
        "format": "yen",
        "categories": [i18n.format_month(p.month, lang) for p in view.mrr_history],
        "series": [
            {
                "name": i18n.translate(lang, "metric.mrr"),
                "data": [p.mrr_minor for p in view.mrr_history],
                "color": "#1c7ed6",
            }
        ],
    }
    health_charts = {
        card["score"].scorecard: {
            "kind": "line",
            "categories": [i18n.format_date(h["as_of"], lang) for h in card["history"]],
            "series": [
                {"name": card["score"].scorecard, "data": [h["score"] for h in card["history"]], "color": "#2b8a3e"}
            ],
        }
        for card in view.extras.get("health", [])
    }
    usage = view.extras.get("usage")
    usage_chart = None
    if usage:
        usage_chart = {
            "kind": "bar",
            "categories": ["DAU", "WAU", "MAU", i18n.translate(lang, "usage.seats")],
            "series": [
                {
                    "name": i18n.translate(lang, "usage.users"),
                    "data": [
                        usage.get("dau") or 0,
                        usage.get("wau") or 0,
                        usage.get("mau") or 0,
                        usage.get("seats") or 0,
                    ],
                    "color": "#1c7ed6",
                }
            ],
        }
    return render(
        request,
        "accounts/customer_360.html",
        {
            "usage_chart": usage_chart,
            "v": view,
            "mrr_chart": mrr_chart,
            "health_charts": health_charts,
            "team": service.team_members(session),
            "today": today(),
        },
    )


@router.post("/accounts/{account_id}/activities")
def log_activity(
    account_id: Id,
    kind: str = Form("note", pattern="^(meeting|call|email|note|qbr)$"),
    subject: str = Form(..., min_length=1, max_length=500),
    body: str = Form("", max_length=20_000),
    principal: Principal = Depends(current_principal),
    session: Session = DbSession,
) -> RedirectResponse:
    data = ActivityCreate.model_validate({"kind": kind, "subject": subject, "body": body or None})
    service.log_activity(
        session, actor=principal.actor, account_id=account_id, data=data, author_id=principal.team_member_id
    )
    return RedirectResponse(f"/accounts/{account_id}#timeline", status_code=303)


@router.post("/accounts/{account_id}/tasks")
def create_task(
    account_id: Id,
    title: str = Form(..., min_length=1, max_length=500),
    due_on: dt.date | None = Form(None),
    priority: str = Form("normal", pattern="^(low|normal|high|urgent)$"),
    owner_id: int = Form(0, ge=0),
    reason: str = Form("", max_length=5000),
    principal: Principal = Depends(current_principal),
    session: Session = DbSession,
) -> RedirectResponse:
    from kizuna.tasks import service as tasks_service

    service.get_account(session, account_id)
    tasks_service.create_task(
        session,
        actor=principal.actor,
        title=title,
        account_id=account_id,
        owner_id=owner_id or principal.team_member_id,
        reason=reason or None,
        priority=priority,
        due_on=due_on,
        source="web",
    )
    return RedirectResponse(f"/accounts/{account_id}#tasks", status_code=303)


@router.post("/accounts/{account_id}/overrides")
def record_override(
    account_id: Id,
    scorecard: str = Form(..., min_length=1, max_length=64),
    band: str = Form(..., pattern="^(red|yellow|green)$"),
    reason: str = Form(..., min_length=1, max_length=5000),
    expires_on: dt.date = Form(...),
    principal: Principal = Depends(current_principal),
    session: Session = DbSession,
) -> RedirectResponse:
    service.record_health_override(
        session,
        actor=principal.actor,
        account_id=account_id,
        scorecard=scorecard,
        band=band,
        reason=reason,
        expires_on=expires_on,
    )
    return RedirectResponse(f"/accounts/{account_id}#health", status_code=303)


@router.get("/me", response_class=HTMLResponse)
def my_cockpit(
    request: Request,
    owner_id: int | None = Query(None, ge=0, le=2**31),
    principal: Principal = Depends(current_principal),
    session: Session = DbSession,
) -> Response:
    member = owner_id or principal.team_member_id
    cockpit = service.my_cockpit(session, team_member_id=member, today=today())
    return render(request, "accounts/cockpit.html", {"c": cockpit, "team": service.team_members(session)})
