"""The knowledge base in the app ``kizuna serve`` builds: an FAQ article written on /kb is found by a Japanese search
in another spelling, edited (the search follows the new words at once) and deleted; account notes are listed and
searched; the page speaks in words (source and kind labels, no raw identifiers)."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from kizuna import models as m
from kizuna.activities.service import log_activity
from kizuna.knowledge import service
from tests.web.fixtures import WebWorld, _world_template, csrf_of, world  # noqa: F401


def _result_titles(html: str) -> list[str]:
    results = html.split('id="kb-results"')[1].split("</ol>")[0]
    return re.findall(r'translate="no">([^<]+)</a>', results)


def test_write_search_edit_and_delete_an_faq_article(world: WebWorld) -> None:  # noqa: F811
    client = world.client("csm")
    page = client.get("/kb")
    assert page.status_code == 200 and 'id="kb-new-form"' in page.text
    token = csrf_of(page.text)
    written = client.post(
        "/kb/articles",
        data={
            "title": "請求書の再発行",
            "body": "請求書の再発行は管理画面の「お問合せ」からご依頼ください。",
            "kind": "faq",
            "tags": "請求",
            "csrf_token": token,
        },
    )
    assert written.status_code == 303
    address = written.headers["location"].split("?")[0]
    assert re.fullmatch(r"/kb/articles/\d+", address)
    article_page = client.get(written.headers["location"])
    assert "保存しました" in article_page.text and "請求書の再発行" in article_page.text
    assert client.post(
        "/kb/articles", data={"title": "x", "body": "y", "kind": "wiki", "csrf_token": token}
    ).status_code in (
        400,
        422,
    )

    # 問い合わせ (query) and お問合せ (text) are one Sudachi normalised form
    found = client.get("/kb", params={"q": "問い合わせ"})
    assert _result_titles(found.text) == ["請求書の再発行"] and "FAQ・記事" in found.text
    assert "請求書の再発行" in client.get("/kb").text.split('id="kb-articles"')[1]

    edited = client.post(
        address,
        data={
            "title": "請求書の再発行と宛名変更",
            "body": "宛名の変更は契約担当者さまからご連絡ください。",
            "kind": "howto",
            "tags": "",
            "csrf_token": csrf_of(article_page.text),
        },
    )
    assert edited.status_code == 303
    assert _result_titles(client.get("/kb", params={"q": "宛名"}).text) == ["請求書の再発行と宛名変更"]
    assert _result_titles(client.get("/kb", params={"q": "お問い合わせ"}).text) == []  # the old body is gone
    with world.runtime.transaction() as session:
        (article,) = session.scalars(select(m.KbArticle)).all()
        assert (article.kind, article.tags) == ("howto", None)

    deleted = client.post(f"{address}/delete", data={"csrf_token": csrf_of(article_page.text)})
    assert deleted.status_code == 303 and deleted.headers["location"] == "/kb"
    assert client.get(address).status_code == 404
    assert _result_titles(client.get("/kb", params={"q": "宛名"}).text) == []


def test_account_notes_are_listed_and_searched(world: WebWorld) -> None:  # noqa: F811
    with world.runtime.transaction() as session:
        log_activity(
            session,
            actor="t",
            account_id=world.account_id,
            kind="note",
            subject="決裁者が交代",
            body="新しい情報システム部長は予算承認に慎重。次回の定例でROIを説明する。",
            occurred_at=dt.datetime.now(dt.UTC),
        )
        service.reindex(session)
    client = world.client("viewer")
    page = client.get("/kb")
    assert "決裁者が交代" in page.text.split('id="kb-notes"')[1]
    hits = client.get("/kb", params={"q": "予算", "source": "note"})
    assert _result_titles(hits.text) == ["決裁者が交代"] and f'href="/accounts/{world.account_id}"' in hits.text
    assert _result_titles(client.get("/kb", params={"q": "予算", "source": "article"}).text) == []
    assert client.get("/kb", params={"source": "wiki"}).status_code == 422
