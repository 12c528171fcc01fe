"""The authentication dependency every route uses, session cookies and CSRF.

* Browsers log in and get a session cookie holding a random secret; the session lives on the server
  (:mod:`kizuna.auth.sessions`: revoked at logout, ended by a password change or deactivation) with its CSRF token.
* Programs send an API key: ``Authorization: Bearer <key>``, or HTTP basic auth with the key as user name (Segment's
  write-key convention).
* ``authorized`` checks the permission a request needs from its method: GET/HEAD read, everything else write (viewers
  and read-scoped keys get 403). Forms posted with a session cookie must carry the CSRF token (form field
  ``csrf_token`` or header ``X-CSRF-Token``).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets

from fastapi import Depends, Request, Response
from sqlalchemy.orm import Session

from kizuna.auth import service, sessions
from kizuna.auth.service import Principal
from kizuna.errors import NotAuthenticated, PermissionDenied
from kizuna.platform.web.deps import DbSession

SESSION_COOKIE = "kizuna_session"
LOGIN_CSRF_COOKIE = "kizuna_login_csrf"
LANGUAGE_COOKIE = "kizuna_lang"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def same_site(target: str | None, default: str = "/") -> str:
    """``target`` if it is a path on this site, else ``default``: a redirect after a form or a login never leaves the
    site (``//host`` and ``/\\host`` are other hosts to a browser)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def issue_session_cookie(request: Request, response: Response, secret: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=sessions.SESSION_DAYS * 24 * 3600,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE)


def _api_key_secret(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value:
        return value.strip()
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value.strip()).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise NotAuthenticated("malformed basic authorization header") from None
        user, _, password = decoded.partition(":")
        return user or password or None
    return None


def current_principal(request: Request, session: Session = DbSession) -> Principal:
    """Who is calling; raises :class:`NotAuthenticated` (401, or a redirect to the login page for browsers)."""
    cached = getattr(request.state, "principal", None)
    if isinstance(cached, Principal):
        return cached
    secret = _api_key_secret(request)
    if secret is not None:
        principal = service.api_key_principal(session, secret=secret)
        request.state.csrf_token = ""
    else:
        secret = request.cookies.get(SESSION_COOKIE)
        if not secret:
            raise NotAuthenticated("log in first")
        principal, request.state.csrf_token = sessions.principal_of(session, secret)
    request.state.principal = principal
    return principal


async def _check_csrf(request: Request) -> None:
    expected = getattr(request.state, "csrf_token", "")
    sent = request.headers.get("x-csrf-token")
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get("csrf_token")
        sent = value if isinstance(value, str) else None
    if not expected or not sent or not hmac.compare_digest(expected, sent):
        raise PermissionDenied("missing or wrong CSRF token; reload the page and try again")


async def authorized(request: Request, principal: Principal = Depends(current_principal)) -> Principal:
    """The router-level dependency of every authenticated route: read for GET/HEAD, write otherwise, CSRF on forms."""
    needed = "read" if request.method in SAFE_METHODS else "write"
    if not principal.can(needed):
        raise PermissionDenied(f"{principal.role} may not {needed} here", permission=needed)
    if needed == "write" and principal.kind == "user":
        await _check_csrf(request)
    return principal


async def admin_only(principal: Principal = Depends(authorized)) -> Principal:
    if not principal.can("admin"):
        raise PermissionDenied("administrators only", permission="admin")
    return principal


def ingest_principal(request: Request, session: Session = DbSession) -> Principal:
    """The tracking API's authentication: an API key with the ingest (or admin) scope."""
    secret = _api_key_secret(request)
    if secret is None:
        raise NotAuthenticated("send the write key (an API key with the ingest scope) as basic auth user name")
    principal = service.api_key_principal(session, secret=secret)
    if not principal.can("ingest"):
        raise PermissionDenied("this API key lacks the ingest scope", permission="ingest")
    request.state.principal = principal
    return principal


def login_csrf_token(request: Request) -> str:
    return request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
