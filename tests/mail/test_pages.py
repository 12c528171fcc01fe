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


def test_the_connector_page_shows_imap_pulls_with_counts_rejects_and_the_next_pull(
    world: WebWorld, tmp_path: Path
) -> None:
    from kizuna.connectors import credentials
    from kizuna.mail import jobs
    from tests.mail.imap_peer import PASSWORD, USER, imap_server
    from tests.mail.test_pull import STRANGER

    with imap_server(tmp_path / "imap") as server:
        values = {"host": "127.0.0.1", "port": str(server.port), "user": USER, "password": PASSWORD, "security": "none"}
        credentials.save(world.runtime.settings, "mail", values)
        server.deliver(STRANGER)
        run = jobs.pull(world.runtime, address=jobs.address_of(world.runtime.settings), actor="test", analyse=False)
    admin = world.client("admin")
    page = admin.get("/connectors/mail")
    assert page.status_code == 200
    assert "差分の取り込み" in page.text and "読み込み 1" in page.text and "someone@gmail.com" in page.text
    assert 'id="connector-next-run"' in page.text and PASSWORD not in page.text
    assert problems(page.text, "ja") == []
    listing = admin.get("/connectors").text.split('id="connectors"')[1]
    assert "メール受信" in listing and "設定済み" in listing and "一部取り込めず" in listing
    mail_row = listing.split("/connectors/mail")[1].split("</tr>")[0]
    assert run.status == "partial" and not mail_row.rstrip().endswith("<td>—</td>")  # the next pull is shown
    admin.cookies.set(LANGUAGE_COOKIE, "en")
    english = admin.get("/connectors/mail")
    assert "Incremental pull" in english.text and "Next sync" in english.text and problems(english.text, "en") == []
