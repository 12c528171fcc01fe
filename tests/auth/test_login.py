"""Logging in and out through the real form (argon2, CSRF on the login form, safe redirects)."""

from __future__ import annotations

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
