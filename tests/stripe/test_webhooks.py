"""``POST /webhooks/stripe`` through the real app: events signed as Stripe signs them (our own HMAC, checked by
Stripe's library), acted on exactly once whatever the order or number of deliveries; a bad signature is a 400
that writes nothing."""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

from sqlalchemy import func, select

from kizuna.connectors.models import ReceivedEvent
from kizuna.runtime import Runtime
from tests.imports.test_ready_mappings import stripe_subscriptions
from tests.stripe.conftest import SECRET
from tests.stripe.rows import hub_rows
from tests.stripe.stripe_api import customer, event, invoices, post_event, signed, subscription, ts


def received(hub: Runtime) -> int:
    with hub.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(ReceivedEvent)) or 0)


def test_a_bad_or_stale_signature_is_refused_and_writes_nothing(hub: Runtime, app_client: Any) -> None:
    body = event("evt_bad", "customer.created", customer(1), created=ts(dt.date(2025, 1, 1)) or 0)
    payload = json.dumps(body)
    forged = app_client.post(
        "/webhooks/stripe", content=payload, headers={"Stripe-Signature": signed(payload, "whsec_someone_else")}
    )
    assert forged.status_code == 400 and "Stripe-Signature does not verify" in forged.json()["message"]
    unsigned = app_client.post("/webhooks/stripe", content=payload)
    assert unsigned.status_code == 400
    tampered = app_client.post(
        "/webhooks/stripe",
        content=payload.replace("cus_1", "cus_9"),
        headers={"Stripe-Signature": signed(payload, SECRET)},
    )
    assert tampered.status_code == 400
    replayed = post_event(app_client, body, SECRET, at=int(time.time()) - 600)  # outside the 300 s tolerance
    assert replayed.status_code == 400 and "tolerance" in replayed.json()["message"]
    assert received(hub) == 0 and hub_rows(hub)["accounts"] == []
    assert post_event(app_client, body, SECRET).json()["outcome"] == "applied"  # the same event, signed right


def test_duplicate_and_out_of_order_deliveries_act_once_and_newest_wins(hub: Runtime, app_client: Any) -> None:
    s = next(s for s in stripe_subscriptions() if s["id"] == "sub_1")
    start = ts(s["start"]) or 0
    created = event("evt_1", "customer.subscription.created", subscription(s), created=start)
    grown = subscription(s)
    grown["items"]["data"][0]["quantity"] = 5
    updated = event("evt_2", "customer.subscription.updated", grown, created=start + 40 * 86400)
    for body in (updated, created, updated, created):  # the update first, then late and repeated deliveries
        assert post_event(app_client, body, SECRET).status_code == 200
    outcomes = [post_event(app_client, b, SECRET).json()["outcome"] for b in (created, updated)]
    assert outcomes == ["duplicate", "duplicate"]
    lines = hub_rows(hub)["subscriptions"]
    assert [(line[0], line[4], line[5]) for line in lines] == [("si_1@2025-01-06", 5, 5 * 4900)]
    assert received(hub) == 2

    shrunk = subscription(s)
    shrunk["items"]["data"][0]["quantity"] = 2
    later = event("evt_3", "customer.subscription.updated", shrunk, created=start + 100 * 86400)
    assert post_event(app_client, later, SECRET).json()["outcome"] == "applied"
    versions = [(line[0], line[4], line[8], line[9]) for line in hub_rows(hub)["subscriptions"]]
    change = dt.date(2025, 1, 6) + dt.timedelta(days=100)
    assert versions == [
        ("si_1@2025-01-06", 5, dt.date(2025, 1, 6), change),  # closed on the day of the change
        (f"si_1@{change.isoformat()}", 2, change, None),
    ]


def test_a_failed_payment_marks_the_invoice_and_records_the_attempt_once(hub: Runtime, app_client: Any) -> None:
    invoice = {**next(i for i in invoices() if i["id"] == "in_2"), "attempted": True, "attempt_count": 2}
    invoice["next_payment_attempt"] = (invoice["created"] or 0) + 3 * 86400
    body = event("evt_f", "invoice.payment_failed", invoice, created=(invoice["created"] or 0) + 86400)
    for _ in range(3):
        assert post_event(app_client, body, SECRET).status_code == 200
    charge = {
        "id": "ch_2",
        "object": "charge",
        "amount": 13500,
        "created": (invoice["created"] or 0) + 86400,
        "currency": "usd",
        "failure_code": "card_declined",
        "failure_message": "Your card was declined.",
        "invoice": "in_2",
        "refunded": False,
        "status": "failed",
    }
    post_event(app_client, event("evt_c", "charge.failed", charge, created=charge["created"]), SECRET)
    rows = hub_rows(hub)
    assert [i[6] for i in rows["invoices"]] == ["retrying"]
    assert rows["payments"] == [
        ("ch_2", "failed", 2, "card_declined", 13500),
        ("in_2#attempt2", "failed", 2, "payment_failed", 13500),
    ]


def test_a_pause_and_a_cancellation_notice_become_versions_the_revenue_model_reads(
    hub: Runtime, app_client: Any
) -> None:
    s = next(s for s in stripe_subscriptions() if s["id"] == "sub_7")
    start = ts(s["start"]) or 0
    day = 86400
    paused = {**subscription(s), "pause_collection": {"behavior": "void", "resumes_at": None}}
    notice = {**subscription(s), "cancel_at_period_end": True, "canceled_at": start + 90 * day}
    notice["cancel_at"] = start + 120 * day
    steps = [
        ("customer.subscription.created", subscription(s), 0),
        ("customer.subscription.paused", paused, 30),
        ("customer.subscription.resumed", subscription(s), 60),
        ("customer.subscription.updated", notice, 90),
    ]
    for n, (kind, obj, days) in enumerate(steps):
        assert (
            post_event(app_client, event(f"evt_p{n}", kind, obj, created=start + days * day), SECRET).json()["outcome"]
            == "applied"
        )
    first = s["start"]
    on = [first + dt.timedelta(days=d) for d in (30, 60, 90, 120)]
    versions = [(line[7], line[8], line[9], line[10]) for line in hub_rows(hub)["subscriptions"]]
    assert sorted(versions, key=lambda v: v[1]) == [
        ("active", first, on[0], None),
        ("paused", on[0], on[1], None),
        ("cancelled", on[1], on[3], on[2]),  # notice given on day 90, paid until day 120
    ]
