"""Every page of every domain, in the app ``kizuna serve`` builds, on a demo company after ``kizuna refresh``:
200 to a logged-in administrator in Japanese and in English, a redirect to the login page for an anonymous visitor.

The routes come from the app itself, so a page a domain adds is checked without listing it here; a path parameter
this test cannot fill fails the test rather than skipping the page.
"""

from __future__ import annotations

import warnings

from kizuna.auth.deps import LANGUAGE_COOKIE, SESSION_COOKIE
from tests.web.demo_app import PUBLIC_MODULES, REDIRECTS, DemoApp, pages, url
from tests.web.fixtures import session_token

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


def test_every_page_answers_an_admin_in_both_languages_and_sends_a_visitor_to_login(demo_app: DemoApp) -> None:
    routes = [(p, m) for p, m in pages(demo_app.app) if m not in PUBLIC_MODULES]
    assert len(routes) >= 25, routes
    with TestClient(demo_app.app, follow_redirects=False) as client:
        for path, module in routes:
            address = url(path, module, demo_app.params)
            client.cookies.clear()
            anonymous = client.get(address)
            assert anonymous.status_code == 303, (address, anonymous.status_code)
            assert anonymous.headers["location"].startswith("/login"), (address, anonymous.headers["location"])
            client.cookies.set(SESSION_COOKIE, session_token(demo_app.settings, demo_app.admin_id))
            for language in ("ja", "en"):
                client.cookies.set(LANGUAGE_COOKIE, language)
                response = client.get(address)
                if path in REDIRECTS:
                    assert response.status_code == 303, (address, response.status_code)
                    continue
                assert response.status_code == 200, (address, language, response.status_code, response.text[:500])
                if response.headers["content-type"].startswith("text/html"):
                    assert f'lang="{language}"' in response.text, (address, language)
