"""``kizuna mail import``: real .eml and .mbox files in Japanese encodings read onto the right accounts, once, with
quoted replies and signatures cut -- on SQLite and PostgreSQL."""

from __future__ import annotations

import mailbox
from email.header import Header
from email.mime.text import MIMEText
from email.utils import formataddr
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from kizuna import models as m
from kizuna.cli import build_app
from kizuna.mail.service import customer_words, import_mail
from tests import factories

REPLY = """いつもお世話になっております。
新しいレポート機能が使いにくく、現場が困っています。
改善の予定はありますか。

--
山田 太郎
株式会社さくら 情報システム部

2026年12月1日(火) 10:00 佐藤 <sato@kizuna.example>:
> ご検討のほどよろしくお願いいたします。
"""


def _eml(path: Path, *, sender: str, subject: str, body: str, charset: str, message_id: str | None) -> Path:
    message = MIMEText(body, "plain", charset)
    message["From"] = formataddr(("山田 太郎", sender), charset=charset)
    message["To"] = "cs@kizuna.example"
    message["Subject"] = Header(subject, charset)
    message["Date"] = "Tue, 01 Dec 2026 19:30:00 +0900"
    if message_id:
        message["Message-ID"] = message_id
    path.write_bytes(message.as_bytes())
    return path


def test_mail_is_read_onto_the_right_accounts_once(session: Session, tmp_path: Path) -> None:
    sakura = factories.account(session, name="株式会社さくら")
    factories.contact(session, sakura, email="yamada@sakura.example")
    momiji = factories.account(session, name="もみじ株式会社")
    factories.contact(session, momiji, email="info@momiji.example")
    folder = tmp_path / "inbox"
    folder.mkdir()
    _eml(folder / "1.eml", sender="Yamada@Sakura.example", subject="レポート機能について", body=REPLY,
         charset="iso-2022-jp", message_id="<a1@sakura.example>")  # fmt: skip
    _eml(folder / "2.eml", sender="suzuki@momiji.example", subject="請求書の件",
         body="料金が高すぎると感じています。\n", charset="shift_jis", message_id="<b2@momiji.example>")  # fmt: skip
    _eml(folder / "3.eml", sender="someone@gmail.com", subject="Hello", body="Who are you?\n", charset="utf-8",
         message_id="<c3@gmail.com>")  # fmt: skip
    box = mailbox.mbox(folder / "archive.mbox")
    box.add(mailbox.mboxMessage((folder / "1.eml").read_bytes()))  # the same message again, in an archive
    box.add(
        mailbox.mboxMessage(
            _eml(tmp_path / "4.eml", sender="yamada@sakura.example", subject="Thanks", charset="utf-8",
                 body="Great support, thank you!\n\nOn Mon, 30 Nov 2026 Sato wrote:\n> Any news?\n", message_id=None)
            .read_bytes()
        )
    )  # fmt: skip
    box.flush()
    box.close()

    run_id, log = import_mail(session, folder, actor="t")
    assert log.counts == {"read": 5, "created": 3, "voc_entries": 3, "duplicates": 1, "rejected": 1}
    [reject] = log.rejects
    assert reject["record"].endswith("3.eml") and reject["value"] == "someone@gmail.com"
    activities = session.scalars(select(m.Activity).order_by(m.Activity.subject)).all()
    assert [(a.account_id, a.kind, a.subject) for a in activities] == [
        (sakura.id, "email", "Thanks"),
        (sakura.id, "email", "レポート機能について"),  # ISO-2022-JP subject and body
        (momiji.id, "email", "請求書の件"),  # Shift_JIS; matched by the domain: no contact has this address
    ]
    words = {e.author: e.text for e in session.scalars(select(m.VocEntry).where(m.VocEntry.channel == "email"))}
    assert words["yamada@sakura.example"] in (
        "いつもお世話になっております。\n新しいレポート機能が使いにくく、現場が困っています。\n改善の予定はありますか。",
        "Great support, thank you!",
    )
    assert words["suzuki@momiji.example"] == "料金が高すぎると感じています。"
    assert {e.contact_id is None for e in session.scalars(select(m.VocEntry))} == {False, True}
    run = session.get(m.ConnectorRun, run_id)
    assert run is not None and run.status == "partial" and run.counts["created"] == 3

    # the same mailbox read again: nothing new
    _, again = import_mail(session, folder, actor="t")
    assert again.counts == {"read": 5, "duplicates": 4, "rejected": 1}
    assert len(session.scalars(select(m.Activity)).all()) == 3


def test_customer_words_cut_quotes_and_signatures() -> None:
    assert customer_words(REPLY).endswith("改善の予定はありますか。")
    assert customer_words("了解です。\n\n-----Original Message-----\nFrom: a\n本文") == "了解です。"
    assert customer_words("ありがとうございます。\n＿＿＿＿＿＿＿＿\n署名") == "ありがとうございます。"
    assert customer_words("> quoted only\nmine\n") == "mine"


def test_kizuna_mail_import_prints_counts_and_rejects(tmp_path: Path) -> None:
    app, data = build_app(), str(tmp_path / "data")
    assert CliRunner().invoke(app, ["--data-dir", data, "init"]).exit_code == 0
    eml = _eml(tmp_path / "x.eml", sender="nobody@unknown.example", subject="件名", body="本文\n", charset="utf-8",
               message_id="<x@unknown.example>")  # fmt: skip
    done = CliRunner().invoke(app, ["--data-dir", data, "mail", "import", str(eml), "--no-analyse"])
    assert done.exit_code == 0, done.output
    assert "read=1" in done.output and "rejected=1" in done.output and "nobody@unknown.example" in done.output
    missing = CliRunner().invoke(app, ["--data-dir", data, "mail", "import", str(tmp_path / "none.mbox")])
    assert missing.exit_code != 0 and "none.mbox" in missing.output


def test_silence_and_tone_are_account_attributes(session: Session, tmp_path: Path) -> None:
    import datetime as dt

    from kizuna.segments.attributes import account_attributes
    from kizuna.voc.service import analyse_entries

    unhappy = factories.account(session, name="株式会社くもり")
    factories.contact(session, unhappy, email="kato@kumori.example")
    quiet = factories.account(session, name="静か株式会社")
    complaint = "サポートの対応が遅く、とても不満です。解約を検討しています。\n"
    _eml(tmp_path / "a.eml", sender="kato@kumori.example", subject="不満", charset="iso-2022-jp", body=complaint,
         message_id="<k1@kumori.example>")  # fmt: skip
    import_mail(session, tmp_path / "a.eml", actor="t")
    analyse_entries(session)
    attrs = account_attributes(session, [unhappy.id, quiet.id], today=dt.date(2026, 12, 11))
    assert attrs[unhappy.id]["days_since_customer_email"] == 10  # the mail of 1 December (10:30 UTC)
    assert attrs[unhappy.id]["email_sentiment"] < 0
    assert attrs[quiet.id]["days_since_customer_email"] is None and attrs[quiet.id]["email_sentiment"] is None
    # as of a day before the mail, it is not known yet
    assert (
        account_attributes(session, [unhappy.id], today=dt.date(2026, 11, 30))[unhappy.id]["days_since_customer_email"]
        is None
    )
