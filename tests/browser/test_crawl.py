"""Every role follows every link from its landing page in a real browser (Debian's chromium through Playwright), in
Japanese and in English, on the demo after ``kizuna refresh``: no HTTP error, no JavaScript error, no chart left
undrawn (a chart with no data says so), no untranslated key or raw identifier (the words check of
``tests/web/test_words.py``).

Links are followed breadth-first, one page per route of the app (``/accounts/12`` and ``/accounts/13`` are one);
exports and downloads are fetched rather than opened; a resource a page loads that fails is reported; logging out and
switching the language are not followed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from fastapi.routing import iter_route_contexts

from kizuna.auth.deps import LANGUAGE_COOKIE, SESSION_COOKIE
from tests.browser.test_journey import CHROMIUM_ARGS
from tests.web.demo_app import DemoApp
from tests.web.fixtures import session_token
from tests.web.test_words import problems

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

NOT_FOLLOWED = re.compile(r"^/(logout|lang/)|[?&]format=")
MAX_PAGES = 120


def routes_of(app: Any) -> Callable[[str], str]:
    """The route template (``/accounts/{account_id}``) a path of ``app`` belongs to."""
    patterns = [
        (re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", r.path) + "$"), r.path)
        for r in iter_route_contexts(app.routes)
        if r.methods and "GET" in r.methods
    ]

    def route_of(path: str) -> str:
        return next((template for pattern, template in patterns if pattern.match(path)), path)

    return route_of


def crawl(base: str, demo_app: DemoApp, role: str, language: str) -> tuple[list[str], list[str]]:
    """(pages visited, problems found) for one role in one language."""
    from playwright.sync_api import sync_playwright

    route_of = routes_of(demo_app.app)
    visited: list[str] = []
    found: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=base, locale="ja-JP" if language == "ja" else "en-US")
        host = urlsplit(base).hostname or "127.0.0.1"
        context.add_cookies(
            [
                {
                    "name": SESSION_COOKIE,
                    "value": session_token(demo_app.settings, demo_app.users[role]),
                    "domain": host,
                    "path": "/",
                },
                {"name": LANGUAGE_COOKIE, "value": language, "domain": host, "path": "/"},
            ]
        )
        page = context.new_page()
        page.set_default_timeout(20_000)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(f"JavaScript error: {e}"))
        page.on("response", lambda r: errors.append(f"HTTP {r.status} for {r.url}") if r.status >= 400 else None)
        page.on(  # what the Content-Security-Policy blocked (an inline script or style the page relies on)
            "console",
            lambda m: errors.append(f"blocked: {m.text}") if "Content Security Policy" in m.text else None,
        )
        queue, seen = ["/"], {route_of("/")}
        while queue and len(visited) < MAX_PAGES:
            url = queue.pop(0)
            head = context.request.get(url, max_redirects=5)
            where = f"{role} {language} {url}"
            if head.status >= 400:
                found.append(f"{where}: HTTP {head.status}")
                continue
            if not head.headers.get("content-type", "").startswith("text/html"):
                continue  # a download (CSV, Excel, PDF, PowerPoint): fetched, answered, not opened
            errors.clear()
            response = page.goto(url, wait_until="load")
            visited.append(url)
            if response is None or response.status >= 400:
                found.append(f"{where}: HTTP {response.status if response else 'none'}")
                continue
            undrawn = page.evaluate(
                "[...document.querySelectorAll('.chart')].filter(e => !e.dataset.drawn).map(e => e.id)"
            )
            found += [f"{where}: chart #{c} not drawn" for c in undrawn]
            found += [f"{where}: {e}" for e in errors]
            found += [f"{where}: {p}" for p in problems(page.content(), language)]
            for href in page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))"):
                target = urlsplit(urljoin(page.url, href))
                if target.netloc != urlsplit(base).netloc or not target.path.startswith("/"):
                    continue
                link = target.path + (f"?{target.query}" if target.query else "")
                if NOT_FOLLOWED.search(link) or route_of(target.path) in seen:
                    continue
                seen.add(route_of(target.path))
                queue.append(link)
        context.close()
        browser.close()
    return visited, found


@pytest.mark.parametrize("role", ["csm", "manager", "admin"])
def test_every_link_of_every_role_in_both_languages(served: str, demo_app: DemoApp, role: str) -> None:
    report: list[str] = []
    for language in ("ja", "en"):
        visited, found = crawl(served, demo_app, role, language)
        assert len(visited) >= 15, (role, language, visited)
        report += found
    assert not report, f"{len(report)} problems:\n" + "\n".join(report)
