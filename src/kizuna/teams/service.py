"""Teams messages about an account's task, and the signed links their buttons open.

A playbook's ``teams`` action queues one Adaptive Card in the outbox (channel ``teams``, recipient ``teams:<webhook
name>``) under the job's idempotency key; the worker posts it to the channel's incoming webhook / Workflows URL
after commit (:mod:`kizuna.teams.delivery`), once. The URL is a secret (anyone holding it can post), so it stays in
the connector's credentials file and the outbox names it only by its name.

Teams incoming webhooks cannot call back (a card's ``Action.Submit`` needs a bot), so the buttons are
``Action.OpenUrl`` to kizuna links signed with the connector's link secret (HMAC-SHA256 of the task, the verb and an
expiry): the link opens a confirmation page for a signed-in kizuna user, and the click acts as that user, once per
link. A link whose signature does not verify, or which has expired, is refused and changes nothing.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from kizuna.accounts.models import Account
from kizuna.connectors import credentials
from kizuna.connectors import service as connectors
from kizuna.errors import ConfigurationError, PermissionDenied
from kizuna.platform.outbox.models import MessageChannel, OutboundMessage
from kizuna.platform.outbox.service import queue_message
from kizuna.settings import Settings
from kizuna.tasks.models import Task
from kizuna.tasks.service import complete_task, get_task, snooze_task

VENDOR = "teams"
#: the verbs a card's links carry (assigning needs to know who clicked in Teams, which a link cannot tell)
VERBS = ("snooze", "done")
#: how long a card's links act (days)
LINK_DAYS = 14
#: how long the snooze link hides a task (days)
SNOOZE_DAYS = 7

_WORDS = {
    "ja": {"account": "顧客", "task": "タスク", "snooze": "1週間スヌーズ", "done": "完了", "open": "顧客360を開く"},
    "en": {
        "account": "Account",
        "task": "Task",
        "snooze": "Snooze a week",
        "done": "Done",
        "open": "Open the customer 360",
    },
}


def new_link_secret() -> str:
    """A fresh secret for signing the cards' links (``kizuna connect teams`` makes one; replacing it voids them)."""
    return secrets.token_urlsafe(32)


def link_secret(settings: Settings) -> bytes:
    values = credentials.require(settings, VENDOR, "link_secret")
    return values["link_secret"].encode()


def webhook_url(settings: Settings, name: str) -> str:
    """The incoming webhook / Workflows URL saved under ``name`` (``default`` is ``--webhook-url``'s)."""
    key = "webhook_url" if name == "default" else f"webhook_url_{name}"
    url = credentials.load(settings, VENDOR).get(key)
    if not url:
        raise ConfigurationError(
            f"Teams has no webhook named {name!r}: run `kizuna connect teams --webhook-url <url>`"
            + ("" if name == "default" else f" --name {name}"),
            vendor=VENDOR,
        )
    return url


def _signature(secret: bytes, text: str) -> str:
    digest = hmac.new(secret, text.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def sign_link(secret: bytes, *, task_id: int, verb: str, expires: dt.datetime) -> str:
    """The token of a link that does ``verb`` to task ``task_id`` until ``expires``: ``<task>.<verb>.<epoch>.<sig>``."""
    text = f"{task_id}.{verb}.{int(expires.timestamp())}"
    return f"{text}.{_signature(secret, text)}"


@dataclass(frozen=True)
class SignedLink:
    task_id: int
    verb: str
    expires: dt.datetime
    signature: str


def verify_link(secret: bytes, token: str, *, now: dt.datetime) -> SignedLink:
    """The link of ``token``; PermissionDenied when it is malformed, its signature does not verify, or it expired."""
    parts = token.split(".")
    if len(parts) != 4 or not parts[0].isdigit() or parts[1] not in VERBS or not parts[2].isdigit():
        raise PermissionDenied("this Teams link is not one kizuna made (malformed)", token=token[:80])
    task_id, verb, epoch, signature = parts
    if not hmac.compare_digest(_signature(secret, f"{task_id}.{verb}.{epoch}"), signature):
        raise PermissionDenied("this Teams link's signature does not verify: it was altered or not made by kizuna")
    expires = dt.datetime.fromtimestamp(int(epoch), dt.UTC)
    if now >= expires:
        raise PermissionDenied(
            f"this Teams link expired at {expires:%Y-%m-%d %H:%M} UTC: act on the task's page instead",
            expires=expires.isoformat(),
        )
    return SignedLink(int(task_id), verb, expires, signature)


def card(
    *, account: Account, task: Task, reason: str, base_url: str, links: dict[str, str], language: str
) -> dict[str, Any]:
    """The message an incoming webhook / Workflows takes: one Adaptive Card (1.4) with the account, the reason, the
    task, and ``Action.OpenUrl`` buttons to the signed links and the customer 360."""
    words = _WORDS.get(language, _WORDS["en"])
    base = base_url.rstrip("/")
    actions = [{"type": "Action.OpenUrl", "title": words[verb], "url": url} for verb, url in links.items()]
    actions.append({"type": "Action.OpenUrl", "title": words["open"], "url": f"{base}/accounts/{account.id}"})
    content = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {
                "type": "TextBlock",
                "text": f"{words['account']}: {account.name}",
                "weight": "Bolder",
                "size": "Medium",
                "wrap": True,
            },
            {"type": "TextBlock", "text": reason[:2000], "wrap": True},
            {
                "type": "TextBlock",
                "text": f"{words['task']} #{task.id}: {task.title[:200]}",
                "isSubtle": True,
                "wrap": True,
            },
        ],
        "actions": actions,
    }
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": content}
        ],
    }


def queue_post(
    session: Session,
    *,
    settings: Settings,
    idempotency_key: str,
    webhook: str,
    account: Account,
    task: Task,
    reason: str,
    language: str,
    source: str,
    now: dt.datetime,
) -> tuple[OutboundMessage, bool]:
    """Queue the card about ``task`` to the webhook named ``webhook``; sent after commit, once per key."""
    secret = link_secret(settings)
    expires = now + dt.timedelta(days=LINK_DAYS)
    base = settings.base_url.rstrip("/")
    links = {
        verb: f"{base}/teams/act?token={sign_link(secret, task_id=task.id, verb=verb, expires=expires)}"
        for verb in VERBS
    }
    return queue_message(
        session,
        channel=MessageChannel.teams,
        idempotency_key=idempotency_key,
        recipient=f"teams:{webhook}",
        payload=card(account=account, task=task, reason=reason, base_url=base, links=links, language=language),
        account_id=account.id,
        source=source,
    )


def link_task(session: Session, link: SignedLink) -> Task:
    return get_task(session, link.task_id)


def act_on_link(session: Session, link: SignedLink, *, actor: str, today: dt.date) -> str:
    """Do what the link says, as ``actor`` (audited): 'snoozed' or 'done'; 'duplicate' when the link was used."""
    if not connectors.receive_once(
        session,
        vendor=VENDOR,
        event_id=f"link:{link.signature}"[:200],
        event_type=f"link.{link.verb}",
        occurred_at=None,
    ):
        return "duplicate"
    if link.verb == "snooze":
        snooze_task(session, actor=actor, task_id=link.task_id, until=today + dt.timedelta(days=SNOOZE_DAYS))
        return "snoozed"
    complete_task(session, actor=actor, task_id=link.task_id, outcome="done from Teams")
    return "done"
