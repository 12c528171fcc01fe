"""Every page before the first ``kizuna refresh``: a company has imported its data (the demo) and computed nothing
yet. Each page answers an administrator in Japanese and in English without a server error and in words (the check of
``tests/web/test_words.py``), and a page whose figures come from the refresh says so (no data yet, run the refresh)
rather than failing.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest

from kizuna.auth.deps import LANGUAGE_COOKIE, SESSION_COOKIE
from tests.web.demo_app import PUBLIC_MODULES, REDIRECTS, DemoApp, build_demo_app, pages, url
from tests.web.fixtures import session_token
from tests.web.test_words import problems

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


@pytest.fixture(scope="module")
def unrefreshed_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoApp]:
    yield build_demo_app(tmp_path_factory.mktemp("before-refresh"), refreshed=False)


def test_every_page_answers_before_the_first_refresh(unrefreshed_app: DemoApp) -> None:
    routes = [(p, m) for p, m in pages(unrefreshed_app.app) if m not in PUBLIC_MODULES and p not in REDIRECTS]
    assert len(routes) >= 25, routes
    failures = []
    with TestClient(unrefreshed_app.app, follow_redirects=False, raise_server_exceptions=False) as client:
        client.cookies.set(SESSION_COOKIE, session_token(unrefreshed_app.settings, unrefreshed_app.admin_id))
        for path, module in routes:
            address = url(path, module, unrefreshed_app.params)
            for language in ("ja", "en"):
                client.cookies.set(LANGUAGE_COOKIE, language)
                response = client.get(address)
                if response.status_code >= 500:
                    failures.append(f"{language} {address}: {response.status_code} {response.text[:300]}")
                elif response.headers["content-type"].startswith("text/html"):
                    failures += [f"{language} {address}: {p}" for p in problems(response.text, language)]
                    if 'id="first-refresh-pending"' not in response.text:
                        failures.append(f"{language} {address}: no notice that nothing is computed yet")
    assert not failures, f"{len(failures)} problems:\n" + "\n".join(failures)


def test_the_notice_goes_once_the_first_refresh_has_run(demo_app: DemoApp) -> None:
    with TestClient(demo_app.app, follow_redirects=False) as client:
        client.cookies.set(SESSION_COOKIE, session_token(demo_app.settings, demo_app.admin_id))
        for language in ("ja", "en"):
            client.cookies.set(LANGUAGE_COOKIE, language)
            page = client.get("/usage")
            assert page.status_code == 200, page.text[:500]
            assert 'id="first-refresh-pending"' not in page.text
            assert 'id="usage-stickiness"' in page.text
