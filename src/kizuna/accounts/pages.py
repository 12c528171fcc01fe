"""HTML pages of the accounts domain: the accounts list, the customer 360 and its forms, my cockpit."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from kizuna.accounts import service
from kizuna.accounts.schemas import AccountQuery
from kizuna.auth import service as auth_service
from kizuna.auth.deps import current_principal
from kizuna.auth.public import _safe_next
from kizuna.auth.service import Principal
from kizuna.platform.clock import today
from kizuna.platform.web import i18n
from kizuna.platform.web.deps import DbSession, Id
from kizuna.platform.web.exports import export_response
from kizuna.platform.web.templating import language_of, render

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
