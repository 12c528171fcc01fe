"""``POST /webhooks/chargebee``: Chargebee's events, authenticated by HTTP Basic auth and acted on once.

Chargebee does not sign its webhooks; it sends the user name and password set on the endpoint as HTTP Basic auth,
so those are the authentication: a missing or wrong pair is a 401 and nothing is written (compared in constant time).
An event already received (Chargebee's ``id``) is acknowledged (200) without acting again, so Chargebee's retries are
harmless; an event whose objects are no newer than what was applied (their ``resource_version``) is acknowledged and
left out, so a late delivery never overwrites newer state. The body is parsed by the library's
``Event.deserialize``, which also refuses an event of another API version than the library's (v2).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel
from sqlalchemy.orm import Session

import chargebee
from kizuna.chargebee import service
from kizuna.connectors import credentials
from kizuna.connectors import service as connectors
from kizuna.connectors.service import RunLog
from kizuna.errors import InvalidInput, NotAuthenticated
from kizuna.platform.web.deps import DbSession, settings_of

router = APIRouter(include_in_schema=False)  # Chargebee's peer, not kizuna's API: documented in docs/connectors.md


class WebhookReceipt(BaseModel):
    """What kizuna did with the event: applied, duplicate, stale or ignored."""

    id: str
    event_type: str
    outcome: str


async def raw_body(request: Request) -> bytes:
    return await request.body()


def _verify(header: str | None, user: str, password: str) -> None:
    scheme, _, encoded = (header or "").partition(" ")
    if scheme.lower() != "basic" or not encoded:
        raise NotAuthenticated("Chargebee's webhook must come with HTTP Basic auth")
    try:
        given = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise NotAuthenticated("the Authorization header is not HTTP Basic auth") from exc
    expected = f"{user}:{password}".encode()
    if not hmac.compare_digest(given, expected):
        raise NotAuthenticated("the webhook's user name or password is wrong")


@router.post("/webhooks/chargebee", response_model=WebhookReceipt, summary="Receive a Chargebee event (Basic auth)")
def chargebee_webhook(
    request: Request, payload: bytes = Depends(raw_body), session: Session = DbSession
) -> WebhookReceipt:
    values = credentials.load(settings_of(request), service.VENDOR)
    user, password = values.get("webhook_user"), values.get("webhook_password")
    if not user or not password:
        raise NotAuthenticated("Chargebee is not connected here: no webhook user and password to check against")
    _verify(request.headers.get("authorization"), user, password)
    text = payload.decode("utf-8", errors="replace")
    try:
        json.loads(text)
    except ValueError as exc:
        raise InvalidInput(f"the body is not JSON: {exc}") from exc
    try:
        event = chargebee.Chargebee(api_key="-", site=values.get("site") or "-").Event.deserialize(text)
    except Exception as exc:  # the library raises a bare Exception for an event of another API version
        raise InvalidInput(f"the body is not a Chargebee event: {exc}") from exc
    body = event.raw_data
    if not isinstance(body, dict) or not body.get("id") or not body.get("event_type"):
        raise InvalidInput("the body is not a Chargebee event: no id or event_type")
    log = RunLog()
    outcome = service.handle_event(session, body, log=log)
    connectors.record_webhooks(session, vendor=service.VENDOR, log=log)
    return WebhookReceipt(id=str(body["id"]), event_type=str(body["event_type"]), outcome=outcome)
