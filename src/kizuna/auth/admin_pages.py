"""Settings pages for administrators: users and API keys (scorecards and tiers join as their domains land)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from kizuna.auth import service
from kizuna.auth.deps import current_principal
from kizuna.auth.models import ApiScope, Role
from kizuna.auth.service import Principal
from kizuna.web.deps import Id, db_session
from kizuna.web.templating import render

router = APIRouter(prefix="/settings", include_in_schema=False)


@router.get("", response_class=HTMLResponse)
def settings_page(request: Request, session: Session = Depends(db_session)) -> Response:
    return render(
        request,
        "auth/settings.html",
        {
            "users": service.list_users(session),
            "api_keys": service.list_api_keys(session),
            "roles": list(Role),
            "scopes": list(ApiScope),
            "new_secret": None,
        },
    )


@router.post("/users")
def create_user(
    email: str = Form(...),
    name: str = Form(""),
    password: str = Form(...),
    role: str = Form("viewer"),
    language: str = Form("ja"),
    principal: Principal = Depends(current_principal),
    session: Session = Depends(db_session),
) -> RedirectResponse:
    service.create_user(
        session, actor=principal.actor, email=email, name=name, password=password, role=role, language=language
    )
    return RedirectResponse("/settings", status_code=303)


@router.post("/users/{user_id}")
def update_user(
    user_id: Id,
    role: str = Form(...),
    active: bool = Form(False),
    principal: Principal = Depends(current_principal),
    session: Session = Depends(db_session),
) -> RedirectResponse:
    service.update_user(session, actor=principal.actor, user_id=user_id, role=role, active=active)
    return RedirectResponse("/settings", status_code=303)


@router.post("/api-keys", response_class=HTMLResponse)
def create_api_key(
    request: Request,
    name: str = Form(...),
    scopes: list[str] = Form(...),
    principal: Principal = Depends(current_principal),
    session: Session = Depends(db_session),
) -> Response:
    key, secret = service.create_api_key(session, actor=principal.actor, name=name, scopes=scopes)
    return render(
        request,
        "auth/settings.html",
        {
            "users": service.list_users(session),
            "api_keys": service.list_api_keys(session),
            "roles": list(Role),
            "scopes": list(ApiScope),
            "new_secret": secret,
            "new_key": key,
        },
    )


@router.post("/api-keys/{key_id}/revoke")
def revoke_api_key(
    key_id: Id, principal: Principal = Depends(current_principal), session: Session = Depends(db_session)
) -> RedirectResponse:
    service.revoke_api_key(session, actor=principal.actor, key_id=key_id)
    return RedirectResponse("/settings", status_code=303)
