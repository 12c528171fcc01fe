"""Users, passwords, API keys and saved views on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kizuna.audit.models import AuditEntry
from kizuna.auth import service, sessions
from kizuna.auth.models import ApiKey, User
from kizuna.errors import Conflict, InvalidInput, NotAuthenticated


def test_password_is_hashed_with_argon2_and_checked(session: Session) -> None:
    user = service.create_user(
        session, actor="t", email="Ito@Example.JP", name="伊藤", password="s3cret-pass", role="csm"
    )
    assert user.email == "ito@example.jp"
    assert user.password_hash.startswith("$argon2id$") and "s3cret-pass" not in user.password_hash
    assert service.authenticate(session, email="ito@example.jp", password="s3cret-pass").id == user.id
    with pytest.raises(NotAuthenticated):
        service.authenticate(session, email="ito@example.jp", password="wrong-pass")
    with pytest.raises(NotAuthenticated):
        service.authenticate(session, email="nobody@example.jp", password="s3cret-pass")
    audit = session.scalars(select(AuditEntry).where(AuditEntry.entity == "user")).all()
    assert audit and all("password" not in str(a.after) for a in audit)


def test_user_validation(session: Session) -> None:
    with pytest.raises(InvalidInput):
        service.create_user(session, actor="t", email="x@example.jp", name="x", password="short", role="csm")
    with pytest.raises(InvalidInput):
        service.create_user(session, actor="t", email="x@example.jp", name="x", password="long enough", role="boss")
    service.create_user(session, actor="t", email="x@example.jp", name="x", password="long enough")
    with pytest.raises(Conflict):
        service.create_user(session, actor="t", email="X@example.jp", name="x", password="long enough")


def test_deactivation_and_password_change_end_sessions(session: Session) -> None:
    user = service.create_user(session, actor="t", email="s@example.jp", name="s", password="long enough")
    secret = sessions.start(session, user, address="127.0.0.1", user_agent="pytest")
    assert sessions.principal_of(session, secret)[0].role == "viewer"
    service.set_password(session, actor="t", user_id=user.id, password="another one")
    with pytest.raises(NotAuthenticated, match="password"):
        sessions.principal_of(session, secret)
    again = sessions.start(session, user, address="127.0.0.1", user_agent="pytest")
    assert again != secret and sessions.principal_of(session, again)[0].id == user.id
    service.update_user(session, actor="t", user_id=user.id, active=False)
    with pytest.raises(NotAuthenticated):
        sessions.principal_of(session, again)
    with pytest.raises(NotAuthenticated):
        service.authenticate(session, email="s@example.jp", password="another one")


def test_api_keys_are_stored_hashed_scoped_and_revocable(session: Session) -> None:
    key, secret = service.create_api_key(session, actor="t", name="Segment", scopes=["ingest"])
    stored = session.get(ApiKey, key.id)
    assert stored is not None and secret not in (stored.key_hash, stored.prefix) and secret.startswith(stored.prefix)
    principal = service.api_key_principal(session, secret=secret)
    assert principal.can("ingest") and not principal.can("read") and not principal.can("write")
    service.revoke_api_key(session, actor="t", key_id=key.id)
    with pytest.raises(NotAuthenticated):
        service.api_key_principal(session, secret=secret)
    with pytest.raises(InvalidInput):
        service.create_api_key(session, actor="t", name="bad", scopes=["root"])
    _, admin = service.create_api_key(session, actor="t", name="ops", scopes=["admin"])
    assert service.api_key_principal(session, secret=admin).can("write")


@pytest.mark.parametrize(
    ("role", "read", "write", "admin"),
    [
        ("admin", True, True, True),
        ("manager", True, True, False),
        ("csm", True, True, False),
        ("viewer", True, False, False),
    ],
)
def test_roles(role: str, read: bool, write: bool, admin: bool) -> None:
    p = service.Principal(kind="user", id=1, name="x", role=role, scopes=frozenset())
    assert (p.can("read"), p.can("write"), p.can("admin"), p.can("ingest")) == (read, write, admin, False)


def test_saved_views_belong_to_their_user(session: Session) -> None:
    a = service.create_user(session, actor="t", email="a@example.jp", name="a", password="long enough")
    b = service.create_user(session, actor="t", email="b@example.jp", name="b", password="long enough")
    view = service.save_view(
        session, actor="t", user_id=a.id, page="accounts", name="リスク", query="lifecycle_stage=at_risk"
    )
    service.save_view(session, actor="t", user_id=a.id, page="accounts", name="リスク", query="sort=-mrr")
    assert [v.query for v in service.list_saved_views(session, user_id=a.id, page="accounts")] == ["sort=-mrr"]
    assert service.list_saved_views(session, user_id=b.id, page="accounts") == []
    with pytest.raises(Exception, match="no saved view"):
        service.delete_saved_view(session, actor="t", user_id=b.id, view_id=view.id)
    assert session.scalar(select(User.id).where(User.id == a.id)) == a.id
