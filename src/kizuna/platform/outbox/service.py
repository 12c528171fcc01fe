"""Queue and deliver outbound messages: emails (SMTP, or the outbox directory) and webhooks (Slack or any URL).

Writes only queue: :func:`queue_email` and :func:`queue_webhook` add a ``queued`` row to ``outbound_messages`` inside
the caller's transaction. :func:`deliver_queued` runs after that transaction has committed (the outbox pattern): it
claims due rows, sends each one, and records the result. The idempotency key is unique, so queueing the same message
twice sends it once. Delivery is at-least-once across a crash between "sent" and "recorded": the email's
``Message-ID`` and the webhook's ``Idempotency-Key`` header are derived from the key so that a peer can drop the copy.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import smtplib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formataddr
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kizuna.db import utcnow
from kizuna.errors import ConfigurationError, ExternalServiceError, InvalidInput
from kizuna.platform.outbox.models import MessageChannel, MessageStatus, OutboundMessage
from kizuna.platform.queue import claim, worker_name
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


@dataclass
class DeliveryPolicy:
    """How hard to try. Webhooks retry in-line ``inline_retries`` times with exponential back-off from
    ``backoff_seconds``; a message that still fails is queued again after ``requeue_seconds * 2**attempts``."""

    inline_retries: int = 3
    backoff_seconds: float = 0.5
    requeue_seconds: float = 60.0
    timeout_seconds: float = 10.0
    lease: dt.timedelta = dt.timedelta(minutes=5)
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)


@dataclass
class DeliveryReport:
    sent: int = 0
    outbox: int = 0
    retrying: int = 0
    failed: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"sent": self.sent, "outbox": self.outbox, "retrying": self.retrying, "failed": self.failed}


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


def deliver_queued(
    sessions: sessionmaker[Session],
    *,
    settings: Settings,
    limit: int = 100,
    now: dt.datetime | None = None,
    policy: DeliveryPolicy | None = None,
    worker: str | None = None,
) -> DeliveryReport:
    """Send the queued messages that are due. Each claim and each result is its own committed transaction."""
    policy = policy or DeliveryPolicy()
    worker = worker or worker_name()
    report = DeliveryReport()
    with sessions() as session, session.begin():
        ids = claim(
            session,
            OutboundMessage,
            ready_status=MessageStatus.queued,
            claimed_status=MessageStatus.sending,
            due_column=OutboundMessage.next_attempt_at,
            worker=worker,
            now=now or utcnow(),
            lease=policy.lease,
            limit=limit,
        )
    if not ids:
        return report
    import httpx

    with sessions() as session, session.begin():
        claimed = [
            m
            for m in session.scalars(
                select(OutboundMessage).where(OutboundMessage.id.in_(ids)).order_by(OutboundMessage.id)
            )
            if m.lease_owner == worker
        ]
    mailer = _Mailer(settings)
    down: set[str] = set()  # webhook URLs that failed this round: their other messages wait for the next round
    with httpx.Client() as client:
        try:
            for message in claimed:
                _deliver_one(sessions, message, mailer=mailer, client=client, policy=policy, report=report, down=down)
        finally:
            mailer.close()
    return report


def _deliver_one(
    sessions: sessionmaker[Session],
    message: OutboundMessage,
    *,
    mailer: _Mailer,
    client: Any,
    policy: DeliveryPolicy,
    report: DeliveryReport,
    down: set[str],
) -> None:
    """Send one claimed message (outside any transaction), then record the result in a transaction of its own."""
    error: str | None = None
    outbox_path: str | None = None
    try:
        if message.channel == MessageChannel.email:
            outbox_path = mailer.send(message)
        elif message.recipient in down:
            error = f"webhook {message.recipient} failed earlier in this round; not tried again until the next"
        else:
            _post_webhook(message, policy, client)
    except ExternalServiceError as exc:
        error = str(exc)
        if message.channel == MessageChannel.webhook:
            down.add(message.recipient)
    with sessions() as session, session.begin():
        row = session.get(OutboundMessage, message.id)
        assert row is not None
        _record_result(row, error=error, outbox_path=outbox_path, policy=policy, report=report)


def _record_result(
    message: OutboundMessage,
    *,
    error: str | None,
    outbox_path: str | None,
    policy: DeliveryPolicy,
    report: DeliveryReport,
) -> None:
    message.lease_owner = None
    message.lease_until = None
    if error is None:
        message.status = MessageStatus.outbox if outbox_path else MessageStatus.sent
        message.outbox_path = outbox_path
        message.sent_at = utcnow()
        message.last_error = None
        if outbox_path:
            report.outbox += 1
        else:
            report.sent += 1
    elif message.attempts >= message.max_attempts:
        message.status = MessageStatus.failed
        message.last_error = error
        report.failed += 1
        log.warning("gave up on message %s after %s attempts: %s", message.id, message.attempts, error)
    else:
        message.status = MessageStatus.queued
        message.last_error = error
        message.next_attempt_at = utcnow() + dt.timedelta(seconds=policy.requeue_seconds * 2 ** (message.attempts - 1))
        report.retrying += 1
        log.info("message %s failed (attempt %s), retrying later: %s", message.id, message.attempts, error)
