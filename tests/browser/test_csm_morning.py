"""A CSM's morning in a real browser (Debian's chromium through Playwright) on the demo after ``kizuna refresh``: log
in with the demo CSM login ``kizuna serve --demo-login`` prints, land on the cockpit, open an account at risk and read
why, its health history, log the call, build the customer's QBR deck, then complete, snooze and reassign tasks in
place on a filtered, paged task list and stay on that very page."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from kizuna.accounts.models import Account
from kizuna.auth.models import User
from kizuna.platform.clock import today
from kizuna.runtime import Runtime
from kizuna.tasks.service import create_task
from kizuna.web.cli import reset_busiest_csm
from tests.browser.test_journey import CHROMIUM_ARGS
from tests.web.demo_app import DemoApp

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

PASSWORD = "the demo csm password"


@pytest.fixture(scope="module")
def demo_csm(demo_app: DemoApp) -> tuple[str, str]:
    """The demo's CSM login with the largest book, given a password as ``kizuna serve --demo-login`` does, and a few
    tasks of their own beside the playbooks' (each language's walk completes, snoozes and reassigns three)."""
    runtime = Runtime.open(demo_app.settings)
    try:
        with runtime.transaction() as session:
            email = reset_busiest_csm(session, password=PASSWORD)
            user = session.scalars(select(User).where(User.email == email)).one()
            account_id = session.scalars(select(Account.id).where(Account.owner_id == user.team_member_id)).first()
            for i in range(8):
                create_task(
                    session,
                    actor="test",
                    title=f"フォローアップ {i + 1}",
                    account_id=account_id,
                    owner_id=user.team_member_id,
                    due_on=today() + dt.timedelta(days=i),
                )
    finally:
        runtime.close()
    assert email is not None, "kizuna demo made no CSM login"
    return email, PASSWORD


@pytest.mark.parametrize("language", ["ja", "en"])
def test_a_csm_s_morning(served: str, demo_csm: tuple[str, str], language: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    email, password = demo_csm
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=served, locale="ja-JP" if language == "ja" else "en-US")
        page = context.new_page()
        page.set_default_timeout(20_000)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))

        # Log in: a CSM starts the day on their cockpit.
        page.goto(f"/login?lang={language}&next=/")
        page.fill("input[name=email]", email)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_url("**/me")
        expect(page.locator("h1")).to_contain_text("マイコックピット" if language == "ja" else "cockpit")
        formula = "影響額 = 離脱確率 × ARR × 期限係数" if language == "ja" else "At stake = churn risk × ARR × urgency"
        expect(page.locator("#stake-formula")).to_contain_text(formula)
        assert page.locator("#cockpit-tasks tbody tr[id^=task-]").count() > 0, "no work on the cockpit"
        owner_link = page.locator("#today a[href^='/tasks?owner_id=']").get_attribute("href")
        assert owner_link is not None

        # An account at risk: its risk and the reason in words, on the cockpit and on its 360.
        first = page.locator("#at-risk tbody tr").first
        reason = first.locator("td").nth(2).inner_text().strip()
        assert reason and not re.search(r"[a-z]+_[a-z_]+", reason), reason
        first.locator("a").click()
        page.wait_for_url(re.compile(r"/accounts/\d+$"))
        expect(page.locator("#tile-risk")).to_be_visible()
        expect(page.locator("#risk-reason")).to_have_text(reason)
        account_url = page.url

        # Its health history and drivers, one click from the 360.
        page.locator("#health a[href$='/health/history']").click()
        page.wait_for_url(re.compile(r"/accounts/\d+/health/history$"))
        expect(page.locator("main h1")).to_be_visible()
        undrawn = page.evaluate("[...document.querySelectorAll('.chart')].filter(e => !e.dataset.drawn).length")
        assert undrawn == 0

        # Log the call on the timeline.
        page.goto(account_url)
        subject = f"電話で利用状況を確認 ({language})"
        page.select_option("#activity-form select[name=kind]", "call")
        page.fill("#activity-form input[name=subject]", subject)
        page.click("#activity-form button")
        page.wait_for_load_state("load")
        expect(page.locator("#timeline")).to_contain_text(subject)

        # Build the QBR deck the customer will get (PowerPoint) from the 360.
        with page.expect_download() as download:
            page.locator(f"a[href$='/report.pptx?lang={language}']").click()
        deck = download.value.path()
        assert deck is not None and deck.stat().st_size > 10_000
        assert deck.read_bytes()[:2] == b"PK"  # an Office Open XML package

        # Complete a task in place on a filtered, paged list: back on the same URL, one task fewer.
        page.goto(owner_link + "&status=open")
        total_before = int(re.sub(r"\D", "", page.locator("#tasks-total").inner_text()))
        if total_before > 50:
            page.locator("#tasks-pager a[rel=next]").click()
        filtered = page.url
        row = page.locator("#tasks-table tbody tr[id^=task-]").first
        task_id = row.get_attribute("id")
        row.locator("button.task-complete").click()
        page.wait_for_load_state("load")
        assert page.url == filtered
        assert parse_qs(urlsplit(page.url).query)["status"] == ["open"]
        expect(page.locator(f"#{task_id}")).to_have_count(0)
        total_after = int(re.sub(r"\D", "", page.locator("#tasks-total").inner_text()))
        assert total_after == total_before - 1

        # Snooze one to next Monday from the same page and stay there.
        row = page.locator("#tasks-table tbody tr[id^=task-]").first
        snoozed_id = row.get_attribute("id")
        row.locator("details.menu summary").first.click()
        row.locator("button[name=preset]").nth(2).click()
        page.wait_for_load_state("load")
        assert page.url == filtered
        expect(page.locator(f"#{snoozed_id}")).to_have_count(0)

        # Reassign one to a colleague: the menu fills with the team when it opens; back on the same page.
        row = page.locator("#tasks-table tbody tr[id^=task-]").first
        moved_id = row.get_attribute("id")
        menu = row.locator("details[data-owner-menu]")
        menu.locator("summary").click()
        select = menu.locator("select[name=owner_id]")
        current = parse_qs(urlsplit(filtered).query)["owner_id"][0]
        colleague = next(
            v for v in select.locator("option").evaluate_all("os => os.map(o => o.value)") if v and v != current
        )
        select.select_option(colleague)
        menu.locator("button").click()
        page.wait_for_load_state("load")
        assert page.url == filtered
        expect(page.locator(f"#{moved_id}")).to_have_count(0)
        assert errors == [], errors
        context.close()
        browser.close()
