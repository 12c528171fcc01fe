"""A loopback peer serving the shapes of Stripe's real API (from its API reference), and webhook signing as Stripe
signs.

- ``GET /v1/{coupons,customers,prices,subscriptions,invoices}``: list objects ``{object: "list", data, has_more,
  url}``, newest first, paged by ``limit`` and ``starting_after``; ``expand[]=data.product`` expands a price's
  product, ``expand[]=data.discounts`` a subscription's discounts (ids otherwise, as in events).
- Every response carries ``Request-Id``; errors are ``{error: {type, code, message}}``; a 429 says
  ``Stripe-Should-Retry: true`` (Stripe's lock and rate-limit errors), a 400 ``false``.
- ``faults``: per path, the statuses to answer before the real page (the library retries 429/5xx on its own);
  ``refuse_at``: per path, the number of the request answered with a non-retryable 400 (a crash mid-back-fill).

The data are the subscriptions of tests/imports/test_ready_mappings.py (its Stripe CSV exports), as the API shows
them today, with Japanese customer names.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import hmac
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tests.imports.test_ready_mappings import PRICES, stripe_subscriptions

_request_ids = itertools.count(1)


def ts(day: dt.date | None) -> int | None:
    """A day as Stripe's Unix seconds (00:00 UTC)."""
    return None if day is None else calendar.timegm(day.timetuple())


def customer(i: int) -> dict[str, Any]:
    names = [
        "株式会社さくら製作所",
        "合同会社みどり商事",
        "株式会社ひかり物流",
        "有限会社あおば",
        "株式会社つばさ",
        "株式会社こだま",
    ]
    return {
        "id": f"cus_{i}",
        "object": "customer",
        "created": ts(dt.date(2025, 1, i)),
        "currency": None,
        "delinquent": False,
        "description": None,
        "email": f"billing@c{i}.example",
        "livemode": False,
        "metadata": {},
        "name": names[i - 1],
    }


def product() -> dict[str, Any]:
    return {"id": "prod_team", "object": "product", "active": True, "name": "kizuna Team", "created": 1733011200}


def price(price_id: str, *, expand: bool = True) -> dict[str, Any]:
    amount, currency, interval, count = PRICES[price_id]
    minor = round(float(amount) * (1 if currency == "jpy" else 100))  # Stripe: the smallest unit (JPY: yen)
    return {
        "id": price_id,
        "object": "price",
        "active": True,
        "billing_scheme": "per_unit",
        "created": 1733011200,
        "currency": currency,
        "livemode": False,
        "nickname": None,
        "product": product() if expand else "prod_team",
        "recurring": {"interval": interval, "interval_count": count, "usage_type": "licensed"},
        "type": "recurring",
        "unit_amount": minor,
    }


def subscription(s: dict[str, Any], *, status: str | None = None, cancel_at_period_end: bool = False) -> dict[str, Any]:
    """Stripe's subscription object for a row of ``stripe_subscriptions()`` (``status``: as it was at another time)."""
    status = status or s["status"]
    start = ts(s["start"])
    item = {
        "id": f"si_{s['id'][4:]}",
        "object": "subscription_item",
        "created": start,
        "current_period_start": start,
        "current_period_end": None,
        "price": price(s["price"], expand=False),
        "quantity": s["qty"],
        "subscription": s["id"],
    }
    canceled = ts(s.get("canceled")) if status == "canceled" or cancel_at_period_end else None
    return {
        "id": s["id"],
        "object": "subscription",
        "cancel_at": ts(s.get("ended")) if cancel_at_period_end else None,
        "cancel_at_period_end": cancel_at_period_end,
        "canceled_at": canceled,
        "created": start,
        "currency": PRICES[s["price"]][1],
        "customer": s["cus"],
        "discounts": [],
        "ended_at": ts(s.get("ended")) if status == "canceled" else None,
        "items": {
            "object": "list",
            "data": [item],
            "has_more": False,
            "url": f"/v1/subscription_items?subscription={s['id']}",
        },
        "livemode": False,
        "pause_collection": None,
        "start_date": start,
        "status": status,
        "trial_end": ts(s.get("trial_end")),
        "trial_start": start if s.get("trial_end") else None,
    }


def invoices() -> list[dict[str, Any]]:
    """The invoices of the CSV export (in_1..in_4) as the API gives them (API 2025-03-31 on: ``parent``)."""
    rows = [
        ("in_1", "cus_1", "sub_1", dt.date(2026, 10, 6), 14700, "usd", "paid"),
        ("in_2", "cus_3", "sub_3", dt.date(2026, 9, 10), 13500, "usd", "open"),
        ("in_3", "cus_4", "sub_4", dt.date(2026, 10, 15), 49000, "jpy", "paid"),
        ("in_4", "cus_6", "sub_6", dt.date(2026, 6, 1), 19600, "jpy", "uncollectible"),
    ]
    return [
        {
            "id": iid,
            "object": "invoice",
            "amount_due": total,
            "amount_paid": total if status == "paid" else 0,
            "attempt_count": 1,
            "attempted": status != "open",
            "created": ts(day),
            "currency": currency,
            "customer": cus,
            "due_date": None,
            "next_payment_attempt": None,
            "parent": {"type": "subscription_details", "subscription_details": {"subscription": sub}},
            "status": status,
            "status_transitions": {"paid_at": ts(day) if status == "paid" else None, "finalized_at": ts(day)},
            "total": total,
        }
        for iid, cus, sub, day, total, currency, status in rows
    ]


def coupon(
    coupon_id: str,
    *,
    duration: str,
    percent_off: float | None = None,
    amount_off: int | None = None,
    currency: str | None = None,
    months: int | None = None,
) -> dict[str, Any]:
    """Stripe's coupon object (``amount_off`` in the minor unit of ``currency``)."""
    return {
        "id": coupon_id,
        "object": "coupon",
        "amount_off": amount_off,
        "created": 1733011200,
        "currency": currency,
        "duration": duration,
        "duration_in_months": months,
        "livemode": False,
        "max_redemptions": None,
        "metadata": {},
        "name": coupon_id,
        "percent_off": percent_off,
        "redeem_by": None,
        "times_redeemed": 1,
        "valid": True,
    }


def discount(
    discount_id: str,
    coupon_id: str,
    *,
    subscription_id: str,
    customer_id: str,
    start: int,
    end: int | None = None,
    item: str | None = None,
) -> dict[str, Any]:
    """Stripe's discount object (API 2025-09-30 on: the coupon under ``source``, an id unless expanded)."""
    return {
        "id": discount_id,
        "object": "discount",
        "checkout_session": None,
        "customer": customer_id,
        "end": end,
        "invoice": None,
        "invoice_item": None,
        "promotion_code": None,
        "source": {"coupon": coupon_id, "type": "coupon"},
        "start": start,
        "subscription": subscription_id,
        "subscription_item": item,
    }


def catalogue() -> dict[str, list[dict[str, Any]]]:
    """Every list's objects, newest first as Stripe lists them."""
    subs = [subscription(s) for s in stripe_subscriptions()]
    return {
        "coupons": [],
        "customers": [customer(i) for i in range(6, 0, -1)],
        "prices": [price(p) for p in reversed(list(PRICES))],
        "subscriptions": sorted(subs, key=lambda s: -s["created"]),
        "invoices": sorted(invoices(), key=lambda i: -i["created"]),
    }


@dataclass
class StripePeer:
    """The peer's state: its objects, the faults to play and the requests it saw (path, query)."""

    objects: dict[str, list[dict[str, Any]]] = field(default_factory=catalogue)
    faults: dict[str, list[int]] = field(default_factory=dict)
    refuse_at: dict[str, int] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/v1/{kind}")
        def list_objects(kind: str, request: Request) -> JSONResponse:
            query = dict(request.query_params)
            self.requests.append((kind, query))
            headers = {"Request-Id": f"req_{next(_request_ids):014d}"}
            if self.faults.get(kind):
                status = self.faults[kind].pop(0)
                if status == 429:
                    headers["Stripe-Should-Retry"] = "true"
                    body = {"type": "invalid_request_error", "code": "rate_limit", "message": "Too many requests"}
                else:
                    body = {"type": "api_error", "message": "An unknown error occurred"}
                return JSONResponse({"error": body}, status_code=status, headers=headers)
            if self.refuse_at.get(kind) == sum(1 for k, _ in self.requests if k == kind):
                headers["Stripe-Should-Retry"] = "false"
                error = {"type": "invalid_request_error", "code": "resource_missing", "message": "No such list"}
                return JSONResponse({"error": error}, status_code=400, headers=headers)
            if request.headers.get("authorization") != "Bearer sk_test_kizuna":
                error = {"type": "invalid_request_error", "message": "Invalid API Key provided"}
                return JSONResponse({"error": error}, status_code=401, headers=headers)
            data = self.objects[kind]
            expand = [v for k, v in request.query_params.multi_items() if k.startswith("expand")]
            if kind == "prices" and "data.product" not in expand:
                data = [{**p, "product": p["product"]["id"]} for p in data]
            if kind == "subscriptions" and "data.discounts" not in expand:
                data = [{**s, "discounts": [d["id"] for d in s.get("discounts") or []]} for s in data]
            start = 0
            if "starting_after" in query:
                start = next(i for i, o in enumerate(data) if o["id"] == query["starting_after"]) + 1
            limit = int(query.get("limit", 10))
            page = data[start : start + limit]
            body = {"object": "list", "data": page, "has_more": start + limit < len(data), "url": f"/v1/{kind}"}
            return JSONResponse(body, headers=headers)

        return app


def event(event_id: str, kind: str, obj: dict[str, Any], *, created: int) -> dict[str, Any]:
    """A Stripe event (snapshot payload) around ``obj``."""
    return {
        "id": event_id,
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": created,
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": kind,
    }


def signed(payload: str, secret: str, *, at: int | None = None) -> str:
    """The ``Stripe-Signature`` header Stripe sends: ``t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.payload">``."""
    at = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{at}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={at},v1={mac}"


def post_event(client: Any, body: dict[str, Any], secret: str, *, at: int | None = None) -> Any:
    payload = json.dumps(body, ensure_ascii=False)
    return client.post(
        "/webhooks/stripe",
        content=payload.encode(),
        headers={"Stripe-Signature": signed(payload, secret, at=at), "Content-Type": "application/json"},
    )
