"""Each role's day in a real browser on the demo (after ``kizuna refresh``), in Japanese and in English, reaching every
page from the sidebar by its label (the glossary's words) as a person would:

* a CS manager's monthly review: the dashboard's KPIs, unit economics with a definition one click away, where revenue
  leaks by churn reason and ARR, coverage per CSM and tier, the renewal forecast;
* a CS-ops analyst's: the overall scorecard's stored backtest, and a segment made from the page (imports with rejects
  and a playbook dry run are in ``test_journey``);
* an administrator's: users, a new API key shown once, and the audit log that recorded it.

Every page visited: an ``h1``, no JavaScript error, every chart drawn or saying it has no data.
(The CSM's morning is ``test_csm_morning``.)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from kizuna.platform.web.i18n import translate
from tests.browser.test_journey import CHROMIUM_ARGS
from tests.web.demo_app import DemoApp

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

PASSWORD = "correct horse"


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _logged_in(browser: Any, base: str, email: str, language: str) -> tuple[Any, list[str]]:
    context = browser.new_context(base_url=base, locale="ja-JP" if language == "ja" else "en-US")
    page = context.new_page()
    page.set_default_timeout(20_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"/login?lang={language}")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert "/login" not in page.url, page.content()[:2000]
    return page, errors


def _open_from_sidebar(page: Any, label_key: str, language: str) -> None:
    """Click the sidebar link labelled ``label_key`` and check the page it opens."""
    from playwright.sync_api import expect

    label = translate(language, label_key)
    page.locator(".sidebar a", has_text=label).first.click()
    page.wait_for_load_state()
    expect(page.locator("main h1")).to_be_visible()
    undrawn = page.evaluate("[...document.querySelectorAll('.chart')].filter(e => !e.dataset.drawn).map(e => e.id)")
    assert undrawn == [], (label, undrawn)


@pytest.mark.parametrize("language", ["ja", "en"])
def test_a_managers_monthly_review(browser: Any, served: str, language: str) -> None:
    from playwright.sync_api import expect

    page, errors = _logged_in(browser, served, "crawl-manager@example.jp", language)
    _open_from_sidebar(page, "nav.dashboard", language)
    expect(page.locator(".tile").first).to_be_visible()
    assert page.locator("[data-drawn=true] svg").count() >= 1

    _open_from_sidebar(page, "kpis.nav.unit_economics", language)
    for tile in ("#ue-ltv", "#ue-cac", "#ue-ltv-cac", "#ue-payback"):
        expect(page.locator(tile)).to_be_visible()
    page.locator("#calc-ltv a").click()  # the definition is one click away
    page.wait_for_load_state()
    assert page.url.endswith("/definitions#ltv")
    expect(page.locator("[id=ltv]")).to_be_visible()

    _open_from_sidebar(page, "kpis.nav.leakage", language)
    assert page.locator("main table tbody tr").count() >= 1

    _open_from_sidebar(page, "nav.coverage", language)
    assert page.locator("main table tbody tr").count() >= 1

    _open_from_sidebar(page, "nav.renewal_center", language)
    assert page.locator("main table tbody tr").count() >= 1
    assert errors == []


@pytest.mark.parametrize("language", ["ja", "en"])
def test_an_administrators_day(browser: Any, served: str, demo_app: DemoApp, language: str) -> None:
    from playwright.sync_api import expect

    page, errors = _logged_in(browser, served, "admin@example.jp", language)
    _open_from_sidebar(page, "nav.settings", language)
    expect(page.locator("main")).to_contain_text("crawl-csm@example.jp")  # the users
    name = f"assistant-{language}"
    form = page.locator("form[action='/settings/api-keys']")
    form.locator("input[name=name]").fill(name)
    form.locator("input[name=scopes][value=read]").check()
    form.locator("button").click()
    page.wait_for_load_state()
    expect(page.locator("#new-api-key")).to_be_visible()  # shown once

    _open_from_sidebar(page, "audit.nav", language)
    expect(page.locator("#audit-rows")).to_contain_text(name)
    assert errors == []


@pytest.mark.parametrize("language", ["ja", "en"])
def test_a_cs_ops_analysts_day(browser: Any, served: str, language: str) -> None:
    """The analyst's other half (imports with rejects and a playbook dry run: ``test_journey``): whether the overall
    scorecard can be trusted (its stored backtest), and a segment made from the page."""
    from playwright.sync_api import expect

    page, errors = _logged_in(browser, served, "crawl-manager@example.jp", language)
    _open_from_sidebar(page, "health.nav", language)
    page.locator("main a[href='/health/overall']").first.click()
    page.wait_for_load_state()
    expect(page.locator("#health-backtest")).to_be_visible()

    _open_from_sidebar(page, "nav.segments", language)
    form = page.locator("form[action='/segments']")
    form.locator("input[name=name]").fill(f"ハイタッチ ({language})")
    form.locator("input[name=key]").fill(f"high-touch-{language}")
    form.locator("select[name=field]").first.select_option("touch_tier")
    form.locator("select[name=op]").first.select_option("eq")
    form.locator("input[name=value]").first.fill("high")
    form.locator("button.primary").click()
    page.wait_for_load_state()
    expect(page.locator("main")).to_contain_text(f"ハイタッチ ({language})")
    assert errors == []
