"""``POST /webhooks/stripe``: Stripe's signed events, verified with Stripe's own library and acted on once.

No login: the ``Stripe-Signature`` header (HMAC-SHA256 of the body with the endpoint's signing secret, with a
timestamp checked against ``TOLERANCE_SECONDS``) is the authentication. A bad or missing signature is a 400 and
nothing is written; an event already received is acknowledged (200) without acting again, so Stripe's retries and
replays are harmless; an event older than what its object already shows is acknowledged and left out.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel
from sqlalchemy.orm import Session

import stripe
from kizuna.connectors import credentials
from kizuna.connectors import service as connectors
from kizuna.connectors.service import RunLog
from kizuna.errors import InvalidInput
from kizuna.platform.web.deps import DbSession, settings_of
from kizuna.stripe import service

router = APIRouter(include_in_schema=False)  # Stripe's peer, not kizuna's API: documented in docs/connectors.md

#: how old a signed delivery may be (Stripe's library default): older ones are refused as possible replays
TOLERANCE_SECONDS = 300


class WebhookReceipt(BaseModel):
    """What kizuna did with the event: applied, duplicate, stale or ignored."""

    id: str
    type: str
    outcome: str


async def raw_body(request: Request) -> bytes:
    """The body exactly as sent: the signature is over these bytes."""
    return await request.body()


@router.post("/webhooks/stripe", response_model=WebhookReceipt, summary="Receive a Stripe event (signed)")
def stripe_webhook(
    request: Request, payload: bytes = Depends(raw_body), session: Session = DbSession
) -> WebhookReceipt:
    secret = credentials.require(settings_of(request), service.VENDOR, "webhook_secret")["webhook_secret"]
    try:
        event = stripe.Webhook.construct_event(
            payload.decode("utf-8", errors="replace"),
            request.headers.get("stripe-signature"),
            secret,
            tolerance=TOLERANCE_SECONDS,
        )
    except stripe.SignatureVerificationError as exc:
        raise InvalidInput(f"Stripe-Signature does not verify: {exc.user_message or exc}") from exc
    except ValueError as exc:
        raise InvalidInput(f"the body is not a Stripe event: {exc}") from exc
    body = event.to_dict()
    log = RunLog()
    outcome = service.handle_event(session, body, log=log)
    connectors.record_webhooks(session, vendor=service.VENDOR, log=log)
    return WebhookReceipt(id=str(body["id"]), type=str(body["type"]), outcome=outcome)
