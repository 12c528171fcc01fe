"""The login page: the only HTML page (with the survey response page) open without a session."""

from __future__ import annotations

import hmac
import secrets

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from kizuna.auth import service, sessions
from kizuna.auth.deps import LANGUAGE_COOKIE, LOGIN_CSRF_COOKIE, issue_session_cookie, same_site
from kizuna.auth.models import Role, User
from kizuna.errors import NotAuthenticated, TooManyAttempts
from kizuna.platform.web import i18n
from kizuna.platform.web.deps import DbSession
from kizuna.platform.web.templating import render

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Only same-site paths: never redirect to another host after login."""
    return same_site(target)


def landing_page(user: User, target: str) -> str:
    """Where a login lands: the page asked for, except that a CSM linked to a team member starts the day on their
    cockpit rather than on the portfolio (a manager or an administrator lands on the portfolio)."""
    if target == "/" and user.role == Role.csm and user.team_member_id is not None:
        return "/me"
    return target


def _login_page(
    request: Request, *, next_url: str, error: str | None, status: int = 200, wait_minutes: int = 0
) -> Response:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    request.state.csrf_token = token
    context = {"next": next_url, "error": error, "wait_minutes": wait_minutes}
    response = render(request, "auth/login.html", context, status_code=status)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", max_age=3600)
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/", lang: str | None = None) -> Response:
    if lang in i18n.LANGUAGES:
        request.state.language = lang
    response = _login_page(request, next_url=_safe_next(next), error=None)
    if lang in i18n.LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, lang, max_age=365 * 24 * 3600, samesite="lax")
    return response


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    email: str = Form(...),
    password: str = Form(...),
    csrf_token: str = Form(""),
    next: str = Form("/"),
    session: Session = DbSession,
) -> Response:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, csrf_token):
        return _login_page(request, next_url=_safe_next(next), error="login.error_csrf", status=403)
    address = request.client.host if request.client else "unknown"
    try:
        sessions.check_allowed(session, email=email, address=address)
    except TooManyAttempts as exc:
        minutes = -(-exc.retry_after // 60)
        page = _login_page(
            request, next_url=_safe_next(next), error="login.error_throttled", status=429, wait_minutes=minutes
        )
        page.headers["Retry-After"] = str(exc.retry_after)
        return page
    try:
        user = service.authenticate(session, email=email, password=password)
    except NotAuthenticated:
        sessions.record(session, email=email, address=address, succeeded=False)
        return _login_page(request, next_url=_safe_next(next), error="login.error", status=401)
    sessions.record(session, email=email, address=address, succeeded=True)
    secret = sessions.start(session, user, address=address, user_agent=request.headers.get("user-agent"))
    response = RedirectResponse(landing_page(user, _safe_next(next)), status_code=303)
    issue_session_cookie(request, response, secret)
    if LANGUAGE_COOKIE not in request.cookies:
        response.set_cookie(LANGUAGE_COOKIE, user.language, max_age=365 * 24 * 3600, samesite="lax")
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response
