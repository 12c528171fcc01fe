"""The audit log page as ``kizuna serve`` builds it: administrators only, what a write leaves there, filters, pages,
the CSV export, words in both languages."""

from __future__ import annotations

import csv
import io

from kizuna.audit.service import record_audit
from kizuna.auth.deps import LANGUAGE_COOKIE
from tests.web.fixtures import WebWorld, csrf_of
from tests.web.test_words import problems


def test_only_administrators_see_the_audit_log(world: WebWorld) -> None:
    for role in ("viewer", "csm", "manager"):
        assert world.client(role).get("/audit").status_code == 403, role
    anonymous = world.client().get("/audit")
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    admin = world.client("admin")
    assert 'href="/audit"' in admin.get("/settings").text  # in the admin section of the sidebar
    assert 'href="/audit"' not in world.client("manager").get("/me").text


def test_a_write_in_the_app_is_in_the_log_with_who_what_when_and_target(world: WebWorld) -> None:
    admin = world.client("admin")
    token = csrf_of(admin.get("/settings").text)
    made = admin.post(
        "/settings/users",
        data={"email": "kanri@example.jp", "name": "新人", "password": "long enough", "role": "csm"}
        | {"csrf_token": token},
    )
    assert made.status_code == 303
    page = admin.get("/audit", params={"actor": f"user:{world.users['admin']}:admin user"})
    assert page.status_code == 200
    rows = page.text.split('id="audit-rows"')[1]
    assert rows.count("<tr>") == 2  # the header and the one write
    assert "admin user" in rows and "ユーザー" in rows and "作成" in rows and "kanri@example.jp" in rows
    admin.cookies.set(LANGUAGE_COOKIE, "en")
    english = admin.get("/audit", params={"action": "create", "entity": "user"})
    assert "Created" in english.text and "User" in english.text and "5 entries" in english.text


def test_filters_pages_and_csv(world: WebWorld) -> None:
    admin = world.client("admin")
    everything = admin.get("/audit")
    assert "7 件" in everything.text  # the seed wrote four users and three API keys
    by_action = admin.get("/audit", params={"action": "create", "entity": "api_key"})
    assert "3 件" in by_action.text
    none = admin.get("/audit", params={"date_to": "2000-01-01"})
    assert "0 件" in none.text and "条件に合う記録はありません" in none.text
    first = admin.get("/audit", params={"per_page": 3})
    assert "1 / 3" in first.text and 'rel="next"' in first.text.split('id="audit-pager"')[1]
    last = admin.get("/audit", params={"per_page": 3, "page": 3})
    assert 'rel="next"' not in last.text.split('id="audit-pager"')[1]
    assert last.text.split('id="audit-rows"')[1].count("<tr>") == 2
    blank_filters = admin.get("/audit", params={"actor": "", "action": "", "date_from": "", "page": 1})
    assert blank_filters.status_code == 200 and "7 件" in blank_filters.text
    exported = admin.get("/audit", params={"entity": "api_key", "format": "csv"})
    assert exported.headers["content-type"].startswith("text/csv")
    assert exported.content.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert table[0][:4] == ["日時", "実行者の種類", "実行者", "操作"]
    assert len(table) == 4
    assert {row[4] for row in table[1:]} == {"create"} and {row[6] for row in table[1:]} == {"api_key"}
    assert all(row[3] == "作成" and row[5] == "APIキー" for row in table[1:])


def test_the_audit_log_speaks_in_words(world: WebWorld) -> None:
    admin = world.client("admin")
    for language in ("ja", "en"):
        admin.cookies.set(LANGUAGE_COOKIE, language)
        page = admin.get("/audit")
        # the page's own part: the sidebar names the logged-in user ("admin user" in this world)
        found = problems(page.text.split("<main", 1)[1], language)
        assert found == [], found


def test_a_kind_of_write_the_catalogue_does_not_know_yet_is_shown_as_code(world: WebWorld) -> None:
    with world.runtime.transaction() as session:
        record_audit(session, actor="refresh", action="recompute_everything", entity="galaxy_brain", entity_id=1)
    admin = world.client("admin")
    page = admin.get("/audit")
    assert '<code translate="no">recompute_everything</code>' in page.text
    assert '<option value="galaxy_brain" translate="no"' in page.text
    assert problems(page.text.split("<main", 1)[1], "ja") == []
