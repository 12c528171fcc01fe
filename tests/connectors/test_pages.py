"""/connectors as ``kizuna serve`` builds it: administrators only, each system's last run, words in ja and en."""

from __future__ import annotations

from kizuna.auth.deps import LANGUAGE_COOKIE
from kizuna.connectors import credentials, service
from tests.web.fixtures import WebWorld
from tests.web.test_words import problems


def test_the_status_page_shows_each_system_last_run_and_rejects(world: WebWorld) -> None:
    credentials.save(world.runtime.settings, "stripe", {"api_key": "sk_test_0000111122223333"})
    with world.runtime.transaction(write=True) as session:
        run = service.start_run(session, vendor="stripe", kind="backfill")
        log = service.RunLog()
        log.count("created", 12)
        log.reject("sub_9", "currency", "xxx", "unknown currency")
        service.finish_run(session, run, log, actor="cli")
    for role in ("viewer", "csm", "manager"):
        assert world.client(role).get("/connectors").status_code == 403, role
    admin = world.client("admin")
    assert 'href="/connectors"' in admin.get("/settings").text
    page = admin.get("/connectors")
    assert page.status_code == 200
    rows = page.text.split('id="connectors"')[1]
    assert "Stripe" in rows and "設定済み" in rows and "一部取り込めず" in rows and "過去分の取り込み" in rows
    assert "sk_test" not in page.text  # credentials never shown
    assert problems(page.text, "ja") == []
    detail = admin.get("/connectors/stripe")
    assert "sub_9" in detail.text and "unknown currency" in detail.text
    admin.cookies.set(LANGUAGE_COOKIE, "en")
    english = admin.get("/connectors")
    assert "Back-fill" in english.text and "Some records rejected" in english.text
    assert problems(english.text, "en") == []
    assert admin.get("/connectors/nothing").status_code == 404
    # the systems not connected yet are listed with what they bring and the command that sets them up
    available = english.text.split('id="connectors-available"')[1]
    assert "kizuna connect chargebee" in available and "Microsoft Teams" in available
    assert "kizuna connect stripe" not in available  # connected: in the table above
    admin.cookies.set(LANGUAGE_COOKIE, "ja")
    teams = admin.get("/connectors/teams")
    assert teams.status_code == 200 and 'id="connector-setup"' in teams.text and "kizuna connect teams" in teams.text
    assert problems(teams.text, "ja") == [] and problems(admin.get("/connectors").text, "ja") == []
