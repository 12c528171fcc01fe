"""``kizuna mail pull``: a real IMAP server (pymap) on loopback read with Python's imaplib, incrementally by UID --
Japanese encodings, duplicate delivery, a UIDVALIDITY reset, a connection cut mid-pull then resumed, a refused
login, a server that is down -- on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import datetime as dt
import quopri
import stat
import threading
from email.header import Header
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from kizuna import models as m
from kizuna.cli import build_app
from kizuna.connectors import credentials
from kizuna.connectors.models import ConnectorRun
from kizuna.crm.backoff import Backoff
from kizuna.errors import ExternalServiceError
from kizuna.mail import jobs
from kizuna.mail.imap import MailboxAddress
from kizuna.runtime import Runtime
from tests import factories
from tests.mail.imap_peer import PASSWORD, USER, CuttingRelay, ImapServer, imap_server
from tests.servers import free_port

NO_RETRY = Backoff(attempts=1)


def raw_message(
    *, sender: str, name: str, subject: str, body: str, charset: str, encoding: str, message_id: str | None
) -> bytes:
    """A message as a mail client writes it: the display name and subject as MIME encoded-words in ``charset``, the
    body in ``charset`` with the transfer ``encoding`` (7bit, base64 or quoted-printable)."""
    data = body.encode(charset)
    if encoding == "base64":
        payload = base64.encodebytes(data)
    elif encoding == "quoted-printable":
        payload = quopri.encodestring(data)
    else:
        payload = data
    headers = [
        f"From: {Header(name, charset).encode()} <{sender}>",
        "To: support@kizuna.example",
        f"Subject: {Header(subject, charset).encode()}",
        "Date: Tue, 01 Dec 2026 19:30:00 +0900",
        *([f"Message-ID: {message_id}"] if message_id else []),
        "MIME-Version: 1.0",
        f'Content-Type: text/plain; charset="{charset}"',
        f"Content-Transfer-Encoding: {encoding}",
    ]
    return ("\r\n".join(headers) + "\r\n\r\n").encode("ascii") + payload.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


JIS = raw_message(
    sender="yamada@sakura.example", name="山田 太郎", subject="レポート機能について", charset="iso-2022-jp",
    encoding="7bit", message_id="<a1@sakura.example>",
    body="いつもお世話になっております。\n新しいレポート機能が使いにくく、現場が困っています。\n\n--\n山田\n",
)  # fmt: skip
SJIS = raw_message(
    sender="suzuki@momiji.example", name="鈴木 花子", subject="請求書の件", charset="shift_jis",
    encoding="base64", message_id="<b2@momiji.example>", body="料金が高すぎると感じています。\n",
)  # fmt: skip
UTF8 = raw_message(
    sender="yamada@sakura.example", name="山田 太郎", subject="御礼 ― 研修", charset="utf-8",
    encoding="quoted-printable", message_id="<c3@sakura.example>", body="研修はとても分かりやすかったです。①②\n",
)  # fmt: skip
STRANGER = raw_message(
    sender="someone@gmail.com", name="Someone", subject="Hello", charset="utf-8", encoding="7bit",
    message_id="<d4@gmail.com>", body="Who are you?\n",
)  # fmt: skip


def address(server: ImapServer | int, **kw: object) -> MailboxAddress:
    port = server if isinstance(server, int) else server.port
    return MailboxAddress(host="127.0.0.1", port=port, user=USER, password=PASSWORD, security="none", **kw)  # type: ignore[arg-type]


def customers(hub: Runtime) -> tuple[int, int]:
    with hub.transaction(write=True) as session:
        sakura = factories.account(session, name="株式会社さくら")
        factories.contact(session, sakura, email="yamada@sakura.example")
        momiji = factories.account(session, name="もみじ株式会社")
        factories.contact(session, momiji, email="info@momiji.example")
        return sakura.id, momiji.id


def activities(hub: Runtime) -> list[tuple[int, str, str | None]]:
    with hub.transaction() as session:
        rows = session.execute(
            select(m.Activity.account_id, m.Activity.subject, m.Activity.external_id).order_by(m.Activity.id)
        )
        return [(r.account_id, r.subject, r.external_id) for r in rows]


def test_pull_reads_japanese_mail_once_by_uid_and_marks_nothing_read(hub: Runtime, imap: ImapServer) -> None:
    sakura, momiji = customers(hub)
    imap.deliver(JIS, SJIS, UTF8, STRANGER, JIS)  # the last: the same message delivered twice
    run = jobs.pull(hub, address=address(imap), actor="test", batch_size=2, backoff=NO_RETRY, analyse=False)
    assert run.status == "partial"  # one sender matches no account
    assert run.counts == {"read": 5, "created": 3, "voc_entries": 3, "duplicates": 1, "rejected": 1}
    assert run.rejects[0]["value"] == "someone@gmail.com" and run.rejects[0]["record"] == "INBOX UID 104"
    assert [(a, s) for a, s, _ in activities(hub)] == [
        (sakura, "レポート機能について"),  # ISO-2022-JP, 7bit
        (momiji, "請求書の件"),  # Shift_JIS, base64; matched by the domain
        (sakura, "御礼 ― 研修"),  # UTF-8, quoted-printable
    ]
    with hub.transaction() as session:
        words = session.scalars(select(m.VocEntry.text).order_by(m.VocEntry.id)).all()
        cursor = session.scalar(select(m.SyncCursor.position).where(m.SyncCursor.vendor == "mail"))
    assert words == [
        "いつもお世話になっております。\n新しいレポート機能が使いにくく、現場が困っています。",
        "料金が高すぎると感じています。",
        "研修はとても分かりやすかったです。①②",
    ]
    assert cursor is not None and cursor.endswith(":105")
    assert not any(b"\\Seen" in flags for flags in imap.seen())  # read with BODY.PEEK: the team still sees them new

    again = jobs.pull(hub, address=address(imap), actor="test", backoff=NO_RETRY, analyse=False)
    assert again.status == "succeeded" and again.counts == {}  # nothing after the cursor
    imap.deliver(
        raw_message(sender="info@momiji.example", name="情報", subject="追加の質問", charset="iso-2022-jp",
                    encoding="base64", message_id="<e5@momiji.example>", body="追加で質問があります。\n")
    )  # fmt: skip
    third = jobs.pull(hub, address=address(imap), actor="test", backoff=NO_RETRY, analyse=False)
    assert third.counts == {"read": 1, "created": 1, "voc_entries": 1}
    assert [s for _, s, _ in activities(hub)][-1] == "追加の質問"


def test_a_new_uidvalidity_reads_the_mailbox_again_and_records_nothing_twice(hub: Runtime, imap: ImapServer) -> None:
    customers(hub)
    imap.deliver(JIS, SJIS, mailbox="Customers")
    box = address(imap, mailbox="Customers")
    first = jobs.pull(hub, address=box, actor="test", backoff=NO_RETRY, analyse=False)
    assert first.counts["created"] == 2
    with hub.transaction() as session:
        before = session.scalar(select(m.SyncCursor.position).where(m.SyncCursor.stream == jobs.stream_of(box)))

    imap.recreate("Customers")  # the mailbox re-created: a new UIDVALIDITY, UIDs from the start
    imap.deliver(SJIS, JIS, UTF8, mailbox="Customers")
    second = jobs.pull(hub, address=box, actor="test", backoff=NO_RETRY, analyse=False)
    with hub.transaction() as session:
        after = session.scalar(select(m.SyncCursor.position).where(m.SyncCursor.stream == jobs.stream_of(box)))
    assert before is not None and after is not None and before.split(":")[0] != after.split(":")[0]
    assert second.counts == {"uidvalidity_resets": 1, "read": 3, "duplicates": 2, "created": 1, "voc_entries": 1}
    assert sorted(s for _, s, _ in activities(hub)) == sorted(["レポート機能について", "請求書の件", "御礼 ― 研修"])


def test_a_connection_cut_mid_pull_keeps_whole_batches_and_the_next_pull_completes_exactly_once(
    hub: Runtime, imap: ImapServer
) -> None:
    sakura, _ = customers(hub)
    long_words = "現場からの要望です。" * 1500 + "\n"  # ~45 KB a message in ISO-2022-JP
    messages = [
        raw_message(sender="yamada@sakura.example", name="山田", subject=f"要望 {i}", charset="iso-2022-jp",
                    encoding="base64", message_id=f"<long{i}@sakura.example>", body=long_words)
        for i in range(5)
    ]  # fmt: skip
    imap.deliver(*messages)
    size = len(messages[0])
    relay = CuttingRelay(imap.port, cut_after=int(size * 2.5))  # mid-way through the second batch's fetch
    try:
        with pytest.raises(ExternalServiceError, match="connection dropped fetching messages"):
            jobs.pull(hub, address=address(relay.port), actor="test", batch_size=2, backoff=NO_RETRY, analyse=False)
    finally:
        relay.close()
    with hub.transaction() as session:
        failed = session.scalar(select(ConnectorRun).order_by(ConnectorRun.id.desc()))
        assert failed is not None and failed.status == "failed" and failed.counts["created"] == 2
    assert [s for _, s, _ in activities(hub)] == ["要望 0", "要望 1"]  # the first batch, whole; nothing of the second

    resumed = jobs.pull(hub, address=address(imap), actor="test", batch_size=2, backoff=NO_RETRY, analyse=False)
    assert resumed.counts == {"read": 3, "created": 3, "voc_entries": 3}  # from the cursor on: no message twice
    rows = activities(hub)
    assert [s for _, s, _ in rows] == [f"要望 {i}" for i in range(5)] and {a for a, _, _ in rows} == {sakura}
    with hub.transaction() as session:
        assert session.scalar(select(func.count()).select_from(m.VocEntry)) == 5


def test_a_refused_login_fails_the_run_at_once_with_a_clear_error(hub: Runtime, imap: ImapServer) -> None:
    wrong = MailboxAddress(host="127.0.0.1", port=imap.port, user=USER, password="not-the-password", security="none")
    with pytest.raises(ExternalServiceError, match=r"refused the login of 'support@kizuna.example'") as refused:
        jobs.pull(hub, address=wrong, actor="test", backoff=Backoff(attempts=3, base_seconds=5.0), analyse=False)
    assert "not-the-password" not in str(refused.value) and "not-the-password" not in repr(wrong)
    with hub.transaction() as session:
        run = session.scalar(select(ConnectorRun))
        assert run is not None and run.status == "failed" and "refused the login" in (run.error or "")
        assert "retries" not in run.counts  # a refused login is not tried again (it could lock the account)


def test_a_server_that_is_down_is_tried_again_with_back_off(hub: Runtime, tmp_path: Path) -> None:
    port = free_port()
    with pytest.raises(ExternalServiceError, match=r"cannot reach the IMAP server \(support@kizuna.example@127"):
        jobs.pull(hub, address=address(port), actor="test", backoff=Backoff(attempts=3, base_seconds=0.05))
    with hub.transaction() as session:
        down = session.scalar(select(ConnectorRun))
        assert down is not None and down.status == "failed" and down.counts == {"retries": 2}

    server = ImapServer(tmp_path / "late", port=port)
    starter = threading.Timer(0.5, server.start)  # the server comes back while the pull waits
    starter.start()
    try:
        run = jobs.pull(hub, address=address(port), actor="test", backoff=Backoff(attempts=8, base_seconds=0.2))
        assert run.status == "succeeded" and run.counts["retries"] >= 1
    finally:
        starter.join()
        server.stop()


def _certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (its own authority) and its key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(__import__("ipaddress").ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def test_starttls_checks_the_servers_certificate(hub: Runtime, tmp_path: Path) -> None:
    customers(hub)
    cert, key = _certificate(tmp_path / "tls")
    with imap_server(tmp_path / "imap-tls", cert=cert, key=key) as server:
        server.deliver(SJIS)
        untrusted = MailboxAddress(
            host="127.0.0.1", port=server.port, user=USER, password=PASSWORD, security="starttls"
        )
        with pytest.raises(ExternalServiceError, match="certificate is not trusted"):
            jobs.pull(hub, address=untrusted, actor="test", backoff=Backoff(attempts=3, base_seconds=5.0))
        trusted = MailboxAddress(
            host="127.0.0.1", port=server.port, user=USER, password=PASSWORD, security="starttls", ca_file=str(cert)
        )
        run = jobs.pull(hub, address=trusted, actor="test", analyse=False)
        assert run.counts == {"read": 1, "created": 1, "voc_entries": 1}


def test_the_scheduler_pulls_the_connected_mailbox_when_due(hub: Runtime, imap: ImapServer) -> None:
    customers(hub)
    now = dt.datetime.now(dt.UTC)
    assert jobs.pull_due(hub, now=now) is None  # not connected
    credentials.save(
        hub.settings, "mail",
        {"host": "127.0.0.1", "port": str(imap.port), "user": USER, "password": PASSWORD, "security": "none"},
    )  # fmt: skip
    imap.deliver(JIS)
    assert jobs.pull_due(hub, now=now) == "succeeded"
    assert jobs.pull_due(hub, now=now) is None  # pulled a moment ago
    later = now + dt.timedelta(minutes=hub.settings.connector_sync_minutes + 1)
    imap.deliver(UTF8)
    assert jobs.pull_due(hub, now=later) == "succeeded"
    assert [s for _, s, _ in activities(hub)] == ["レポート機能について", "御礼 ― 研修"]


def test_kizuna_connect_mail_checks_the_login_and_never_prints_the_password(imap: ImapServer, tmp_path: Path) -> None:
    app, data = build_app(), str(tmp_path / "data")
    assert CliRunner().invoke(app, ["--data-dir", data, "init"]).exit_code == 0
    base = ["--data-dir", data, "connect", "mail", "--host", "127.0.0.1", "--port", str(imap.port), "--user", USER,
            "--security", "none"]  # fmt: skip
    refused = CliRunner().invoke(app, [*base, "--password", "wrong-password-123"])
    assert refused.exit_code != 0 and "refused the login" in refused.output and "nothing saved" in refused.output
    assert "wrong-password-123" not in refused.output
    assert not (tmp_path / "data" / "connectors" / "mail.json").exists()

    done = CliRunner().invoke(app, base, input=f"{PASSWORD}\n")  # asked for, not echoed
    assert done.exit_code == 0, done.output
    assert "INBOX opened" in done.output and PASSWORD not in done.output and "…0123" in done.output
    saved = tmp_path / "data" / "connectors" / "mail.json"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600

    imap.deliver(STRANGER)
    pulled = CliRunner().invoke(app, ["--data-dir", data, "mail", "pull"])
    assert pulled.exit_code == 0, pulled.output
    assert (
        "mail pull partial" in pulled.output and "rejected=1" in pulled.output and "someone@gmail.com" in pulled.output
    )
    assert PASSWORD not in pulled.output


def test_imaps_speaks_tls_from_the_first_byte(hub: Runtime, imap: ImapServer, tmp_path: Path) -> None:
    import ssl

    customers(hub)
    cert, key = _certificate(tmp_path / "tls")
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    relay = CuttingRelay(imap.port, tls=tls)  # TLS in front of the server, as on port 993
    try:
        imap.deliver(UTF8)
        box = MailboxAddress(host="127.0.0.1", port=relay.port, user=USER, password=PASSWORD, security="ssl")
        with pytest.raises(ExternalServiceError, match="certificate is not trusted"):
            jobs.pull(hub, address=box, actor="test", backoff=NO_RETRY)
        trusted = MailboxAddress(
            host="127.0.0.1", port=relay.port, user=USER, password=PASSWORD, security="ssl", ca_file=str(cert)
        )
        run = jobs.pull(hub, address=trusted, actor="test", analyse=False)
        assert run.counts == {"read": 1, "created": 1, "voc_entries": 1}
    finally:
        relay.close()
