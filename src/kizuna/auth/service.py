"""Users, passwords (argon2), API keys (SHA-256 of a random secret, scoped, revocable) and saved views.

Services take ``session`` first, flush but never commit, and write an audit row for every change.
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
from collections.abc import Sequence

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from kizuna.audit.service import record_audit
from kizuna.auth.models import ApiKey, ApiScope, Role, SavedView, User
from kizuna.db import utcnow
from kizuna.errors import Conflict, InvalidInput, NotAuthenticated, NotFound

_hasher = PasswordHasher()
API_KEY_PREFIX = "kz_"
MIN_PASSWORD_LENGTH = 8
# Roles that may write (everything except viewer); admin alone may manage users, keys and settings.
WRITE_ROLES = frozenset({Role.admin, Role.manager, Role.csm})


@dataclasses.dataclass(frozen=True)
class Principal:
    """Who is calling: a logged-in user or an API key, with what they may do."""

    kind: str  # "user" or "api_key"
    id: int
    name: str
    role: str  # for API keys: the strongest scope mapped to a role (admin -> admin, read -> viewer)
    scopes: frozenset[str]
    team_member_id: int | None = None
    language: str = "ja"

    @property
    def actor(self) -> str:
        """How the audit log names this caller."""
        return f"user:{self.id}:{self.name}" if self.kind == "user" else f"api_key:{self.id}:{self.name}"

    def can(self, permission: str) -> bool:
        """``permission`` is one of read, write, admin, ingest."""
        if self.kind == "api_key":
            if ApiScope.admin in self.scopes:
                return True
            if permission == "ingest":
                return ApiScope.ingest in self.scopes
            if permission == "read":
                return ApiScope.read in self.scopes or ApiScope.write in self.scopes
            if permission == "write":
                return ApiScope.write in self.scopes
            return False
        if permission == "read":
            return True
        if permission == "write":
            return self.role in WRITE_ROLES
        if permission == "admin":
            return self.role == Role.admin
        return False


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"password must have at least {MIN_PASSWORD_LENGTH} characters", field="password")


def _user_state(user: User) -> dict[str, object]:
    return {
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "team_member_id": user.team_member_id,
        "language": user.language,
        "active": user.active,
    }


def create_user(
    session: Session,
    *,
    actor: str,
    email: str,
    name: str,
    password: str,
    role: str = Role.viewer,
    team_member_id: int | None = None,
    language: str = "ja",
) -> User:
    """Create a user; the e-mail is the login name (case-insensitive)."""
    email = email.strip().lower()
    if "@" not in email:
        raise InvalidInput(f"not an e-mail address: {email!r}", field="email", value=email)
    if role not in Role.__members__:
        raise InvalidInput(f"unknown role {role!r}; one of {', '.join(Role)}", field="role", value=role)
    _check_password(password)
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict(f"a user with e-mail {email} exists", field="email", value=email)
    user = User(
        email=email,
        name=name.strip() or email,
        role=role,
        password_hash=hash_password(password),
        team_member_id=team_member_id,
        language=language if language in ("ja", "en") else "ja",
    )
    session.add(user)
    session.flush()
    record_audit(session, actor=actor, action="create", entity="user", entity_id=user.id, after=_user_state(user))
    return user


def update_user(
    session: Session,
    *,
    actor: str,
    user_id: int,
    role: str | None = None,
    active: bool | None = None,
    language: str | None = None,
    team_member_id: int | None = None,
) -> User:
    user = get_user(session, user_id)
    before = _user_state(user)
    if role is not None:
        if role not in Role.__members__:
            raise InvalidInput(f"unknown role {role!r}", field="role", value=role)
        user.role = role
    if active is not None:
        user.active = active
        if not active:
            user.session_version += 1
    if language is not None:
        if language not in ("ja", "en"):
            raise InvalidInput(f"unknown language {language!r}", field="language", value=language)
        user.language = language
    if team_member_id is not None:
        user.team_member_id = team_member_id
    session.flush()
    record_audit(
        session, actor=actor, action="update", entity="user", entity_id=user.id, before=before, after=_user_state(user)
    )
    return user


def link_team_member(session: Session, *, actor: str, user_id: int, team_member_id: int | None) -> User:
    """Link a user to a team member (their accounts, their cockpit), or unlink with ``None``. The caller checks that
    the team member exists (auth sits below the accounts domain)."""
    user = get_user(session, user_id)
    if user.team_member_id == team_member_id:
        return user
    before = _user_state(user)
    user.team_member_id = team_member_id
    session.flush()
    record_audit(
        session, actor=actor, action="link", entity="user", entity_id=user.id, before=before, after=_user_state(user)
    )
    return user


#: not an argon2 hash: verifying it always fails, so the login exists but nobody can use it until a password is set
UNUSABLE_PASSWORD = "!"


def create_linked_logins(
    session: Session, *, actor: str, members: Sequence[tuple[int, str, str]], role: str = Role.csm
) -> int:
    """A login per team member ``(id, name, e-mail)`` that has none yet, linked to them and with no usable password
    (an administrator sets one, or ``kizuna serve --demo-login``); returns how many were created. Hashing a password
    per login would cost 600 argon2 hashes on the largest demo team."""
    linked = set(session.scalars(select(User.team_member_id).where(User.team_member_id.is_not(None))))
    by_email = {u.email: u for u in session.scalars(select(User))}
    created = 0
    for member_id, name, email in members:
        email = email.strip().lower()
        if member_id in linked or "@" not in email:
            continue
        existing = by_email.get(email)
        if existing is not None:
            # a rebuilt demo keeps its users but gets new team members: link the login back to its CSM
            if existing.team_member_id is None:
                link_team_member(session, actor=actor, user_id=existing.id, team_member_id=member_id)
            continue
        user = User(email=email, name=name, role=role, password_hash=UNUSABLE_PASSWORD, team_member_id=member_id)
        session.add(user)
        session.flush()
        record_audit(session, actor=actor, action="create", entity="user", entity_id=user.id, after=_user_state(user))
        by_email[email] = user
        created += 1
    return created


def set_password(session: Session, *, actor: str, user_id: int, password: str) -> User:
    _check_password(password)
    user = get_user(session, user_id)
    user.password_hash = hash_password(password)
    user.session_version += 1
    session.flush()
    record_audit(session, actor=actor, action="set_password", entity="user", entity_id=user.id)
    return user


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}", entity="user", id=user_id)
    return user


def list_users(session: Session) -> Sequence[User]:
    return session.scalars(select(User).order_by(User.id)).all()


def authenticate(session: Session, *, email: str, password: str) -> User:
    """The active user with this e-mail and password; raises :class:`NotAuthenticated` otherwise."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or not user.active:
        _hasher.hash(password)  # spend the same time as a real check: no user enumeration by timing
        raise NotAuthenticated("wrong e-mail or password")
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        raise NotAuthenticated("wrong e-mail or password") from None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    session.flush()
    return user


def user_principal(user: User) -> Principal:
    return Principal(
        kind="user",
        id=user.id,
        name=user.name,
        role=user.role,
        scopes=frozenset(),
        team_member_id=user.team_member_id,
        language=user.language,
    )


def session_principal(session: Session, *, user_id: int, session_version: int) -> Principal:
    """The principal of a session cookie, if the user is still active and the session not invalidated."""
    user = session.get(User, user_id)
    if user is None or not user.active or user.session_version != session_version:
        raise NotAuthenticated("session expired; log in again")
    return user_principal(user)


def _key_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_key(session: Session, *, actor: str, name: str, scopes: Sequence[str]) -> tuple[ApiKey, str]:
    """Create an API key; returns the row and the secret, which is shown once and never stored."""
    wanted = sorted({s.strip() for s in scopes if s.strip()})
    if not wanted:
        raise InvalidInput("an API key needs at least one scope (ingest, read, admin)", field="scopes")
    for scope in wanted:
        if scope not in ApiScope.__members__:
            raise InvalidInput(f"unknown scope {scope!r}; one of ingest, read, admin", field="scopes", value=scope)
    secret = API_KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        name=name.strip() or "API key",
        prefix=secret[:10],
        key_hash=_key_hash(secret),
        scopes=",".join(wanted),
        created_by=actor,
    )
    session.add(key)
    session.flush()
    record_audit(
        session,
        actor=actor,
        action="create",
        entity="api_key",
        entity_id=key.id,
        after={"name": key.name, "prefix": key.prefix, "scopes": key.scopes},
    )
    return key, secret


def revoke_api_key(session: Session, *, actor: str, key_id: int) -> ApiKey:
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"no API key {key_id}", entity="api_key", id=key_id)
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.flush()
        record_audit(
            session,
            actor=actor,
            action="revoke",
            entity="api_key",
            entity_id=key.id,
            before={"revoked": False},
            after={"revoked": True},
        )
    return key


def list_api_keys(session: Session) -> Sequence[ApiKey]:
    return session.scalars(select(ApiKey).order_by(ApiKey.id)).all()


def api_key_principal(session: Session, *, secret: str) -> Principal:
    """The principal of an API key secret; raises :class:`NotAuthenticated` for unknown or revoked keys."""
    key = session.scalar(select(ApiKey).where(ApiKey.key_hash == _key_hash(secret)))
    if key is None or key.revoked_at is not None:
        raise NotAuthenticated("unknown or revoked API key")
    scopes = frozenset(key.scopes.split(","))
    role = Role.admin if ApiScope.admin in scopes else Role.viewer
    return Principal(kind="api_key", id=key.id, name=key.name, role=role, scopes=scopes)


def save_view(session: Session, *, actor: str, user_id: int, page: str, name: str, query: str) -> SavedView:
    """Save (or overwrite) a named view of a list page for one user."""
    name = name.strip()
    if not name:
        raise InvalidInput("a saved view needs a name", field="name")
    view = session.scalar(
        select(SavedView).where(SavedView.user_id == user_id, SavedView.page == page, SavedView.name == name)
    )
    if view is None:
        view = SavedView(user_id=user_id, page=page, name=name, query=query[:2000])
        session.add(view)
    else:
        view.query = query[:2000]
    session.flush()
    record_audit(
        session,
        actor=actor,
        action="save",
        entity="saved_view",
        entity_id=view.id,
        after={"name": name, "query": query},
    )
    return view


def list_saved_views(session: Session, *, user_id: int, page: str) -> Sequence[SavedView]:
    return session.scalars(
        select(SavedView).where(SavedView.user_id == user_id, SavedView.page == page).order_by(SavedView.name)
    ).all()


def delete_saved_view(session: Session, *, actor: str, user_id: int, view_id: int) -> None:
    view = session.get(SavedView, view_id)
    if view is None or view.user_id != user_id:
        raise NotFound(f"no saved view {view_id}", entity="saved_view", id=view_id)
    session.delete(view)
    session.flush()
    record_audit(session, actor=actor, action="delete", entity="saved_view", entity_id=view_id)
