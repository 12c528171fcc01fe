"""A loopback peer serving the shapes of Chargebee's API v2 (from its API reference), over HTTPS as Chargebee's
library speaks only that, and Chargebee's webhook deliveries (HTTP Basic auth).

- ``GET /api/v2/{coupons,item_prices,customers,subscriptions,invoices}``: ``{"list": [{"<type>": {...}}, ...],
  (a subscription's entry also has its ``customer``)
  "next_offset": "[\\"<ms>\\",\\"<n>\\"]"}`` (no ``next_offset`` on the last page), newest first, paged by ``limit``
  and ``offset``; the API key is the Basic-auth user with no password.
- Errors are ``{message, type, api_error_code, error_code, param, http_status_code}``; a 429 is
  ``api_request_limit_exceeded`` with ``Retry-After`` (seconds); a 5xx is ``internal_error`` /
  ``internal_temporary_error``; a 502 is a proxy's HTML page.
- ``faults``: per list, the statuses to answer before the real page (0: answer only after ``HANG_SECONDS``);
  ``refuse_at``: per list, the number of the request answered with a non-retryable 400 (a crash mid-back-fill).

The data are the subscriptions of tests/imports/test_ready_mappings.py (the Stripe CSV exports) as Chargebee's
Product Catalog 2.0 has them, with Japanese customer names.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from tests.imports.test_ready_mappings import PRICES, stripe_subscriptions
from tests.stripe.stripe_api import ts

API_KEY = "test_kizunaCbKey0123456789"
WEBHOOK_USER = "kizuna-hook"
WEBHOOK_PASSWORD = "hook-password-0123"
SITE = "kizuna-test"
#: how long a hanging answer takes (fault 0)
HANG_SECONDS = 1.5

#: the Stripe export's prices as Chargebee item prices: id, period, period unit
ITEM_PRICES = {
    "price_team_m": ("kizuna-team-USD-Monthly", 1, "month"),
    "price_team_y": ("kizuna-team-USD-Yearly", 1, "year"),
    "price_team_q": ("kizuna-team-USD-Every-3-months", 3, "month"),
    "price_jp_m": ("kizuna-team-JPY-Monthly", 1, "month"),
}

NAMES = [
    ("株式会社さくら製作所", "佐藤", "花子"),
    ("合同会社みどり商事", "鈴木", "一郎"),
    ("株式会社ひかり物流", "高橋", "美咲"),
    ("有限会社あおば", "田中", "健"),
    ("株式会社つばさ", "伊藤", "陽子"),
    ("株式会社こだま", "渡辺", "誠"),
]


def ms(seconds: int | None) -> int:
    return 1000 * int(seconds or 0)


def customer_id(stripe_id: str) -> str:
    return f"cb_{stripe_id}"


def customer(i: int, *, version: int | None = None) -> dict[str, Any]:
    company, last, first = NAMES[i - 1]
    created = ts(dt.date(2025, 1, i)) or 0
    return {
        "id": customer_id(f"cus_{i}"),
        "object": "customer",
        "first_name": first,
        "last_name": last,
        "email": f"billing@c{i}.example.jp",
        "company": company,
        "auto_collection": "on",
        "net_term_days": 0,
        "allow_direct_debit": False,
        "created_at": created,
        "updated_at": created,
        "taxability": "taxable",
        "pii_cleared": "active",
        "channel": "web",
        "resource_version": version or ms(created),
        "deleted": False,
        "card_status": "valid",
        "promotional_credits": 0,
        "refundable_credits": 0,
        "excess_payments": 0,
        "unbilled_charges": 0,
        "preferred_currency_code": "USD" if i in (1, 2, 3, 5) else "JPY",
        "mrr": 0,
    }


def item_price(stripe_price: str) -> dict[str, Any]:
    amount, currency, _, _ = PRICES[stripe_price]
    price_id, period, unit = ITEM_PRICES[stripe_price]
    return {
        "id": price_id,
        "object": "item_price",
        "name": price_id,
        "external_name": "kizuna Team",
        "item_family_id": "kizuna",
        "item_id": "kizuna-team",
        "item_type": "plan",
        "status": "active",
        "pricing_model": "per_unit",
        "price": round(float(amount) * (1 if currency == "jpy" else 100)),
        "period": period,
        "period_unit": unit,
        "currency_code": currency.upper(),
        "free_quantity": 0,
        "is_taxable": True,
        "created_at": 1733011200,
        "updated_at": 1733011200,
        "resource_version": 1733011200000,
    }


def subscription(
    s: dict[str, Any], *, status: str | None = None, version: int | None = None, coupons: list[Any] | None = None
) -> dict[str, Any]:
    """Chargebee's subscription for a row of ``stripe_subscriptions()`` (``status``: Chargebee's, as it was at
    another time; by default what the row's Stripe status is in Chargebee's words)."""
    status = (
        status
        or {"active": "active", "past_due": "active", "canceled": "cancelled", "trialing": "in_trial"}[s["status"]]
    )
    amount, currency, _, _ = PRICES[s["price"]]
    price_id, period, unit = ITEM_PRICES[s["price"]]
    unit_price = round(float(amount) * (1 if currency == "jpy" else 100))
    start = ts(s["start"]) or 0
    trial_end = ts(s.get("trial_end"))
    return {
        "id": f"cb_{s['id']}",
        "object": "subscription",
        "customer_id": customer_id(s["cus"]),
        "billing_period": period,
        "billing_period_unit": unit,
        "currency_code": currency.upper(),
        "status": status,
        "created_at": start,
        "started_at": start,
        "activated_at": trial_end or start,
        "trial_start": start if trial_end else None,
        "trial_end": trial_end,
        "cancelled_at": ts(s.get("ended")) if status in ("non_renewing", "cancelled") else None,
        "cancel_reason": "not_paid" if status == "cancelled" else None,
        "current_term_start": None,
        "current_term_end": None,
        "next_billing_at": None,
        "updated_at": (version or ms(start)) // 1000,
        "resource_version": version or ms(start),
        "deleted": False,
        "has_scheduled_changes": False,
        "due_invoices_count": 0,
        "auto_collection": "on",
        "subscription_items": [
            {
                "item_price_id": price_id,
                "item_type": "plan",
                "quantity": s["qty"],
                "unit_price": unit_price,
                "amount": unit_price * s["qty"],
                "free_quantity": 0,
                "object": "subscription_item",
            }
        ],
        "coupons": coupons or [],
    }


def invoices() -> list[dict[str, Any]]:
    """The export's invoices (in_1..in_4) as Chargebee's: ``paid``, ``payment_due`` (in dunning) and ``voided``."""
    rows = [
        ("in_1", "cus_1", "sub_1", dt.date(2026, 10, 6), 14700, "USD", "paid"),
        ("in_2", "cus_3", "sub_3", dt.date(2026, 9, 10), 13500, "USD", "payment_due"),
        ("in_3", "cus_4", "sub_4", dt.date(2026, 10, 15), 49000, "JPY", "paid"),
        ("in_4", "cus_6", "sub_6", dt.date(2026, 6, 1), 19600, "JPY", "voided"),
    ]
    out = []
    for iid, cus, sub, day, total, currency, status in rows:
        at = ts(day) or 0
        out.append(
            {
                "id": iid,
                "object": "invoice",
                "customer_id": customer_id(cus),
                "subscription_id": f"cb_{sub}",
                "recurring": True,
                "status": status,
                "date": at,
                "due_date": at,
                "net_term_days": 0,
                "currency_code": currency,
                "total": total,
                "amount_paid": total if status == "paid" else 0,
                "amount_due": 0 if status == "paid" else total,
                "amount_adjusted": 0,
                "write_off_amount": 0,
                "credits_applied": 0,
                "paid_at": at + 86400 if status == "paid" else None,
                "dunning_status": "in_progress" if status == "payment_due" else None,
                "next_retry_at": at + 3 * 86400 if status == "payment_due" else None,
                "updated_at": at,
                "resource_version": ms(at) + (86400_000 if status != "payment_due" else 0),
                "deleted": False,
                "line_items": [],
            }
        )
    return out


def coupon(
    coupon_id: str,
    *,
    duration: str,
    percentage: float | None = None,
    amount: int | None = None,
    currency: str | None = None,
    apply_on: str = "invoice_amount",
    item_prices: list[str] | None = None,
) -> dict[str, Any]:
    """Chargebee's coupon (Product Catalog 2.0)."""
    return {
        "id": coupon_id,
        "object": "coupon",
        "name": coupon_id,
        "discount_type": "percentage" if percentage is not None else "fixed_amount",
        "discount_percentage": percentage,
        "discount_amount": amount,
        "currency_code": currency,
        "duration_type": duration,
        "period": 3 if duration == "limited_period" else None,
        "period_unit": "month" if duration == "limited_period" else None,
        "status": "active",
        "apply_on": apply_on,
        "created_at": 1733011200,
        "updated_at": 1733011200,
        "resource_version": 1733011200000,
        "item_constraints": [
            {
                "item_type": "plan",
                "constraint": "specific" if item_prices else "all",
                "item_price_ids": item_prices,
            }
        ],
    }


def catalogue() -> dict[str, list[dict[str, Any]]]:
    """Every list's objects (newest first, as Chargebee lists them by default)."""
    subs = [subscription(s) for s in stripe_subscriptions()]
    for sub, s in zip(subs, stripe_subscriptions(), strict=True):
        last = max(d for d in (s["start"], s.get("trial_end"), s.get("ended")) if d is not None)
        sub["resource_version"] = ms(ts(last))
    return {
        "coupons": [],
        "item_prices": [item_price(p) for p in reversed(list(PRICES))],
        "customers": [customer(i) for i in range(6, 0, -1)],
        "subscriptions": sorted(subs, key=lambda s: -s["created_at"]),
        "invoices": sorted(invoices(), key=lambda i: -i["date"]),
    }


def error(status: int, code: str, message: str, *, kind: str | None = None, param: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"message": message, "api_error_code": code, "error_code": code, "http_status_code": status}
    if kind is not None:
        body["type"] = kind
    if param is not None:
        body["param"] = param
    return body


@dataclass
class ChargebeePeer:
    """The peer's state: its objects, the faults to play and the requests it saw (list, query)."""

    objects: dict[str, list[dict[str, Any]]] = field(default_factory=catalogue)
    faults: dict[str, list[int]] = field(default_factory=dict)
    refuse_at: dict[str, int] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def app(self) -> FastAPI:
        app = FastAPI()
        singular = {
            "coupons": "coupon",
            "item_prices": "item_price",
            "customers": "customer",
            "subscriptions": "subscription",
            "invoices": "invoice",
        }

        @app.get("/api/v2/{kind}")
        def list_objects(kind: str, request: Request) -> Response:
            query = dict(request.query_params)
            self.requests.append((kind, query))
            if self.faults.get(kind):
                status = self.faults[kind].pop(0)
                if status == 0:  # no answer in time: the client gives up, the peer answers later
                    time.sleep(HANG_SECONDS)
                    return JSONResponse({"list": []})
                if status == 429:
                    body = error(
                        429,
                        "api_request_limit_exceeded",
                        "Sorry, access has been blocked temporarily due to request count exceeding acceptable limits.",
                    )
                    return JSONResponse(body, status_code=429, headers={"Retry-After": "1"})
                if status == 502:  # a proxy in front of Chargebee: an HTML page, not Chargebee's JSON
                    return HTMLResponse("<html><body><h1>502 Bad Gateway</h1></body></html>", status_code=502)
                code = "internal_temporary_error" if status == 503 else "internal_error"
                return JSONResponse(error(status, code, "Sorry, something went wrong."), status_code=status)
            if self.refuse_at.get(kind) == sum(1 for k, _ in self.requests if k == kind):
                body = error(400, "invalid_request", "offset : invalid value", kind="invalid_request", param="offset")
                return JSONResponse(body, status_code=400)
            expected = "Basic " + base64.b64encode(f"{API_KEY}:".encode()).decode()
            if request.headers.get("authorization") != expected:
                body = error(401, "api_authentication_failed", "Sorry, authentication failed. Invalid api key")
                return JSONResponse(body, status_code=401)
            data = self.objects[kind]
            start = int(json.loads(query["offset"])[1]) if "offset" in query else 0
            limit = int(query.get("limit", 10))
            page = data[start : start + limit]
            customers = {c["id"]: c for c in self.objects["customers"]}
            entries = [
                {singular[kind]: o, **({"customer": customers[o["customer_id"]]} if kind == "subscriptions" else {})}
                for o in page
            ]  # a subscription comes with its customer
            body: dict[str, Any] = {"list": entries}
            if start + limit < len(data):
                body["next_offset"] = json.dumps(
                    [str(data[start + limit - 1].get("resource_version", 0)), str(start + limit)]
                )
            return JSONResponse(body)

        return app


def event(event_id: str, kind: str, content: dict[str, Any], *, occurred_at: int) -> dict[str, Any]:
    """A Chargebee event (API v2) carrying ``content`` (``{"subscription": {...}, "customer": {...}}``)."""
    return {
        "id": event_id,
        "occurred_at": occurred_at,
        "source": "admin_console",
        "user": "ops@kizuna.example",
        "object": "event",
        "api_version": "v2",
        "content": content,
        "event_type": kind,
        "webhook_status": "scheduled",
    }


def basic(user: str = WEBHOOK_USER, password: str = WEBHOOK_PASSWORD) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def post_event(client: Any, body: dict[str, Any], *, auth: str | None = None) -> Any:
    """Deliver ``body`` as Chargebee does: JSON with the endpoint's Basic-auth pair."""
    headers = {"Content-Type": "application/json", "Authorization": auth if auth is not None else basic()}
    return client.post("/webhooks/chargebee", content=json.dumps(body, ensure_ascii=False).encode(), headers=headers)
