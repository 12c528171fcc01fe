"""Logged-in user's own routes: logout and the language switch."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from kizuna.auth import sessions
from kizuna.auth.deps import LANGUAGE_COOKIE, SESSION_COOKIE, clear_session_cookie
from kizuna.auth.public import _safe_next
from kizuna.errors import InvalidInput
from kizuna.platform.web import i18n
from kizuna.platform.web.deps import DbSession

router = APIRouter(include_in_schema=False)


@router.post("/logout")
def logout(request: Request, session: Session = DbSession) -> RedirectResponse:
    """End the session on the server (a copy of the cookie is worth nothing after this) and forget the cookie."""
    secret = request.cookies.get(SESSION_COOKIE)
    if secret:
        sessions.end(session, secret)
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(response)
    return response


@router.get("/lang/{language}")
def switch_language(language: str, request: Request, next: str = "/") -> RedirectResponse:
    if language not in i18n.LANGUAGES:
        raise InvalidInput(f"unknown language {language!r}; one of ja, en", value=language)
    response = RedirectResponse(_safe_next(next or request.headers.get("referer")), status_code=303)
    response.set_cookie(LANGUAGE_COOKIE, language, max_age=365 * 24 * 3600, samesite="lax")
    return response
