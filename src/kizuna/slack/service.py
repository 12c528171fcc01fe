"""Slack messages about an account's task, and the button clicks that act back on the task.

A playbook's ``slack`` action queues one message in the outbox (channel ``slack``, recipient a channel id or
``dm:<e-mail>`` for the account owner's direct messages) under the job's idempotency key; the worker posts it after
commit (:mod:`kizuna.slack.delivery`). Its buttons carry ``<verb>:<task id>``; a click comes back signed to
``POST /slack/actions`` (:mod:`kizuna.slack.public`) and :func:`act_on_click` snoozes, completes or assigns the task
as the kizuna user whose e-mail is the Slack user's, once per click (``connector_events``, vendor ``slack``), and
queues the update of the clicked message (``chat.update`` on the payload's channel and ``ts``, recipient
``update:<channel>/<ts>``) so that everyone in the channel sees what was done and by whom.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kizuna.accounts.models import Account, TeamMember
from kizuna.auth.models import User
from kizuna.connectors import service as connectors
from kizuna.errors import InvalidInput, NotFound
from kizuna.platform.outbox.models import MessageChannel, OutboundMessage
from kizuna.platform.outbox.service import queue_message
from kizuna.tasks.models import Task
from kizuna.tasks.service import complete_task, reassign_task, snooze_task

VENDOR = "slack"

#: the buttons of a message: action id -> label per language
BUTTONS = {
    "snooze": {"ja": "1週間スヌーズ", "en": "Snooze a week"},
    "done": {"ja": "完了", "en": "Done"},
    "assign": {"ja": "自分が担当", "en": "Assign to me"},
}
#: how long the snooze button hides a task (days)
SNOOZE_DAYS = 7

_LABELS = {
    "ja": {"open": "顧客360を開く", "task": "タスク", "account": "顧客"},
    "en": {"open": "Open the customer 360", "task": "Task", "account": "Account"},
}
#: what a click did, as the updated message says it ({who}, {until}: the snooze's end)
OUTCOME_WORDS = {
    "snoozed": {"ja": ":zzz: {who} さんが {until} までスヌーズしました", "en": ":zzz: Snoozed until {until} by {who}"},
    "done": {"ja": ":white_check_mark: {who} さんが完了しました", "en": ":white_check_mark: Done by {who}"},
    "assigned": {
        "ja": ":bust_in_silhouette: {who} さんが担当になりました",
        "en": ":bust_in_silhouette: Assigned to {who}",
    },
}


def blocks(*, account: Account, task: Task, reason: str, link: str, language: str) -> list[dict[str, Any]]:
    """The Block Kit blocks of a message about ``task`` on ``account``: name, reason in words, link, buttons."""
    words = _LABELS.get(language, _LABELS["en"])
    return [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": f"*{words['account']}: <{link}|{_escape(account.name)}>*"},
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": _escape(reason)[:2900]}},
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": f"{words['task']} #{task.id}: {_escape(task.title)[:200]}"}],
        },
        {
            "type": "actions",
            "block_id": f"kizuna-task-{task.id}",
            "elements": [
                {
                    "type": "button",
                    "action_id": verb,
                    "value": f"{verb}:{task.id}",
                    "text": {"type": "plain_text", "text": labels.get(language, labels["en"])},
                    **({"style": "primary"} if verb == "done" else {}),
                }
                for verb, labels in BUTTONS.items()
            ]
            + [
                {
                    "type": "button",
                    "action_id": "open",
                    "url": link,
                    "text": {"type": "plain_text", "text": words["open"]},
                }
            ],
        },
    ]


def _escape(text: str) -> str:
    """Slack's mrkdwn control characters as its reference asks (&, <, >)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def queue_post(
    session: Session,
    *,
    idempotency_key: str,
    recipient: str,
    account: Account,
    task: Task,
    reason: str,
    base_url: str,
    language: str,
    source: str,
) -> tuple[OutboundMessage, bool]:
    """Queue a message to ``recipient`` (a channel id or name, or ``dm:<e-mail>``); sent after commit, once."""
    link = f"{base_url.rstrip('/')}/accounts/{account.id}"
    payload = {
        "text": f"{account.name}: {reason}"[:3000],  # the notification's text and the fallback of old clients
        "blocks": blocks(account=account, task=task, reason=reason, link=link, language=language),
    }
    return queue_message(
        session,
        channel=MessageChannel.slack,
        idempotency_key=idempotency_key,
        recipient=recipient,
        payload=payload,
        account_id=account.id,
        source=source,
    )


@dataclass(frozen=True)
class Click:
    """One button click of an interactivity payload."""

    click_id: str  # the same on Slack's redelivery of the same click
    verb: str
    task_id: int
    slack_user: str
    email: str | None
    #: the clicked message: its channel, ts and blocks (to update it), when the payload has them
    channel: str | None = None
    message_ts: str | None = None
    message_blocks: tuple[dict[str, Any], ...] = ()
    message_text: str = ""


def clicks_of(payload: dict[str, Any]) -> list[Click]:
    """The kizuna button clicks of a ``block_actions`` payload (others are ignored); InvalidInput if malformed."""
    if payload.get("type") != "block_actions":
        return []
    user = payload.get("user") or {}
    container = payload.get("container") or {}
    message = payload.get("message") or {}
    channel = container.get("channel_id") or (payload.get("channel") or {}).get("id")
    message_ts = container.get("message_ts") or message.get("ts")
    blocks_then = tuple(b for b in message.get("blocks") or [] if isinstance(b, dict))
    text_then = str(message.get("text") or "")
    out = []
    for action in payload.get("actions") or []:
        value = str(action.get("value") or "")
        verb, _, raw_id = value.partition(":")
        if verb not in BUTTONS:
            continue
        if not raw_id.isdigit():
            raise InvalidInput(f"Slack action {action.get('action_id')!r}: value {value!r} names no task", value=value)
        click_id = f"{payload.get('trigger_id') or ''}:{action.get('action_ts') or ''}:{action.get('action_id')}"
        out.append(
            Click(
                click_id,
                verb,
                int(raw_id),
                str(user.get("id") or ""),
                user.get("email"),
                channel=str(channel) if channel else None,
                message_ts=str(message_ts) if message_ts else None,
                message_blocks=blocks_then,
                message_text=text_then,
            )
        )
    return out


def kizuna_user(session: Session, email: str | None) -> User:
    """The kizuna user with the Slack user's e-mail (case-insensitive), else NotFound."""
    if email:
        user = session.scalar(select(User).where(func.lower(User.email) == email.lower()))
        if user is not None:
            return user
    raise NotFound(f"no kizuna user has the Slack user's e-mail {email!r}", email=email)


def act_on_click(session: Session, click: Click, *, today: dt.date) -> str:
    """Do what the button says, as the mapped kizuna user (audited); 'duplicate' when Slack redelivers a click."""
    user = kizuna_user(session, click.email)
    if not connectors.receive_once(
        session, vendor=VENDOR, event_id=click.click_id[:200], event_type=f"button.{click.verb}", occurred_at=None
    ):
        return "duplicate"
    actor = f"user:{user.id}:{user.email} (Slack {click.slack_user})"
    until = today + dt.timedelta(days=SNOOZE_DAYS)
    if click.verb == "snooze":
        snooze_task(session, actor=actor, task_id=click.task_id, until=until)
        outcome = "snoozed"
    elif click.verb == "done":
        complete_task(session, actor=actor, task_id=click.task_id, outcome="done from Slack")
        outcome = "done"
    else:
        member = session.scalar(select(TeamMember.id).where(func.lower(TeamMember.email) == user.email.lower()))
        if member is None:
            raise NotFound(f"{user.email} is not a team member: the task cannot be assigned to them", email=user.email)
        reassign_task(session, actor=actor, task_id=click.task_id, owner_id=member)
        outcome = "assigned"
    if click.channel and click.message_ts:
        queue_update(
            session, click=click, outcome=outcome, who=user.name or user.email, until=until, language=user.language
        )
    return outcome


def updated_blocks(click: Click, *, outcome: str, who: str, until: dt.date, language: str) -> list[dict[str, Any]]:
    """The clicked message's blocks with a line saying what was done and by whom (replacing an earlier such line);
    a task done keeps no buttons, a snoozed or assigned one keeps them (it can still be completed)."""
    words = OUTCOME_WORDS[outcome]
    line = words.get(language, words["en"]).format(who=_escape(who), until=until.isoformat())
    status_id = f"kizuna-status-{click.task_id}"
    kept = [
        b
        for b in click.message_blocks
        if b.get("block_id") != status_id and not (outcome == "done" and b.get("type") == "actions")
    ]
    return [*kept, {"type": "context", "block_id": status_id, "elements": [{"type": "mrkdwn", "text": line}]}]


def queue_update(
    session: Session, *, click: Click, outcome: str, who: str, until: dt.date, language: str
) -> tuple[OutboundMessage, bool]:
    """Queue the update of the clicked message (``chat.update``), once per click; sent after commit."""
    blocks_now = updated_blocks(click, outcome=outcome, who=who, until=until, language=language)
    words = OUTCOME_WORDS[outcome]
    line = words.get(language, words["en"]).format(who=who, until=until.isoformat())
    return queue_message(
        session,
        channel=MessageChannel.slack,
        idempotency_key=f"slack-click:{click.click_id}"[:255],
        recipient=f"update:{click.channel}/{click.message_ts}",
        payload={"text": f"{click.message_text}\n{line}".strip()[:3000], "blocks": blocks_now},
        source=f"slack:{outcome}",
    )
