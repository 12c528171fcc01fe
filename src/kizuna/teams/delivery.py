"""Posting queued Teams cards to a channel's incoming webhook / Workflows URL, for the outbox's worker.

We post the Adaptive Card ourselves (httpx) rather than through pymsteams: pymsteams builds the legacy connector
``MessageCard``, which Workflows webhooks do not take, and has no Adaptive Card. A 2xx is delivered (Workflows
answer 202 Accepted); a 429 is waited out once as its ``Retry-After`` says (up to ``MAX_WAIT_SECONDS``); any other
error raises ExternalServiceError and the outbox tries the message again later (its back-off), never twice once
sent.
"""

from __future__ import annotations

import time

import httpx

from kizuna.connectors import credentials
from kizuna.errors import ConfigurationError, ExternalServiceError
from kizuna.platform.outbox.models import MessageChannel, OutboundMessage
from kizuna.platform.outbox.service import Sender
from kizuna.settings import Settings
from kizuna.teams.service import VENDOR, webhook_url

#: the longest Retry-After waited inline (seconds); a longer one is left to the outbox's next round
MAX_WAIT_SECONDS = 10.0


def post(client: httpx.Client, settings: Settings, message: OutboundMessage) -> None:
    """Post ``message``'s card; ExternalServiceError (with the status and the start of the answer) on failure."""
    name = message.recipient.removeprefix("teams:")
    try:
        url = webhook_url(settings, name)
    except ConfigurationError as exc:
        raise ExternalServiceError(str(exc)) from exc
    headers = {"Idempotency-Key": message.idempotency_key, "User-Agent": "kizuna"}
    for attempt in range(2):
        try:
            response = client.post(url, json=message.payload or {}, headers=headers)
        except httpx.HTTPError as exc:
            raise ExternalServiceError(f"Teams webhook {name!r} unreachable for message {message.id}: {exc}") from exc
        if response.is_success:
            return
        wait = _retry_after(response.headers.get("Retry-After"))
        if response.status_code == 429 and attempt == 0 and wait is not None and wait <= MAX_WAIT_SECONDS:
            time.sleep(wait)
            continue
        break
    raise ExternalServiceError(
        f"Teams webhook {name!r} refused message {message.id}: HTTP {response.status_code} {response.text[:200]}"
    )


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def senders(settings: Settings) -> dict[str, Sender]:
    """The outbox's Teams sender when Teams is connected (none otherwise: Teams cards wait for it)."""
    if not credentials.load(settings, VENDOR).get("link_secret"):
        return {}
    client = httpx.Client(timeout=15.0)

    def send(message: OutboundMessage) -> None:
        post(client, settings, message)

    return {MessageChannel.teams: send}
