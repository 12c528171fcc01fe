"""``POST /slack/actions``: Slack's interactivity requests (button clicks), verified with Slack's own
``SignatureVerifier`` and acted on once.

No login: the ``X-Slack-Signature`` (HMAC-SHA256 of ``v0:<timestamp>:<body>`` with the app's signing secret) is the
authentication, and a ``X-Slack-Request-Timestamp`` older than five minutes is refused as a possible replay. A bad
signature is a 401 and nothing is written.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel
from slack_sdk.signature import SignatureVerifier
from sqlalchemy.orm import Session

from kizuna.connectors import credentials
from kizuna.db import utcnow
from kizuna.errors import InvalidInput, NotAuthenticated
from kizuna.platform.web.deps import DbSession, settings_of
from kizuna.slack import delivery, service

router = APIRouter(include_in_schema=False)  # Slack's peer, not kizuna's API: documented in docs/connectors.md

#: how old a signed request may be (seconds); Slack's own advice
TOLERANCE_SECONDS = 300


class ActionReceipt(BaseModel):
    """What kizuna did with each click: snoozed, done, assigned or duplicate."""

    outcomes: list[str]


async def raw_body(request: Request) -> bytes:
    """The body exactly as sent: the signature is over these bytes."""
    return await request.body()


@router.post("/slack/actions", response_model=ActionReceipt, summary="Receive a Slack button click (signed)")
def slack_actions(request: Request, body: bytes = Depends(raw_body), session: Session = DbSession) -> ActionReceipt:
    secret = credentials.load(settings_of(request), service.VENDOR).get("signing_secret")
    if not secret:  # nothing to verify a request with: no request is Slack's (`kizuna connect slack` sets it)
        raise NotAuthenticated("Slack is not connected here: no signing secret to verify the request with")
    verifier = SignatureVerifier(secret)
    timestamp = request.headers.get("x-slack-request-timestamp", "")
    signature = request.headers.get("x-slack-signature", "")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > TOLERANCE_SECONDS:
        raise NotAuthenticated("X-Slack-Request-Timestamp is missing or older than five minutes")
    if not verifier.is_valid(body, timestamp, signature):
        raise NotAuthenticated("X-Slack-Signature does not verify")
    try:
        payload = json.loads(parse_qs(body.decode("utf-8"))["payload"][0])
    except (KeyError, IndexError, UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput(f"the body is not a Slack interactivity payload: {exc}") from exc
    clicks = service.clicks_of(payload)
    if clicks and not clicks[0].email:  # Slack sends the user's id only: its e-mail is users.info's (users:read.email)
        email = delivery.email_of(delivery.client_of(settings_of(request)), clicks[0].slack_user)
        clicks = [replace(c, email=email) for c in clicks]
    today = utcnow().date()
    return ActionReceipt(outcomes=[service.act_on_click(session, c, today=today) for c in clicks])
