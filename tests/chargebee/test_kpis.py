"""The KPIs computed from Chargebee's events (webhooks through the real app) and from its back-fill equal those
computed from the same subscriptions imported as Stripe's CSV exports (tests/imports/test_ready_mappings.py), as
Stripe's own do (tests/stripe/test_kpis.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from kizuna.chargebee import jobs
from kizuna.connectors import credentials
from kizuna.runtime import Runtime
from tests.chargebee.chargebee_api import ChargebeePeer, customer, event, invoices, ms, post_event, subscription
from tests.chargebee.conftest import CREDENTIALS
from tests.imports.test_ready_mappings import stripe_subscriptions
from tests.stripe.stripe_api import ts
from tests.stripe.test_kpis import assert_same, imported_kpis, kpis  # noqa: F401


def history() -> list[dict[str, Any]]:
    """The events Chargebee sent over the life of the export's subscriptions, oldest first."""
    out: list[dict[str, Any]] = []

    def add(kind: str, content: dict[str, Any], day: dt.date) -> None:
        out.append(event(f"ev_{len(out) + 1:04d}", kind, content, occurred_at=ts(day) or 0))

    for i in range(1, 7):
        add("customer_created", {"customer": customer(i)}, dt.date(2025, 1, i))
    for s in stripe_subscriptions():
        at = {d: ms(ts(s[d])) for d in ("start", "trial_end", "canceled", "ended") if s.get(d)}
        if s.get("trial_end") and s["status"] != "trialing":
            add("subscription_created", {"subscription": subscription(s, status="in_trial")}, s["start"])
            active = subscription(s, status="active", version=at["trial_end"])
            add("subscription_activated", {"subscription": active}, s["trial_end"])
        elif s["status"] == "canceled":
            add("subscription_created", {"subscription": subscription(s, status="active")}, s["start"])
            notice = subscription(s, status="non_renewing", version=at["canceled"])
            add("subscription_cancellation_scheduled", {"subscription": notice}, s["canceled"])
            ended = subscription(s, version=at["ended"])
            add("subscription_cancelled", {"subscription": ended}, s["ended"])
        else:
            add("subscription_created", {"subscription": subscription(s)}, s["start"])
    for invoice in invoices():
        day = dt.date.fromtimestamp(invoice["date"])
        posted = {**invoice, "status": "payment_due", "resource_version": ms(invoice["date"])}
        add("invoice_generated", {"invoice": posted}, day)
        if invoice["status"] != "payment_due":
            kind = "payment_succeeded" if invoice["status"] == "paid" else "invoice_updated"
            add(kind, {"invoice": invoice}, day + dt.timedelta(days=1))
    return sorted(out, key=lambda e: e["occurred_at"])


def test_kpis_from_webhooks_equal_kpis_from_the_csv_import(
    hub: Runtime,
    app_client: Any,
    imported_kpis: dict[str, pd.Series],  # noqa: F811
) -> None:
    events = history()
    for body in events + events[::3]:  # and some delivered again
        assert post_event(app_client, body).status_code == 200
    assert_same(kpis(hub), imported_kpis)


def test_kpis_from_the_backfill_equal_kpis_from_the_csv_import(
    hub: Runtime,
    peer: tuple[ChargebeePeer, str],
    imported_kpis: dict[str, pd.Series],  # noqa: F811
) -> None:
    _, url = peer
    credentials.save(hub.settings, "chargebee", {**CREDENTIALS, "api_base": url})
    jobs.backfill(hub, client=jobs.client_of(hub.settings), actor="test", page_size=4)
    assert_same(kpis(hub), imported_kpis)
