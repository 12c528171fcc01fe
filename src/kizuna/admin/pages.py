"""Settings pages for administrators: users and API keys, the scorecards in force and the touch-tier thresholds."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from kizuna.accounts import service as accounts_service
from kizuna.accounts.models import TeamMember
from kizuna.auth import service
from kizuna.auth.deps import current_principal
from kizuna.auth.models import ApiScope, Role
from kizuna.auth.service import Principal
from kizuna.health import service as health_service
from kizuna.platform.web.deps import DbSession, Id, settings_of
from kizuna.platform.web.templating import render
from kizuna.segments import service as segments_service

router = APIRouter(prefix="/settings", include_in_schema=False)


def _people(session: Session) -> dict[str, object]:
    """Users and the team members they can be linked to (picked by e-mail, else id, from one list on the page)."""
    members = session.execute(
        select(TeamMember.id, TeamMember.name, TeamMember.email)
        .where(TeamMember.active.is_(True))
        .order_by(TeamMember.name)
    ).all()
    return {
        "users": service.list_users(session),
        "members": members,
        "member_by_id": {int(i): (name, email or str(i)) for i, name, email in members},
    }


def _team_member_id(session: Session, picked: str) -> int | None:
    """The team member an admin typed or picked (e-mail or id); blank unlinks."""
    return accounts_service.find_team_member(session, picked).id if picked.strip() else None


def _scoring_settings(request: Request, session: Session) -> dict[str, object]:
    """Scorecards (health domain) and touch-tier thresholds (segments domain)."""
    return {
        "scorecards": list(health_service.scorecards(settings_of(request)).values()),
        "tier_policy": segments_service.tier_policy(session),
        "scorecards_dir": settings_of(request).data_dir / "scorecards",
    }


@router.get("", response_class=HTMLResponse)
def settings_page(request: Request, session: Session = DbSession) -> Response:
    return render(
        request,
        "auth/settings.html",
        {
            **_people(session),
            "api_keys": service.list_api_keys(session),
            "roles": list(Role),
            "scopes": list(ApiScope),
            "new_secret": None,
            **_scoring_settings(request, session),
        },
    )


@router.post("/tiers")
def set_tier_policy(
    high_touch_min_acv: int = Form(..., ge=0, le=10**12),
    low_touch_min_acv: int = Form(..., ge=0, le=10**12),
    principal: Principal = Depends(current_principal),
    session: Session = DbSession,
) -> RedirectResponse:
    from kizuna.segments import service as segments_service

    segments_service.set_tier_policy(
        session,
        actor=principal.actor,
        high_touch_min_acv_minor=high_touch_min_acv,
        low_touch_min_acv_minor=low_touch_min_acv,
    )
    return RedirectResponse("/settings#tiers", status_code=303)


@router.post("/users")
def create_user(
    email: str = Form(...),
    name: str = Form(""),
    password: str = Form(...),
    role: str = Form("viewer"),
    language: str = Form("ja"),
    team_member: str = Form("", max_length=320),
    principal: Principal = Depends(current_principal),
    session: Session = DbSession,
) -> RedirectResponse:
    service.create_user(
        session,
        actor=principal.actor,
        email=email,
        name=name,
        password=password,
        role=role,
        language=language,
        team_member_id=_team_member_id(session, team_member),
    )
    return RedirectResponse("/settings#users", status_code=303)


@router.post("/users/{user_id}")
def update_user(
    user_id: Id,
    role: str = Form(...),
    active: bool = Form(False),
    team_member: str = Form("", max_length=320),
    link_team_member: bool = Form(False),
    principal: Principal = Depends(current_principal),
    session: Session = DbSession,
) -> RedirectResponse:
    """Role, active, and (when the form has the team member field, ``link_team_member``) the team member the user
    is linked to: blank unlinks (a browser sends an empty field as nothing at all, hence the marker)."""
    service.update_user(session, actor=principal.actor, user_id=user_id, role=role, active=active)
    if link_team_member:
        member_id = _team_member_id(session, team_member)
        service.link_team_member(session, actor=principal.actor, user_id=user_id, team_member_id=member_id)
    return RedirectResponse("/settings#users", status_code=303)


@router.post("/api-keys", response_class=HTMLResponse)
def create_api_key(
    request: Request,
    name: str = Form(...),
    scopes: list[str] = Form(...),
    principal: Principal = Depends(current_principal),
    session: Session = DbSession,
) -> Response:
    key, secret = service.create_api_key(session, actor=principal.actor, name=name, scopes=scopes)
    return render(
        request,
        "auth/settings.html",
        {
            **_people(session),
            "api_keys": service.list_api_keys(session),
            "roles": list(Role),
            "scopes": list(ApiScope),
            "new_secret": secret,
            "new_key": key,
            **_scoring_settings(request, session),
        },
    )


@router.post("/api-keys/{key_id}/revoke")
def revoke_api_key(
    key_id: Id, principal: Principal = Depends(current_principal), session: Session = DbSession
) -> RedirectResponse:
    service.revoke_api_key(session, actor=principal.actor, key_id=key_id)
    return RedirectResponse("/settings", status_code=303)
