"""Reading customers' e-mails into the account's timeline (an activity) and the voice of the customer (a VoC entry).

Each message is matched to an account by its sender: a contact with that address first, else the one account whose
contacts use the sender's domain (a public webmail domain or a domain shared by several accounts matches nothing);
messages that match no account are counted and listed as rejects of the run. A message is read once: its
``Message-ID`` (or, without one, a hash of its sender, date and subject) is the activity's and the entry's
``external_id`` and is recorded in ``connector_events`` with them, so reading the same mailbox again adds nothing.

The text kept is the customer's own words: the quoted reply (``>`` lines, and everything from an "On … wrote:" /
「…のメール:」 / ``-----Original Message-----`` line on) and the signature (from ``-- `` or a rule of dashes,
underscores or ＝ on) are cut. Python's e-mail parser decodes MIME encoded-words and the body's charset (ISO-2022-JP,
Shift_JIS, UTF-8, ...); a message whose charset Python does not know is decoded leniently and never lost.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import hashlib
import mailbox
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kizuna.accounts.models import Contact
from kizuna.activities.service import log_activity
from kizuna.connectors import service as connectors
from kizuna.connectors.service import RunLog
from kizuna.db import utcnow
from kizuna.errors import InvalidInput
from kizuna.voc.models import VocChannel, VocEntry

VENDOR = "mail"

#: webmail domains: a sender there says nothing about their company
PUBLIC_DOMAINS = frozenset(
    {"gmail.com", "googlemail.com", "yahoo.co.jp", "yahoo.com", "outlook.com", "outlook.jp", "hotmail.com",
     "hotmail.co.jp", "icloud.com", "me.com", "docomo.ne.jp", "ezweb.ne.jp", "softbank.ne.jp", "au.com"}
)  # fmt: skip

_QUOTE_HEAD = re.compile(
    r"^(On .{1,200} wrote:|-{2,}\s*Original Message\s*-{2,}|-{2,}\s*元のメッセージ\s*-{2,}|"
    r".{1,200}(のメール|より)[:：]|From: .+|差出人[:：].+)\s*$"
)
_SIGNATURE = re.compile(r"^(-- ?|[-_=＝＿ー━─*＊]{4,}.*)$")


@dataclass(frozen=True)
class ReadMessage:
    """One message as read: who sent it, when, its subject and the customer's own words."""

    key: str
    sender: str
    occurred_at: dt.datetime
    subject: str
    words: str


def customer_words(body: str) -> str:
    """The text without the quoted reply and the signature, blank lines at its ends trimmed."""
    kept: list[str] = []
    for line in body.replace("\r\n", "\n").split("\n"):
        stripped = line.strip()
        if _QUOTE_HEAD.match(stripped) or _SIGNATURE.match(line.rstrip()):
            break
        if stripped.startswith((">", "＞")):
            continue
        kept.append(line.rstrip())
    return "\n".join(kept).strip()


def _body_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        text = part.get_content()
    except (LookupError, UnicodeError):  # a charset Python does not know: lenient, nothing lost
        raw = part.get_payload(decode=True)
        text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(raw)
    if part.get_content_subtype() == "html":
        text = re.sub(r"<[^>]+>", " ", re.sub(r"<br\s*/?>|</p>", "\n", text, flags=re.I))
    return str(text)


def read_message(raw: bytes, *, source: str) -> ReadMessage:
    """Parse one message's bytes; InvalidInput naming ``source`` when it has no sender."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    header = message.get("From")
    addresses = getattr(header, "addresses", None)  # the parsed header: display names decoded apart from addresses
    found = [a.addr_spec for a in addresses] if addresses else [a for _, a in getaddresses([str(header or "")])]
    senders = [addr for addr in found if "@" in addr]
    if not senders:
        raise InvalidInput(f"{source}: the message has no sender address (From: {message.get('From')!r})")
    subject = str(message.get("Subject", "") or "").strip()
    try:
        occurred_at = parsedate_to_datetime(str(message["Date"]))
        if occurred_at.tzinfo is None:
            occurred_at = occurred_at.replace(tzinfo=dt.UTC)
        occurred_at = occurred_at.astimezone(dt.UTC)
    except (TypeError, ValueError):
        occurred_at = utcnow()
    message_id = str(message.get("Message-ID", "") or "").strip()
    key = message_id or "sha256:" + hashlib.sha256(f"{senders[0]}|{message['Date']}|{subject}".encode()).hexdigest()
    return ReadMessage(
        key=key[:128],
        sender=senders[0].lower(),
        occurred_at=occurred_at,
        subject=subject,
        words=customer_words(_body_text(message)),
    )


def messages_in(path: Path) -> Iterator[tuple[str, bytes]]:
    """(where, bytes) of each message in a .eml file, an .mbox file or a folder of them (in name order)."""
    if path.is_dir():
        for child in sorted(path.iterdir()):
            if child.suffix.lower() in (".eml", ".mbox"):
                yield from messages_in(child)
        return
    if not path.exists():
        raise InvalidInput(f"{path}: no such file or folder", file=str(path))
    if path.suffix.lower() == ".mbox":
        box = mailbox.mbox(path, create=False)
        try:
            for i, key in enumerate(box.keys(), start=1):
                yield f"{path}#{i}", box.get_bytes(key)
        finally:
            box.close()
        return
    yield str(path), path.read_bytes()


def match_account(session: Session, sender: str) -> tuple[int, int | None] | None:
    """(account id, contact id) of the sender: a contact with this address, else the only account with contacts at
    its domain (not a webmail domain); None when nothing or several accounts match."""
    row = session.execute(
        select(Contact.account_id, Contact.id).where(func.lower(Contact.email) == sender).order_by(Contact.id)
    ).first()
    if row is not None:
        return int(row.account_id), int(row.id)
    domain = sender.rpartition("@")[2]
    if not domain or domain in PUBLIC_DOMAINS:
        return None
    accounts = session.scalars(
        select(Contact.account_id).where(func.lower(Contact.email).like(f"%@{domain}")).distinct().limit(2)
    ).all()
    return (int(accounts[0]), None) if len(accounts) == 1 else None


def import_message(session: Session, message: ReadMessage, *, actor: str, log: RunLog, where: str) -> str:
    """Read one message into an activity and a VoC entry, once; returns created, duplicate or rejected."""
    matched = match_account(session, message.sender)
    if matched is None:
        log.reject(where, "From", message.sender, "no contact with this address and no one account at its domain")
        return "rejected"
    if not connectors.receive_once(
        session, vendor=VENDOR, event_id=message.key, event_type="message", occurred_at=message.occurred_at
    ):
        log.count("duplicates")
        return "duplicate"
    account_id, contact_id = matched
    log_activity(
        session,
        actor=actor,
        account_id=account_id,
        kind="email",
        subject=message.subject or "(no subject)",
        body=message.words,
        occurred_at=message.occurred_at,
        contact_id=contact_id,
        external_id=f"mail:{message.key}"[:128],
    )
    if message.words:
        session.add(
            VocEntry(
                external_id=f"mail:{message.key}"[:128],
                account_id=account_id,
                contact_id=contact_id,
                channel=VocChannel.email,
                text=message.words,
                language="ja" if re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", message.words) else "en",
                author=message.sender[:200],
                recorded_at=message.occurred_at,
            )
        )
        session.flush()
        log.count("voc_entries")
    log.count("created")
    return "created"


def import_mail(session: Session, path: Path, *, actor: str) -> tuple[int, RunLog]:
    """Read every message of ``path`` (.eml, .mbox or a folder) in one run of the run log; returns (run id, log).
    A message that cannot be read or matched is a reject naming its file (and its place in an mbox)."""
    run = connectors.start_run(session, vendor=VENDOR, kind="import")
    log = RunLog()
    for where, raw in messages_in(path):
        log.count("read")
        try:
            message = read_message(raw, source=where)
        except InvalidInput as exc:
            log.reject(where, "From", None, str(exc))
            continue
        import_message(session, message, actor=actor, log=log, where=where)
    connectors.finish_run(session, run, log, actor=actor)
    return run.id, log
