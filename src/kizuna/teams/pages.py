"""``/teams/act``: where a Teams card's buttons lead. GET shows what the signed link will do (a link only reads, so
Teams' link previews act on nothing); the signed-in user's POST does it, once per link, audited as them."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from kizuna.accounts.models import Account
from kizuna.auth.deps import current_principal
from kizuna.auth.service import Principal
from kizuna.db import utcnow
from kizuna.platform.web.deps import DbSession, settings_of
from kizuna.platform.web.templating import render
from kizuna.teams import service

router = APIRouter(include_in_schema=False)


def _page(request: Request, session: Session, token: str, outcome: str | None = None) -> Response:
    link = service.verify_link(service.link_secret(settings_of(request)), token, now=utcnow())
    task = service.link_task(session, link)
    account = session.get(Account, task.account_id) if task.account_id else None
    return render(
        request,
        "teams/act.html",
        {"link": link, "task": task, "account": account, "token": token, "outcome": outcome},
    )


@router.get("/teams/act", response_class=HTMLResponse)
def confirm(request: Request, token: str = Query("", max_length=300), session: Session = DbSession) -> Response:
    if not token:  # opened without a card's link: say where the links come from
        return render(request, "teams/act.html", {"link": None, "task": None, "account": None, "outcome": None})
    return _page(request, session, token)


@router.post("/teams/act", response_class=HTMLResponse)
def act(
    request: Request,
    token: str = Form(..., max_length=300),
    principal: Principal = Depends(current_principal),
    session: Session = DbSession,
) -> Response:
    link = service.verify_link(service.link_secret(settings_of(request)), token, now=utcnow())
    outcome = service.act_on_link(session, link, actor=f"{principal.actor} (Teams link)", today=utcnow().date())
    return _page(request, session, token, outcome)
