"""Coupons off Stripe MRR (ChartMogul's rule, docs/metrics.md): ``forever`` and ``repeating`` coupons reduce MRR
(a repeating one until its discount ends), a ``once`` coupon does not; percent and amount off; on the subscription
or one item; the same by webhooks, in either order of the discount's and the subscription's events, and by the
back-fill."""

from __future__ import annotations

import datetime as dt
from typing import Any

from kizuna.connectors import credentials
from kizuna.runtime import Runtime
from kizuna.stripe import jobs
from tests.imports.test_ready_mappings import stripe_subscriptions
from tests.stripe.conftest import API_KEY, SECRET
from tests.stripe.rows import hub_rows
from tests.stripe.stripe_api import StripePeer, coupon, discount, event, post_event, subscription, ts

DAY = 86400


def lines(hub: Runtime) -> list[tuple[Any, ...]]:
    """(contract line, start, end, MRR) of every version, in start order."""
    return sorted((s[1], s[8], s[9], s[5]) for s in hub_rows(hub)["subscriptions"])


def test_webhooks_net_recurring_coupons_off_mrr_in_any_order_and_leave_once_coupons_out(
    hub: Runtime, app_client: Any
) -> None:
    s = next(s for s in stripe_subscriptions() if s["id"] == "sub_1")  # USD 49.00 x 3 a month: 14,700 cents
    start = ts(s["start"]) or 0
    coupons = [
        coupon("FOREVER20", duration="forever", percent_off=20.0),
        coupon("TENOFF3M", duration="repeating", amount_off=1000, currency="usd", months=3),
        coupon("HALFOFFONCE", duration="once", percent_off=50.0),
    ]
    di = {
        "di_1": discount("di_1", "FOREVER20", subscription_id="sub_1", customer_id="cus_1", start=start),
        "di_2": discount(
            "di_2",
            "TENOFF3M",
            subscription_id="sub_1",
            customer_id="cus_1",
            start=start + 30 * DAY,
            end=start + 120 * DAY,
        ),
        "di_3": discount("di_3", "HALFOFFONCE", subscription_id="sub_1", customer_id="cus_1", start=start + 40 * DAY),
    }

    def with_discounts(*ids: str) -> dict[str, Any]:
        return {**subscription(s), "discounts": list(ids)}  # ids, as events carry them

    steps = [
        *(event(f"evt_c{n}", "coupon.created", c, created=start - DAY) for n, c in enumerate(coupons)),
        # the subscription's event names di_1 before its own event came: priced in full, then re-priced the same day
        event("evt_s1", "customer.subscription.created", with_discounts("di_1"), created=start),
        event("evt_d1", "customer.discount.created", di["di_1"], created=start),
        # di_2: its own event first, then the subscription's
        event("evt_d2", "customer.discount.created", di["di_2"], created=start + 30 * DAY),
        event("evt_s2", "customer.subscription.updated", with_discounts("di_1", "di_2"), created=start + 30 * DAY),
        event("evt_d3", "customer.discount.created", di["di_3"], created=start + 40 * DAY),
        event(
            "evt_s3", "customer.subscription.updated", with_discounts("di_1", "di_2", "di_3"), created=start + 40 * DAY
        ),
        # the repeating coupon runs out: Stripe removes the discount
        event("evt_d4", "customer.discount.deleted", di["di_2"], created=start + 120 * DAY),
        event("evt_s4", "customer.subscription.updated", with_discounts("di_1", "di_3"), created=start + 120 * DAY),
    ]
    for body in steps + steps[3:6]:  # and some delivered again
        assert post_event(app_client, body, SECRET).status_code == 200
    first = s["start"]
    on30, on120 = first + dt.timedelta(days=30), first + dt.timedelta(days=120)
    assert lines(hub) == [
        ("si_1", first, on30, 11760),  # 20 % off 14,700
        ("si_1", on30, on120, 11760 - 1000),  # and USD 10.00 off each monthly invoice
        ("si_1", on120, None, 11760),  # the once coupon never counted
    ]


def test_the_backfill_nets_coupons_on_subscriptions_and_on_items(hub: Runtime, peer: tuple[StripePeer, str]) -> None:
    state, url = peer
    credentials.save(hub.settings, "stripe", {"api_key": API_KEY, "api_base": url})
    today = ts(dt.datetime.now(dt.UTC).date()) or 0
    state.objects["coupons"] = [
        coupon("FOREVER20", duration="forever", percent_off=20.0),
        coupon("HALFOFFONCE", duration="once", percent_off=50.0),
        coupon("YEN5000", duration="forever", amount_off=5000, currency="jpy"),
        coupon("TENPCT6M", duration="repeating", percent_off=10.0, months=6),
    ]
    given = {
        "sub_1": [
            discount("di_1", "FOREVER20", subscription_id="sub_1", customer_id="cus_1", start=today - DAY),
            discount("di_3", "HALFOFFONCE", subscription_id="sub_1", customer_id="cus_1", start=today - DAY),
        ],
        "sub_3": [  # repeating, still running
            discount(
                "di_4",
                "TENPCT6M",
                subscription_id="sub_3",
                customer_id="cus_3",
                start=today - 30 * DAY,
                end=today + 60 * DAY,
            )
        ],
        "sub_7": [  # repeating, run out
            discount(
                "di_5",
                "TENPCT6M",
                subscription_id="sub_7",
                customer_id="cus_1",
                start=today - 200 * DAY,
                end=today - 20 * DAY,
            )
        ],
    }
    for sub in state.objects["subscriptions"]:
        sub["discounts"] = given.get(sub["id"], [])
        if sub["id"] == "sub_4":  # JPY 5,000 off the item's monthly invoice
            item = sub["items"]["data"][0]
            item["discounts"] = ["di_6"]
            sub["discounts"] = [
                discount(
                    "di_6", "YEN5000", subscription_id="sub_4", customer_id="cus_4", start=today - DAY, item=item["id"]
                )
            ]
    jobs.backfill(hub, client=jobs.client_of(hub.settings), actor="test", page_size=3)
    subscriptions = [q for kind, q in state.requests if kind == "subscriptions"]
    assert all("data.discounts" in q.values() for q in subscriptions)
    mrr = {line[0]: line[3] for line in lines(hub) if line[2] is None}
    assert mrr["si_1"] == round(14700 * 0.8)
    assert mrr["si_3"] == round(4500 * 0.9)
    assert mrr["si_7"] == 9800  # its coupon ran out
    assert mrr["si_4"] == 49000 - 5000
