"""``POST /webhooks/chargebee`` through the real app: Basic auth checked (a missing or wrong pair is a 401 that
writes nothing), each event acted on once whatever the number of deliveries, and a late delivery never overwriting
a newer ``resource_version``; payment failures and coupons become rows as Stripe's do."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import func, select

from kizuna.connectors.models import ReceivedEvent
from kizuna.runtime import Runtime
from tests.chargebee.chargebee_api import (
    basic,
    coupon,
    customer,
    event,
    invoices,
    ms,
    post_event,
    subscription,
)
from tests.imports.test_ready_mappings import stripe_subscriptions
from tests.stripe.rows import hub_rows
from tests.stripe.stripe_api import ts

DAY = 86400


def received(hub: Runtime) -> int:
    with hub.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(ReceivedEvent)) or 0)


def test_a_missing_or_wrong_basic_auth_is_refused_and_writes_nothing(hub: Runtime, app_client: Any) -> None:
    body = event("ev_auth", "customer_created", {"customer": customer(1)}, occurred_at=ts(dt.date(2025, 1, 1)) or 0)
    unauthenticated = app_client.post("/webhooks/chargebee", content=json.dumps(body))
    assert unauthenticated.status_code == 401 and "Basic auth" in unauthenticated.json()["message"]
    wrong = post_event(app_client, body, auth=basic(password="guess"))
    assert wrong.status_code == 401 and "wrong" in wrong.json()["message"]
    assert post_event(app_client, body, auth="Basic not-base64!").status_code == 401
    assert post_event(app_client, body, auth=basic(user="someone")).status_code == 401
    other_version = post_event(app_client, {**body, "api_version": "v1"})
    assert other_version.status_code == 400 and "API version" in other_version.json()["message"]
    garbage = app_client.post("/webhooks/chargebee", content=b"{not json", headers={"Authorization": basic()})
    assert garbage.status_code == 400 and "not JSON" in garbage.json()["message"]
    assert received(hub) == 0 and hub_rows(hub)["accounts"] == []
    assert post_event(app_client, body).json()["outcome"] == "applied"  # the same event, authenticated


def test_duplicate_and_out_of_order_deliveries_act_once_and_the_newest_version_wins(
    hub: Runtime, app_client: Any
) -> None:
    s = next(s for s in stripe_subscriptions() if s["id"] == "sub_1")
    start = ts(s["start"]) or 0
    created = event(
        "ev_1", "subscription_created", {"subscription": subscription(s), "customer": customer(1)}, occurred_at=start
    )
    grown = subscription(s, version=ms(start + 40 * DAY))
    grown["subscription_items"][0].update(quantity=5, amount=5 * 4900)
    changed = event("ev_2", "subscription_changed", {"subscription": grown}, occurred_at=start + 40 * DAY)
    for body in (changed, created, changed, created):  # the change first, then late and repeated deliveries
        assert post_event(app_client, body).status_code == 200
    assert [post_event(app_client, b).json()["outcome"] for b in (created, changed)] == ["duplicate", "duplicate"]
    # the same late snapshot as a new event (Chargebee resends state): stale by its resource_version
    again = event("ev_1b", "subscription_changed", {"subscription": subscription(s)}, occurred_at=start)
    assert post_event(app_client, again).json()["outcome"] == "stale"
    lines = hub_rows(hub)["subscriptions"]
    assert [(line[0], line[4], line[5]) for line in lines] == [
        ("cb_sub_1/kizuna-team-USD-Monthly@2025-01-06", 5, 24500)
    ]
    assert received(hub) == 3

    shrunk = subscription(s, version=ms(start + 100 * DAY))
    shrunk["subscription_items"][0].update(quantity=2, amount=2 * 4900)
    later = event("ev_3", "subscription_changed", {"subscription": shrunk}, occurred_at=start + 100 * DAY)
    assert post_event(app_client, later).json()["outcome"] == "applied"
    change = s["start"] + dt.timedelta(days=100)
    versions = [(line[0], line[4], line[8], line[9]) for line in hub_rows(hub)["subscriptions"]]
    assert versions == [
        ("cb_sub_1/kizuna-team-USD-Monthly@2025-01-06", 5, s["start"], change),
        (f"cb_sub_1/kizuna-team-USD-Monthly@{change.isoformat()}", 2, change, None),
    ]


def test_a_failed_payment_marks_the_invoice_retrying_and_records_the_attempt_once(
    hub: Runtime, app_client: Any
) -> None:
    invoice = next(i for i in invoices() if i["id"] == "in_2")
    failed_at = invoice["date"] + DAY
    transaction = {
        "id": "txn_2",
        "object": "transaction",
        "customer_id": invoice["customer_id"],
        "subscription_id": invoice["subscription_id"],
        "type": "payment",
        "status": "failure",
        "amount": 13500,
        "currency_code": "USD",
        "date": failed_at,
        "error_code": "card_declined",
        "error_text": "カードが拒否されました",
        "payment_method": "card",
        "gateway": "stripe",
        "linked_invoices": [{"invoice_id": "in_2", "applied_amount": 13500, "invoice_status": "payment_due"}],
        "resource_version": ms(failed_at),
    }
    body = event(
        "ev_pf",
        "payment_failed",
        {"invoice": invoice, "transaction": transaction, "customer": customer(3)},
        occurred_at=failed_at,
    )
    for _ in range(3):
        assert post_event(app_client, body).status_code == 200
    rows = hub_rows(hub)
    assert [i[6] for i in rows["invoices"]] == ["retrying"]
    assert rows["payments"] == [("txn_2", "failed", 1, "card_declined", 13500)]

    exhausted = {**invoice, "status": "not_paid", "dunning_status": "exhausted", "next_retry_at": None}
    exhausted["resource_version"] = ms(failed_at + 10 * DAY)
    post_event(app_client, event("ev_np", "invoice_updated", {"invoice": exhausted}, occurred_at=failed_at + 10 * DAY))
    assert [i[6] for i in hub_rows(hub)["invoices"]] == ["failed"]


def test_coupons_net_mrr_forever_and_limited_period_but_not_one_time(hub: Runtime, app_client: Any) -> None:
    s = next(s for s in stripe_subscriptions() if s["id"] == "sub_1")  # USD 49.00 x 3 a month: 14,700 cents
    start = ts(s["start"]) or 0
    coupons = [
        coupon("FOREVER20", duration="forever", percentage=20.0),
        coupon("TEN-OFF-3M", duration="limited_period", amount=1000, currency="USD"),
        coupon("WELCOME50", duration="one_time", percentage=50.0),
    ]
    for n, c in enumerate(coupons):
        post_event(app_client, event(f"ev_c{n}", "coupon_created", {"coupon": c}, occurred_at=start - DAY))
    applied = [
        {"coupon_id": "FOREVER20", "applied_count": 1, "object": "coupon"},
        {"coupon_id": "WELCOME50", "applied_count": 1, "object": "coupon"},
    ]
    limited = {"coupon_id": "TEN-OFF-3M", "apply_till": start + 120 * DAY, "applied_count": 1, "object": "coupon"}
    steps = [
        (0, [*applied]),
        (30, [*applied, limited]),
        (120, [*applied, limited]),  # apply_till reached: Chargebee still lists it, it no longer applies
    ]
    for n, (days, attached) in enumerate(steps):
        sub = subscription(s, version=ms(start + days * DAY), coupons=attached)
        body = event(f"ev_s{n}", "subscription_changed", {"subscription": sub}, occurred_at=start + days * DAY)
        assert post_event(app_client, body).json()["outcome"] == "applied"
    first = s["start"]
    on30, on120 = first + dt.timedelta(days=30), first + dt.timedelta(days=120)
    assert sorted((x[8], x[9], x[5]) for x in hub_rows(hub)["subscriptions"]) == [
        (first, on30, 11760),  # 20 % off; the one-time 50 % never counts
        (on30, on120, 10760),  # and USD 10.00 off each monthly invoice while it lasts
        (on120, None, 11760),
    ]
