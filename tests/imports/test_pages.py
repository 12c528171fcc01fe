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
