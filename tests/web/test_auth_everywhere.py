"""Every route of the app needs authentication, except the login page, the health check, the survey response page
the tracking API (which has its own write-key check and answers 401 too) and vendors' webhooks (their signature
checked: tests/stripe)."""

from __future__ import annotations

import re

from fastapi.routing import iter_route_contexts

from tests.web.fixtures import WebWorld

PUBLIC = {("/login", "GET"), ("/login", "POST"), ("/healthz", "GET")}
PUBLIC_MODULES = ("kizuna.surveys.public", "kizuna.stripe.public")  # Stripe's signature is its authentication


def _routes(app: object) -> list[tuple[str, str, object]]:
    """Every (path, method, endpoint) of the app, through included routers (FastAPI resolves those lazily)."""
    found = []
    for route in iter_route_contexts(app.routes):  # type: ignore[attr-defined]
        if route.methods and route.endpoint is not None:
            for method in sorted(route.methods):
                found.append((route.path, method, route.endpoint))
    return found


def test_every_route_requires_authentication(world: WebWorld) -> None:
    client = world.client()
    checked = 0
    for path, method, endpoint in _routes(world.app):
        if (path, method) in PUBLIC or endpoint.__module__ in PUBLIC_MODULES:
            continue
        url = re.sub(r"\{[^}]+\}", "1", path)
        response = client.request(method, url, headers={"accept": "text/html"})
        if response.status_code == 303:
            assert response.headers["location"].startswith("/login"), (method, path)
        else:
            assert response.status_code == 401, (method, path, response.status_code)
        api = client.request(method, url, headers={"accept": "application/json"})
        assert api.status_code in (401, 303), (method, path, api.status_code)
        checked += 1
    assert checked >= 30


def test_public_routes_answer_without_login(world: WebWorld) -> None:
    client = world.client()
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/login").status_code == 200
    assert client.get("/static/kizuna.css").status_code == 200


def test_forged_or_garbage_credentials_are_refused(world: WebWorld) -> None:
    client = world.client()
    client.cookies.set("kizuna_session", "eyJ1IjoxLCJ2IjoxfQ.forged.signature")
    assert client.get("/api/v1/accounts").status_code == 401
    client.cookies.clear()
    assert client.get("/api/v1/accounts", headers={"authorization": "Bearer kz_nope"}).status_code == 401
    assert client.get("/api/v1/accounts", headers={"authorization": "Basic !!!"}).status_code == 401
