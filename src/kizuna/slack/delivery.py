"""Posting queued Slack messages with Slack's own client (``slack_sdk.WebClient``), for the outbox's worker.

A recipient ``dm:<e-mail>`` is the DM of the Slack user with that e-mail (``users.lookupByEmail``, then
``conversations.open``); ``update:<channel>/<ts>`` replaces that message (``chat.update``, after a button click);
anything else is a channel id or name for ``chat.postMessage``. A 429 is waited out as
Slack's ``Retry-After`` says (the client's rate-limit retry handler, twice); any error left raises
ExternalServiceError and the outbox tries the message again later.
"""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from kizuna.connectors import credentials
from kizuna.errors import ExternalServiceError
from kizuna.platform.outbox.models import MessageChannel, OutboundMessage
from kizuna.platform.outbox.service import Sender
from kizuna.settings import Settings
from kizuna.slack.service import VENDOR

#: Slack's documented default Web API base
SLACK_API = "https://slack.com/api/"


def client_of(settings: Settings) -> WebClient:
    """A WebClient with the connected bot token (``api_base`` points it at a proxy or a test peer)."""
    values = credentials.require(settings, VENDOR, "bot_token")
    client = WebClient(token=values["bot_token"], base_url=values.get("api_base") or SLACK_API, timeout=15)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=2))
    return client


def post(client: WebClient, message: OutboundMessage) -> str:
    """Post ``message``; returns the channel it went to. ExternalServiceError with Slack's error code on failure."""
    payload: dict[str, Any] = message.payload or {}
    try:
        channel = message.recipient
        if channel.startswith("update:"):
            channel, _, ts = channel[len("update:") :].partition("/")
            client.chat_update(channel=channel, ts=ts, text=payload.get("text", ""), blocks=payload.get("blocks"))
            return channel
        if channel.startswith("dm:"):
            user = client.users_lookupByEmail(email=channel[3:])
            opened = client.conversations_open(users=str(user["user"]["id"]))
            channel = str(opened["channel"]["id"])
        client.chat_postMessage(channel=channel, text=payload.get("text", ""), blocks=payload.get("blocks"))
    except SlackApiError as exc:
        raise ExternalServiceError(
            f"Slack refused message {message.id} to {message.recipient}: {exc.response.get('error')}"
            f" (HTTP {exc.response.status_code})"
        ) from exc
    except (SlackClientError, OSError) as exc:
        raise ExternalServiceError(f"Slack unreachable for message {message.id}: {exc}") from exc
    return channel


def email_of(client: WebClient, slack_user: str) -> str | None:
    """The e-mail of a Slack user (``users.info``; the bot needs ``users:read.email``), None if Slack has none."""
    try:
        answer = client.users_info(user=slack_user)
    except SlackApiError as exc:
        raise ExternalServiceError(f"Slack users.info {slack_user}: {exc.response.get('error')}") from exc
    except (SlackClientError, OSError) as exc:
        raise ExternalServiceError(f"Slack unreachable: {exc}") from exc
    email = (answer.get("user") or {}).get("profile", {}).get("email")
    return str(email) if email else None


def senders(settings: Settings) -> dict[str, Sender]:
    """The outbox's Slack sender when Slack is connected (none otherwise: Slack messages wait for it)."""
    if not credentials.load(settings, VENDOR).get("bot_token"):
        return {}
    client = client_of(settings)

    def send(message: OutboundMessage) -> None:
        post(client, message)

    return {MessageChannel.slack: send}
