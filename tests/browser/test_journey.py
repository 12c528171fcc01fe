"""A CSM's day in a real browser (Debian's chromium through Playwright): log in, see the dashboard's charts drawn,
open a customer 360, create a task, dry-run a playbook, upload an import with a bad row, switch the language."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import served
from tests.web.fixtures import PASSWORD, WebWorld, refresh_metrics

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture
def server(world: WebWorld) -> Iterator[str]:
    refresh_metrics(world)  # the dashboard's revenue charts read the stored KPI snapshot
    with served(world.app) as base_url:
        yield base_url


@pytest.fixture
def page(server: str) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=server, locale="ja-JP")
        pg = context.new_page()
        pg.set_default_timeout(15_000)
        yield pg
        context.close()
        browser.close()


def test_csm_journey(page: object, world: WebWorld, tmp_path: Path) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    # Log in.
    page.goto("/")
    assert "/login" in page.url
    page.fill("input[name=email]", "csm@example.jp")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/me")  # a CSM starts the day on the cockpit
    expect(page.locator("h1")).to_contain_text("マイコックピット")
    page.goto("/")
    expect(page.locator("h1")).to_contain_text("ポートフォリオ")

    # The dashboard's charts are drawn (ECharts SVG with shapes), from the JSON in the page.
    for chart in ("#chart-waterfall", "#chart-stages"):
        expect(page.locator(f"{chart}[data-drawn=true] svg")).to_have_count(1)
        assert page.locator(f"{chart} svg path").count() > 3

    # Open a customer 360 from the accounts at risk.
    page.click("text=株式会社サクラ商事")
    expect(page.locator("#account-name")).to_contain_text("株式会社サクラ商事")
    expect(page.locator("#chart-mrr[data-drawn=true] svg")).to_have_count(1)
    assert page.locator("text=<script>alert('voc')</script>画面が重いです").count() == 1  # shown as text

    # Create a task.
    page.fill("#task-form input[name=title]", "更新に向けた利用状況レビュー")
    page.select_option("#task-form select[name=priority]", "high")
    page.click("#task-form button")
    expect(page.locator("#task-rows")).to_contain_text("更新に向けた利用状況レビュー")

    # Dry-run a playbook.
    page.goto("/playbooks")
    page.click("#import-library")
    page.locator("#playbooks-table a").first.click()
    page.click("#dry-run")
    expect(page.locator("#playbook-result")).to_be_visible()

    # Upload an import with a bad row and see it rejected with its reason.
    csv = tmp_path / "accounts.csv"
    csv.write_text(
        "external_id,name,lifecycle_stage\nACC-up-1,株式会社アップロード,onboarding\nACC-up-2,株式会社バッド,bogus\n",
        encoding="utf-8",
    )
    page.goto("/imports")
    page.select_option("#import-form select[name=entity]", "accounts")
    page.set_input_files("#import-form input[name=file]", str(csv))
    page.click("#import-form button")
    expect(page.locator("#rejected-count")).to_have_text("1")
    expect(page.locator("#rejections")).to_contain_text("bogus")

    # Switch the language.
    page.goto("/")
    page.click("#lang-switch")
    expect(page.locator("h1")).to_contain_text("Portfolio")
    expect(page.locator(".sidebar")).to_contain_text("Accounts")
