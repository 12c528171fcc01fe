"""Queue and deliver outbound messages: emails (SMTP, or the outbox directory) and webhooks (Slack or any URL).

Writes only queue: :func:`queue_email` and :func:`queue_webhook` add a ``queued`` row to ``outbound_messages`` inside
the caller's transaction. :func:`deliver_queued` runs after that transaction has committed (the outbox pattern): it
claims the due messages a batch at a time, sends each and records its result as it goes. The idempotency key is
unique, so queueing the same message twice sends it once.

Exactly one send per key while workers race, peers are slow and the database is busy:

- a batch of messages is claimed just before they are sent, and the lease of every message of it not yet recorded
  is renewed while they are sent (:class:`LeaseKeeper`), so a slow peer never lets a lease run out and another
  worker take a message (a round of 300 webhooks that outlasted one lease for the whole batch used to be re-claimed
  and sent twice: 388 POSTs); a message whose lease was lost all the same is not sent;
- the result is written only while the claim holds (:func:`kizuna.platform.queue.fence`), and a write that finds
  the database locked waits and tries again (:func:`kizuna.db.run_write`) instead of leaving the message claimed for
  another worker to send again when the lease ends.

Only a crash between "sent" and "recorded" can still send twice: the email's ``Message-ID`` and the webhook's
``Idempotency-Key`` header are derived from the key so that a peer can drop that copy.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import smtplib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formataddr
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, null, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from kizuna.db import run_write, utcnow
from kizuna.errors import ConfigurationError, ExternalServiceError, InvalidInput
from kizuna.platform.outbox.models import MessageChannel, MessageStatus, OutboundMessage
from kizuna.platform.queue import LeaseKeeper, claim, fence, worker_name
from kizuna.settings import Settings

log = logging.getLogger(__name__)

TEMPLATES_DIR = Path(__file__).parent / "templates"
LANGUAGES = ("ja", "en")


@lru_cache(maxsize=1)
def _environment() -> Any:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    return Environment(
        loader=FileSystemLoader(TEMPLATES_DIR), undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True
    )


def email_templates() -> list[str]:
    """Names of the email templates shipped in ``notify/templates`` (each has a ``.ja.txt`` and ``.en.txt``)."""
    return sorted({p.name.split(".")[0] for p in TEMPLATES_DIR.glob("*.txt")})


def render_email(template: str, *, language: str, context: dict[str, Any]) -> tuple[str, str]:
    """Render ``templates/<template>.<language>.txt``; its first line is ``Subject: ...``. Returns (subject, body)."""
    from jinja2 import TemplateNotFound

    lang = language if language in LANGUAGES else "ja"
    try:
        text = _environment().get_template(f"{template}.{lang}.txt").render(**context)
    except TemplateNotFound as exc:
        raise InvalidInput(
            f"no email template {template!r} in {lang}; have: {', '.join(email_templates())}", template=template
        ) from exc
    first, _, body = text.partition("\n")
    if not first.startswith("Subject:"):
        raise ConfigurationError(f"email template {template}.{lang}.txt must start with 'Subject: '")
    return first.removeprefix("Subject:").strip(), body.lstrip("\n")


def _queue(session: Session, message: OutboundMessage) -> tuple[OutboundMessage, bool]:
    existing = session.scalars(
        select(OutboundMessage).where(OutboundMessage.idempotency_key == message.idempotency_key)
    ).first()
    if existing is not None:
        return existing, False
    session.add(message)
    session.flush()
    return message, True


def queue_email(
    session: Session,
    *,
    idempotency_key: str,
    to: str,
    subject: str,
    body: str,
    account_id: int | None = None,
    contact_id: int | None = None,
    source: str | None = None,
) -> tuple[OutboundMessage, bool]:
    """Queue one email; returns ``(message, created)`` -- ``created`` is False if the key was queued before."""
    if "@" not in to:
        raise InvalidInput(f"not an email address: {to!r}", value=to)
    return _queue(
        session,
        OutboundMessage(
            idempotency_key=idempotency_key,
            channel=MessageChannel.email,
            recipient=to,
            subject=subject[:500],
            body=body,
            account_id=account_id,
            contact_id=contact_id,
            source=source,
            status=MessageStatus.queued,
            next_attempt_at=utcnow(),
        ),
    )


def queue_webhook(
    session: Session,
    *,
    idempotency_key: str,
    url: str,
    payload: dict[str, Any],
    account_id: int | None = None,
    source: str | None = None,
) -> tuple[OutboundMessage, bool]:
    """Queue one webhook call (a JSON POST); Slack incoming webhooks take ``{"text": ...}``."""
    if not url.startswith(("http://", "https://")):
        raise InvalidInput(f"webhook URL must be http(s): {url!r}", value=url)
    return _queue(
        session,
        OutboundMessage(
            idempotency_key=idempotency_key,
            channel=MessageChannel.webhook,
            recipient=url,
            payload=payload,
            account_id=account_id,
            source=source,
            status=MessageStatus.queued,
            next_attempt_at=utcnow(),
        ),
    )


def queue_message(
    session: Session,
    *,
    channel: MessageChannel,
    idempotency_key: str,
    recipient: str,
    payload: dict[str, Any],
    account_id: int | None = None,
    source: str | None = None,
) -> tuple[OutboundMessage, bool]:
    """Queue one message for a channel whose sender the caller of :func:`deliver_queued` gives (``senders``)."""
    return _queue(
        session,
        OutboundMessage(
            idempotency_key=idempotency_key,
            channel=channel,
            recipient=recipient,
            payload=payload,
            account_id=account_id,
            source=source,
            status=MessageStatus.queued,
            next_attempt_at=utcnow(),
        ),
    )


#: sends one message of a channel the outbox itself does not speak (Slack's Web API); raises ExternalServiceError
Sender = Callable[[OutboundMessage], None]


@dataclass
class DeliveryPolicy:
    """How hard to try. Webhooks retry in-line ``inline_retries`` times with exponential back-off from
    ``backoff_seconds``; a message that still fails is queued again after ``requeue_seconds * 2**attempts``."""

    inline_retries: int = 3
    backoff_seconds: float = 0.5
    requeue_seconds: float = 60.0
    timeout_seconds: float = 10.0
    lease: dt.timedelta = dt.timedelta(minutes=5)
    #: seconds a write that finds the database busy is tried again (the send has happened: it must be recorded)
    patience: float = 300.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)


@dataclass
class DeliveryReport:
    sent: int = 0
    outbox: int = 0
    retrying: int = 0
    failed: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"sent": self.sent, "outbox": self.outbox, "retrying": self.retrying, "failed": self.failed}

    def count(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)


def message_id(key: str) -> str:
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@kizuna>"


def _build_email(message: OutboundMessage, settings: Settings) -> EmailMessage:
    email = EmailMessage()
    email["From"] = formataddr(("kizuna", settings.mail_from)) if "<" not in settings.mail_from else settings.mail_from
    email["To"] = message.recipient
    email["Subject"] = message.subject or ""
    email["Message-ID"] = message_id(message.idempotency_key)
    email["X-Kizuna-Idempotency-Key"] = message.idempotency_key
    email.set_content(message.body or "", charset="utf-8")
    return email


class _Mailer:
    """One SMTP connection for a whole delivery round (opened on the first email, reopened after an error)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.smtp: smtplib.SMTP | None = None

    def send(self, message: OutboundMessage) -> str | None:
        """Send through SMTP; without an SMTP host, write an .eml file to the outbox and return its path."""
        settings = self.settings
        email = _build_email(message, settings)
        if not settings.smtp_host:
            settings.outbox_dir.mkdir(parents=True, exist_ok=True)
            digest = hashlib.sha256(message.idempotency_key.encode()).hexdigest()[:12]
            path = settings.outbox_dir / f"{message.id:08d}-{digest}.eml"
            path.write_bytes(bytes(email))
            return str(path)
        try:
            if self.smtp is None:
                self.smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30)
                if settings.smtp_starttls:
                    self.smtp.starttls()
                if settings.smtp_user:
                    self.smtp.login(settings.smtp_user, settings.smtp_password or "")
            self.smtp.send_message(email)
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            raise ExternalServiceError(f"SMTP {settings.smtp_host}:{settings.smtp_port} failed: {exc}") from exc
        return None

    def close(self) -> None:
        if self.smtp is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                self.smtp.quit()
            self.smtp = None


class _WebClient:
    """One HTTP client for a whole delivery round, made on the first webhook (a client loads the TLS trust store:
    a tenth of a round of e-mails' CPU, for nothing)."""

    def __init__(self) -> None:
        self.client: Any = None

    def post(self, url: str, **kwargs: Any) -> Any:
        if self.client is None:
            import httpx

            self.client = httpx.Client()
        return self.client.post(url, **kwargs)

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None


def _post_webhook(message: OutboundMessage, policy: DeliveryPolicy, client: Any) -> None:
    import httpx

    headers = {"Idempotency-Key": message.idempotency_key, "User-Agent": "kizuna"}
    last = ""
    for attempt in range(policy.inline_retries + 1):
        if attempt:
            policy.sleep(policy.backoff_seconds * 2 ** (attempt - 1))
        try:
            response = client.post(
                message.recipient, json=message.payload or {}, headers=headers, timeout=policy.timeout_seconds
            )
        except httpx.HTTPError as exc:
            last = f"{type(exc).__name__}: {exc}"
            continue
        if response.is_success:
            return
        last = f"HTTP {response.status_code}: {response.text[:200]}"
        if 400 <= response.status_code < 500 and response.status_code not in (408, 429):
            break  # the peer refuses this request; repeating it will not help
    raise ExternalServiceError(f"webhook {message.recipient} failed: {last}")


#: messages claimed in one transaction; each is then sent and its result recorded on its own, as before
DELIVERY_BATCH = 20


def deliver_queued(
    sessions: sessionmaker[Session],
    *,
    settings: Settings,
    limit: int = 100,
    now: dt.datetime | None = None,
    policy: DeliveryPolicy | None = None,
    worker: str | None = None,
    senders: Mapping[str, Sender] | None = None,
) -> DeliveryReport:
    """Send up to ``limit`` queued messages that are due: claim a batch of them (committed), then send each while
    the lease of every message of the batch not yet recorded is kept, and record its result under its claim's
    fencing token (committed, one message at a time: a crash sends at most the message being sent twice). A
    webhook URL or SMTP server that fails is not tried again in the same round; its other messages stay queued,
    their attempts untouched (a claimed one is handed back). ``senders``: by channel, how to send the channels of
    domains above the platform (Slack); a message of a channel without one fails its attempt and is tried again
    later.

    One claim per batch, not per message: the claim was 40 % of a delivery round's CPU."""
    policy = policy or DeliveryPolicy()
    worker = worker or worker_name()
    report = DeliveryReport()
    down: set[str] = set()  # webhook URLs that failed this round
    mailer = _Mailer(settings)
    client = _WebClient()
    keeper = LeaseKeeper(
        sessions,
        OutboundMessage,
        worker=worker,
        claimed_status=MessageStatus.sending,
        lease=policy.lease,
        now=now or utcnow(),
        patience=policy.patience,
    )
    with keeper:
        try:
            left = limit
            while left > 0:
                claim_batch = partial(_claim_batch, keeper=keeper, down=down, limit=min(left, DELIVERY_BATCH))
                batch = run_write(sessions, claim_batch, patience=policy.patience)
                if not batch:
                    break
                left -= len(batch)
                with keeper.holding_all({message.id: token for message, token in batch}):
                    left += _deliver_batch(
                        sessions,
                        batch,
                        keeper=keeper,
                        down=down,
                        mailer=mailer,
                        client=client,
                        policy=policy,
                        senders=senders or {},
                        report=report,
                    )
        finally:
            mailer.close()
            client.close()
    return report


def _deliver_batch(
    sessions: sessionmaker[Session],
    batch: list[tuple[OutboundMessage, int]],
    *,
    keeper: LeaseKeeper,
    down: set[str],
    mailer: _Mailer,
    client: Any,
    policy: DeliveryPolicy,
    senders: Mapping[str, Sender],
    report: DeliveryReport,
) -> int:
    """Send a claimed batch in claim order, recording each result as it comes; hand back the messages whose
    destination failed earlier in the round without sending them (and send none whose lease was lost). Returns how
    many were handed back: they do not count against the round's limit, as the claim of one message at a time
    never took them."""
    handed_back: list[tuple[OutboundMessage, int]] = []
    for message, token in batch:
        if _destination(message) in down:
            handed_back.append((message, token))
            continue
        if message.id in keeper.lost:  # another worker may hold it now: not ours to send
            log.warning("message %s: its lease was lost before it was sent; not sent here", message.id)
            keeper.let_go(message.id)
            continue
        error, outbox_path = _send(message, mailer=mailer, client=client, policy=policy, senders=senders)
        if error is not None:
            down.add(_destination(message))
        record = partial(
            _record_result,
            message=message,
            token=token,
            worker=keeper.worker,
            error=error,
            outbox_path=outbox_path,
            policy=policy,
        )
        recorded = run_write(sessions, record, patience=policy.patience)
        keeper.let_go(message.id)
        if recorded is None:
            log.error("message %s: its claim was taken over while it was sent; not recorded", message.id)
        else:
            report.count(recorded)
    if handed_back:
        run_write(sessions, partial(_hand_back, batch=handed_back, worker=keeper.worker), patience=policy.patience)
    return len(handed_back)


def _destination(message: OutboundMessage) -> str:
    """What a failure puts out of this round: the SMTP server for e-mails, else the message's recipient."""
    return "smtp" if message.channel == MessageChannel.email else message.recipient


def _claim_batch(
    session: Session, *, keeper: LeaseKeeper, down: set[str], limit: int
) -> list[tuple[OutboundMessage, int]]:
    """Claim up to ``limit`` due messages, earliest first (skipping URLs and SMTP that failed this round); returns
    them with their tokens, in claim order."""
    skip: list[ColumnElement[bool]] = [OutboundMessage.recipient.not_in(sorted(down))] if down else []
    if "smtp" in down:
        skip.append(OutboundMessage.channel != MessageChannel.email)
    claimed = claim(
        session,
        OutboundMessage,
        ready_status=MessageStatus.queued,
        claimed_status=MessageStatus.sending,
        due_column=OutboundMessage.next_attempt_at,
        worker=keeper.worker,
        now=keeper.now(),
        lease=keeper.lease,
        limit=limit,
        where=and_(*skip) if skip else None,
    )
    if not claimed:
        return []
    messages = session.scalars(
        select(OutboundMessage).where(OutboundMessage.id.in_(sorted(claimed))).execution_options(populate_existing=True)
    ).all()
    # the earliest due first
    order = sorted(messages, key=lambda m: (m.next_attempt_at, m.id))
    return [(message, claimed[message.id]) for message in order]


def _hand_back(session: Session, *, batch: list[tuple[OutboundMessage, int]], worker: str) -> None:
    """Undo the claims of messages not sent (their destination failed this round): queued again, the claim's
    attempt given back, so another's failure uses none of their attempts."""
    for message, token in batch:
        session.execute(
            update(OutboundMessage)
            .where(fence(OutboundMessage, message.id, worker=worker, token=token, claimed_status=MessageStatus.sending))
            .values(
                status=MessageStatus.queued,
                lease_owner=None,
                lease_until=None,
                attempts=OutboundMessage.attempts - 1,
            )
            .execution_options(synchronize_session=False)
        )


def _send(
    message: OutboundMessage, *, mailer: _Mailer, client: Any, policy: DeliveryPolicy, senders: Mapping[str, Sender]
) -> tuple[str | None, str | None]:
    """Send one claimed message, outside any transaction; returns (error, outbox path)."""
    try:
        if message.channel == MessageChannel.email:
            return None, mailer.send(message)
        if message.channel == MessageChannel.webhook:
            _post_webhook(message, policy, client)
        elif message.channel in senders:
            senders[message.channel](message)
        else:
            return f"no sender for {message.channel} messages in this process", None
    except ExternalServiceError as exc:
        return str(exc), None
    return None, None


#: the outbound-message table, for Core writes
OUTBOUND_MESSAGES: Table = OutboundMessage.__table__  # type: ignore[assignment]


def _record_result(
    session: Session,
    *,
    message: OutboundMessage,
    token: int,
    worker: str,
    error: str | None,
    outbox_path: str | None,
    policy: DeliveryPolicy,
) -> str | None:
    """Write a send's result while the claim ``token`` holds; returns the report's word for it, None if the claim was
    lost (nothing written)."""
    values: dict[str, Any] = {"lease_owner": None, "lease_until": None}
    if error is None:
        outcome = "outbox" if outbox_path else "sent"
        values |= {
            "status": MessageStatus.outbox if outbox_path else MessageStatus.sent,
            "outbox_path": outbox_path,
            "sent_at": utcnow(),
            "last_error": None,
        }
    elif token >= message.max_attempts:
        outcome = "failed"
        values |= {"status": MessageStatus.failed, "last_error": error}
    else:
        outcome = "retrying"
        values |= {
            "status": MessageStatus.queued,
            "last_error": error,
            "next_attempt_at": utcnow() + dt.timedelta(seconds=policy.requeue_seconds * 2 ** (token - 1)),
        }
    # a Core update of the table (the ORM's bulk-update path cost as much again per message)
    result = session.execute(
        update(OUTBOUND_MESSAGES)
        .where(fence(OutboundMessage, message.id, worker=worker, token=token, claimed_status=MessageStatus.sending))
        .values(**values)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    if outcome == "failed":
        log.warning("gave up on message %s after %s attempts: %s", message.id, token, error)
    elif outcome == "retrying":
        log.info("message %s failed (attempt %s), retrying later: %s", message.id, token, error)
    return outcome


def compact_messages(session: Session, *, before: dt.datetime) -> int:
    """Drop the body and payload of messages finished (sent, in the outbox, given up) before ``before``; the
    idempotency key, recipient, subject, status and times stay, so the same key is never sent again. Returns how many
    were compacted."""
    result = session.execute(
        update(OutboundMessage)
        .where(
            OutboundMessage.status.in_([MessageStatus.sent, MessageStatus.outbox, MessageStatus.failed]),
            OutboundMessage.next_attempt_at < before,
            or_(
                OutboundMessage.body.is_not(None),
                and_(OutboundMessage.channel == MessageChannel.webhook, OutboundMessage.payload.is_not(None)),
            ),
        )
        .values(body=None, payload=null())  # SQL NULL (None would store the JSON 'null')
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
