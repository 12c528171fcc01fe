"""The imports page and one run's page: entities, statuses and reject reasons in words, through the real app."""

from __future__ import annotations

import re

from kizuna.auth.deps import LANGUAGE_COOKIE
from kizuna.imports.reasons import reason_words
from kizuna.platform.web import i18n
from tests.web.fixtures import WebWorld, csrf_of
from tests.web.test_words import problems


def test_an_upload_with_rejects_reads_in_words(world: WebWorld) -> None:
    client = world.client("admin")
    page = client.get("/imports")
    assert '<option value="survey_responses">アンケート回答</option>' in page.text
    upload = client.post(
        "/imports",
        data={"entity": "accounts", "csrf_token": csrf_of(page.text)},
        files={
            "file": (
                "取引先.csv",
                "external_id,name,created_at\nUP-1,株式会社アップ,2025-01-01\nUP-2,,not a date\n".encode(),
                "text/csv",
            )
        },
    )
    assert upload.status_code == 200
    assert "必須項目が空です" in upload.text and "日付として読めません" in upload.text
    run_id = re.findall(r'href="/imports/(\d+)"', upload.text)[0]
    listing = client.get("/imports")
    assert ">完了</span>" in listing.text and "<td>取引先</td>" in listing.text
    run = client.get(f"/imports/{run_id}")
    assert run.status_code == 200
    assert "必須項目が空です" in run.text and "日付として読めません" in run.text
    assert 'id="rejected-count">1<' in run.text  # one row, two cells refused
    for path in ("/imports", f"/imports/{run_id}"):
        for language in ("ja", "en"):
            client.cookies.set(LANGUAGE_COOKIE, language)
            main = client.get(path).text.split("<main", 1)[1].split("</main>")[0]  # the user bar shows "admin user"
            assert problems(main, language) == [], (path, language)
    assert client.get("/imports/999999").status_code == 404


def test_reasons_the_importer_writes_are_known() -> None:
    t = i18n.translator("ja")
    assert reason_words("required", t) == "必須項目が空です"
    assert reason_words("must be at least 3", t) == "3 以上の値にしてください"
    assert (
        reason_words("duplicate external_id 'A-1': already in row 4", t) == "ファイル内で重複しています (4 行目と同じ)"
    )
    assert reason_words("unknown account: no accounts with external_id 'X-9'", t) == "取引先が見つかりません: 'X-9'"
    assert reason_words("something new", t) is None


def test_the_reasons_of_the_broken_import_corpus_are_in_words() -> None:
    for language in ("ja", "en"):
        t = i18n.translator(language)
        for reason in (
            "out of range: quantity holds whole numbers from -2,147,483,648 to 2,147,483,647",
            "out of range: a date and time before the year 1 or after the year 9999 in UTC",
            "not a date: a number alone (write the whole date, such as 2024-01-05)",
            "contains a NUL character (\\x00), which no text column stores",
            "not valid Unicode text (a lone surrogate such as \\ud800)",
        ):
            words = reason_words(reason, t)
            assert words is not None and "{" not in words, (language, reason)
    assert "quantity" in (reason_words("out of range: quantity holds whole numbers from 0 to 9", t) or "")


def test_an_upload_is_named_by_its_last_path_part_and_a_name_like_dot_dot_is_a_clear_400(world: WebWorld) -> None:
    client = world.client("admin")
    page = client.get("/imports")
    body = "external_id,name\nUP-DOT,株式会社ドット\n".encode()
    for name in ("..", ".", "/", "a/..", "..\\.."):
        refused = client.post(
            "/imports",
            data={"entity": "accounts", "csrf_token": csrf_of(page.text)},
            files={"file": (name, body, "text/csv")},
        )
        assert refused.status_code == 400, (name, refused.status_code)
        assert "is not a file name" in refused.text, name
    kept = client.post(
        "/imports",
        data={"entity": "accounts", "csrf_token": csrf_of(page.text)},
        files={"file": ("../../etc/取引先.csv", body, "text/csv")},
    )
    assert kept.status_code == 200, kept.text[:500]
    assert "<td>取引先</td>" in client.get("/imports").text or "取引先.csv" in kept.text


def test_the_upload_offers_the_ready_mappings_and_uses_the_chosen_one(world: WebWorld) -> None:
    client = world.client("admin")
    page = client.get("/imports")
    assert '<option value="stripe">Stripe (顧客・サブスクリプション・請求書・価格)</option>' in page.text
    customers = (
        "id,Description,Email,Name,Created (UTC),Currency,Delinquent\n"
        "cus_WEB1,,a@example.com,Web Upload KK,2025-01-05 09:30:00,jpy,false\n"
    )
    upload = client.post(
        "/imports",
        data={"entity": "accounts", "mapping": "stripe", "csrf_token": csrf_of(page.text)},
        files={"file": ("customers.csv", customers.encode(), "text/csv")},
    )
    assert upload.status_code == 200 and 'id="rejected-count">0<' in upload.text
    refused = client.post(
        "/imports",
        data={"entity": "tickets", "mapping": "stripe", "csrf_token": csrf_of(page.text)},
        files={"file": ("customers.csv", customers.encode(), "text/csv")},
    )
    assert refused.status_code == 400 and "stripe mapping has nothing for tickets" in refused.text
    client.cookies.set(LANGUAGE_COOKIE, "en")
    english = client.get("/imports").text
    assert '<option value="google_forms">Google Forms (NPS responses)</option>' in english
    main = english.split("<main", 1)[1].split("</main>")[0]
    assert problems(main, "en") == []


def test_the_import_history_is_paged_with_its_total_in_both_languages(world: WebWorld) -> None:
    from kizuna import models as m

    with world.runtime.transaction() as session:
        for i in range(53):
            session.add(
                m.ImportRun(entity="accounts", file_name=f"取引先-{i:02}.csv", file_sha256="0" * 64, status="done")
            )
    client = world.client("viewer")
    first = client.get("/imports")
    assert "取引先-52.csv" in first.text and "取引先-02.csv" not in first.text
    assert "全53件" in first.text and 'href="/imports?page=2"' in first.text
    second = client.get("/imports", params={"page": 2})
    assert "取引先-02.csv" in second.text and "取引先-03.csv" not in second.text and "2 / 2 ページ" in second.text
    assert "取引先-02.csv" in client.get("/imports", params={"page": 999}).text  # past the last page: the last
    assert client.get("/imports", params={"page": 0}).status_code == 422
    client.cookies.set(LANGUAGE_COOKIE, "en")
    english = client.get("/imports", params={"page": 2})
    assert "53 in all" in english.text and "Page 2 of 2" in english.text
