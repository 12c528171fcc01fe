"""Logging in and out through the real form (argon2, CSRF on the login form, safe redirects)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from kizuna.audit.models import AuditEntry
from kizuna.auth import sessions
from kizuna.auth.deps import LANGUAGE_COOKIE, SESSION_COOKIE
from kizuna.errors import TooManyAttempts
from tests.web.fixtures import PASSWORD, WebWorld, csrf_of, login


def test_login_logout_round_trip(world: WebWorld) -> None:
    client = world.client()
    assert client.get("/accounts").status_code == 303
    login(client, "csm@example.jp", PASSWORD)
    assert client.get("/accounts").status_code == 200
    page = client.get("/accounts")
    out = client.post("/logout", data={"csrf_token": csrf_of(page.text)})
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert client.get("/accounts").status_code == 303


def test_wrong_password_and_missing_csrf(world: WebWorld) -> None:
    client = world.client()
    token = csrf_of(client.get("/login").text)
    wrong = client.post("/login", data={"email": "csm@example.jp", "password": "nope", "csrf_token": token})
    assert wrong.status_code == 401 and "kizuna_session" not in wrong.cookies
    forged = client.post("/login", data={"email": "csm@example.jp", "password": PASSWORD, "csrf_token": "x"})
    assert forged.status_code == 403


def test_login_never_redirects_off_site(world: WebWorld) -> None:
    client = world.client()
    token = csrf_of(client.get("/login").text)
    response = client.post(
        "/login",
        data={"email": "viewer@example.jp", "password": PASSWORD, "csrf_token": token, "next": "//evil.example/"},
    )
    assert response.status_code == 303 and response.headers["location"] == "/"


def test_admin_manages_users_and_keys(world: WebWorld) -> None:
    client = world.client("admin")
    token = csrf_of(client.get("/settings").text)
    made = client.post("/settings/api-keys", data={"name": "Segment", "scopes": ["ingest"], "csrf_token": token})
    assert made.status_code == 200 and 'id="new-api-key"' in made.text
    created = client.post(
        "/settings/users",
        data={"email": "new@example.jp", "name": "新人", "password": "long enough", "role": "csm", "csrf_token": token},
    )
    assert created.status_code == 303
    assert "new@example.jp" in client.get("/settings").text
    assert world.client("manager").get("/settings").status_code == 403


def test_settings_show_scorecards_and_save_tier_thresholds(world: WebWorld) -> None:
    client = world.client("admin")
    page = client.get("/settings")
    assert 'id="scorecards"' in page.text and "overall" in page.text
    response = client.post(
        "/settings/tiers",
        data={"high_touch_min_acv": 3_000_000, "low_touch_min_acv": 600_000, "csrf_token": csrf_of(page.text)},
    )
    assert response.status_code == 303
    assert "¥3,000,000" in client.get("/settings").text


def test_a_cookie_copied_before_logout_is_worth_nothing_after_it(world: WebWorld) -> None:
    client = world.client()
    login(client, "csm@example.jp", PASSWORD)
    copied = client.cookies.get(SESSION_COOKIE)
    assert copied
    page = client.get("/accounts")
    client.post("/logout", data={"csrf_token": csrf_of(page.text)})
    thief = world.client()
    thief.cookies.set(SESSION_COOKIE, copied)
    assert thief.get("/accounts").status_code == 303  # to the login page
    login(client, "csm@example.jp", PASSWORD)
    assert client.cookies.get(SESSION_COOKIE) != copied  # a new session id at every login


def test_guessing_is_throttled_per_account_with_a_clear_message_and_audited(world: WebWorld) -> None:
    client = world.client()
    client.cookies.set(LANGUAGE_COOKIE, "en")
    token = csrf_of(client.get("/login").text)
    for _ in range(sessions.ACCOUNT_FAILURES):
        wrong = client.post("/login", data={"email": "csm@example.jp", "password": "guess", "csrf_token": token})
        assert wrong.status_code == 401
    locked = client.post("/login", data={"email": "csm@example.jp", "password": PASSWORD, "csrf_token": token})
    assert locked.status_code == 429 and "kizuna_session" not in locked.cookies  # the right password too
    assert 0 < int(locked.headers["retry-after"]) <= sessions.WINDOW.total_seconds() + 1
    assert "Too many failed logins" in locked.text and "15 minutes" in locked.text
    other = client.post("/login", data={"email": "viewer@example.jp", "password": PASSWORD, "csrf_token": token})
    assert other.status_code == 303  # another account from the same address is not locked out
    with world.runtime.transaction() as session:
        actions = list(
            session.scalars(select(AuditEntry.action).where(AuditEntry.action.in_(["login_failed", "lockout"])))
        )
    assert actions.count("login_failed") == sessions.ACCOUNT_FAILURES and actions.count("lockout") == 1


def test_the_lock_lifts_after_the_window(world: WebWorld) -> None:
    now = dt.datetime.now(dt.UTC)
    with world.runtime.transaction() as session:
        for minutes in (20, 19, 18, 17, 16):  # five failures, all older than the window
            sessions.record(
                session,
                email="csm@example.jp",
                address="10.0.0.9",
                succeeded=False,
                now=now - dt.timedelta(minutes=minutes),
            )
        sessions.check_allowed(session, email="csm@example.jp", address="10.0.0.9", now=now)
        for _ in range(sessions.ACCOUNT_FAILURES):
            sessions.record(session, email="csm@example.jp", address="10.0.0.9", succeeded=False, now=now)
        with pytest.raises(TooManyAttempts):
            sessions.check_allowed(session, email="CSM@example.jp", address="10.0.0.8", now=now)
        sessions.check_allowed(
            session, email="csm@example.jp", address="10.0.0.9", now=now + sessions.WINDOW + dt.timedelta(seconds=2)
        )


def test_pages_carry_security_headers(world: WebWorld) -> None:
    response = world.client().get("/login")
    policy = response.headers["content-security-policy"]
    assert (
        "script-src 'self'" in policy
        and "frame-ancestors 'none'" in policy
        and "unsafe-inline" not in policy.split("style-src")[0]
    )
    assert response.headers["x-frame-options"] == "DENY"
    assert "strict-transport-security" not in response.headers  # plain http on loopback
