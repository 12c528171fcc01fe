"""A mail import's run on ``/connectors/mail`` through the real app, with its counts and rejects, ja and en."""

from __future__ import annotations

from pathlib import Path

from kizuna.auth.deps import LANGUAGE_COOKIE
from kizuna.mail.service import import_mail
from tests.mail.test_import import _eml
from tests.web.fixtures import WebWorld
from tests.web.test_words import problems


def test_the_connector_page_shows_mail_imports(world: WebWorld, tmp_path: Path) -> None:
    eml = _eml(tmp_path / "x.eml", sender="nobody@unknown.example", subject="件名", body="本文\n", charset="utf-8",
               message_id="<x@unknown.example>")  # fmt: skip
    with world.runtime.transaction(write=True) as session:
        import_mail(session, eml, actor="test")
    admin = world.client("admin")
    page = admin.get("/connectors/mail")
    assert page.status_code == 200
    assert "ファイルの取り込み" in page.text and "読み込み 1" in page.text and "nobody@unknown.example" in page.text
    assert problems(page.text, "ja") == []
    assert "メール受信" in admin.get("/connectors").text
    admin.cookies.set(LANGUAGE_COOKIE, "en")
    english = admin.get("/connectors/mail")
    assert "File import" in english.text and "Read 1" in english.text and problems(english.text, "en") == []
