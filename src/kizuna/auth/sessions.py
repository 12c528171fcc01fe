"""Browser sessions kept on the server, and login throttling.

* A login starts a :class:`UserSession`: a fresh random secret in the cookie (rotated at every login, never reused),
  only its SHA-256 stored, with its own CSRF token. It ends at logout (revoked), after :data:`SESSION_DAYS`, or when
  the user's password changes or the user is deactivated (``session_version`` moves on). A copied cookie is worth
  nothing after logout.
* Failed logins are counted per account (the e-mail typed) and per address: :data:`ACCOUNT_FAILURES` failures within
  :data:`WINDOW` lock the account for :data:`WINDOW` after the last of them; :data:`ADDRESS_FAILURES` from one
  address throttle that address likewise. Either answers :class:`TooManyAttempts` with the seconds to wait (the
  page says so; ``Retry-After``). A success clears the account's count. Failures and lockouts are in the audit log.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from kizuna.audit.service import record_audit
from kizuna.auth import service
from kizuna.auth.models import LoginAttempt, User, UserSession
from kizuna.auth.service import Principal
from kizuna.db import utcnow
from kizuna.errors import NotAuthenticated, TooManyAttempts

SESSION_DAYS = 14
WINDOW = dt.timedelta(minutes=15)
ACCOUNT_FAILURES = 5
ADDRESS_FAILURES = 30
#: login attempts older than this are deleted when new ones are recorded
KEEP_ATTEMPTS = dt.timedelta(days=30)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def start(
    session: Session, user: User, *, address: str | None, user_agent: str | None, now: dt.datetime | None = None
) -> str:
    """Begin a session for ``user`` (just authenticated); returns the secret for the cookie."""
    now = now or utcnow()
    secret = secrets.token_urlsafe(32)
    session.add(
        UserSession(
            token_hash=_hash(secret),
            user_id=user.id,
            user_version=user.session_version,
            csrf_token=secrets.token_urlsafe(24),
            address=(address or "")[:64] or None,
            user_agent=(user_agent or "")[:300] or None,
            created_at=now,
            expires_at=now + dt.timedelta(days=SESSION_DAYS),
        )
    )
    session.flush()
    return secret


def principal_of(session: Session, secret: str, *, now: dt.datetime | None = None) -> tuple[Principal, str]:
    """``(principal, csrf token)`` of a live session; :class:`NotAuthenticated` for any other secret."""
    now = now or utcnow()
    row = session.execute(
        select(UserSession, User)
        .join(User, User.id == UserSession.user_id)
        .where(UserSession.token_hash == _hash(secret))
    ).first()
    if row is None:
        raise NotAuthenticated("log in first")
    live, user = row
    if live.revoked_at is not None or live.expires_at <= now or not user.active:
        raise NotAuthenticated("session ended; log in again")
    if user.session_version != live.user_version:
        raise NotAuthenticated("your password or account changed; log in again")
    return service.user_principal(user), live.csrf_token


def end(session: Session, secret: str, *, now: dt.datetime | None = None) -> None:
    """Revoke the session of ``secret`` (logout); unknown or ended secrets are ignored."""
    live = session.scalar(select(UserSession).where(UserSession.token_hash == _hash(secret)))
    if live is not None and live.revoked_at is None:
        live.revoked_at = now or utcnow()
        session.flush()


def check_allowed(session: Session, *, email: str, address: str, now: dt.datetime | None = None) -> None:
    """Refuse a login try while the account or the address is locked (:class:`TooManyAttempts`)."""
    now = now or utcnow()
    email = email.strip().lower()
    for column, value, limit in (
        (LoginAttempt.email, email, ACCOUNT_FAILURES),
        (LoginAttempt.address, address, ADDRESS_FAILURES),
    ):
        last_success = session.scalar(
            select(func.max(LoginAttempt.at)).where(column == value, LoginAttempt.succeeded.is_(True))
        )
        since = max(now - WINDOW, last_success) if last_success is not None else now - WINDOW
        failures = session.scalars(
            select(LoginAttempt.at)
            .where(column == value, LoginAttempt.succeeded.is_(False), LoginAttempt.at > since)
            .order_by(LoginAttempt.at.desc())
            .limit(limit)
        ).all()
        if len(failures) >= limit:
            wait = int((failures[0] + WINDOW - now).total_seconds()) + 1
            raise TooManyAttempts(
                f"too many failed logins; try again in {max(1, wait // 60 + (wait % 60 > 0))} minutes",
                retry_after=max(1, wait),
            )


def record(session: Session, *, email: str, address: str, succeeded: bool, now: dt.datetime | None = None) -> None:
    """Count one login try; a failure is audited, and the one that locks the account too."""
    now = now or utcnow()
    email = email.strip().lower()[:320]
    session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - KEEP_ATTEMPTS))
    session.add(LoginAttempt(email=email, address=address[:64], at=now, succeeded=succeeded))
    session.flush()
    if succeeded:
        return
    user_id = session.scalar(select(User.id).where(User.email == email))
    actor = f"address:{address}"
    record_audit(session, actor=actor, action="login_failed", entity="user", entity_id=user_id, after={"email": email})
    recent = session.scalar(
        select(func.count()).where(
            LoginAttempt.email == email, LoginAttempt.succeeded.is_(False), LoginAttempt.at > now - WINDOW
        )
    )
    if recent == ACCOUNT_FAILURES:
        record_audit(session, actor=actor, action="lockout", entity="user", entity_id=user_id, after={"email": email})
