"""The KPIs computed from Stripe's events (webhooks through the real app) and from its back-fill equal those computed
from the same subscriptions imported as Stripe's CSV exports (tests/imports/test_ready_mappings.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import select

from kizuna.billing.models import Subscription
from kizuna.connectors import credentials
from kizuna.runtime import Runtime
from kizuna.settings import Settings
from kizuna.stripe import jobs
from tests.imports.test_ready_mappings import load, refresh_kpis, series, stripe_subscriptions, write_stripe
from tests.stripe.conftest import API_KEY, SECRET, open_hub
from tests.stripe.stripe_api import StripePeer, customer, event, invoices, post_event, subscription, ts

METRICS = ("mrr_minor", "customers", "logo_churn_rate")


def history() -> list[dict[str, Any]]:
    """The events Stripe sent over the life of the export's subscriptions, oldest first."""
    out: list[dict[str, Any]] = []

    def add(kind: str, obj: dict[str, Any], day: dt.date) -> None:
        out.append(event(f"evt_{len(out) + 1:04d}", kind, obj, created=ts(day) or 0))

    for i in range(1, 7):
        add("customer.created", customer(i), dt.date(2025, 1, i))
    for s in stripe_subscriptions():
        if s.get("trial_end") and s["status"] != "trialing":
            add("customer.subscription.created", subscription(s, status="trialing"), s["start"])
            add("customer.subscription.updated", subscription(s, status="active"), s["trial_end"])
        elif s["status"] == "canceled":
            add("customer.subscription.created", subscription(s, status="active"), s["start"])
            add(
                "customer.subscription.updated",
                subscription(s, status="active", cancel_at_period_end=True),
                s["canceled"],
            )
            add("customer.subscription.deleted", subscription(s), s["ended"])
        else:
            add("customer.subscription.created", subscription(s), s["start"])
    for invoice in invoices():
        add("invoice.finalized", {**invoice, "status": "open"}, dt.date.fromtimestamp(invoice["created"]))
        if invoice["status"] == "paid":
            add("invoice.paid", invoice, dt.date.fromtimestamp(invoice["created"]) + dt.timedelta(days=1))
        elif invoice["status"] == "uncollectible":
            add(
                "invoice.marked_uncollectible",
                invoice,
                dt.date.fromtimestamp(invoice["created"]) + dt.timedelta(days=30),
            )
    return sorted(out, key=lambda e: e["created"])


def kpis(runtime: Runtime) -> dict[str, pd.Series]:
    refresh_kpis(runtime)
    return {m: series(runtime, m, by="currency") for m in METRICS}


@pytest.fixture(scope="module")
def imported_kpis(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.Series]:
    """The KPIs of the same data imported as Stripe's CSV exports (computed once for the module)."""
    tmp_path = tmp_path_factory.mktemp("imported")
    runtime = open_hub(Settings(data_dir=tmp_path / "imported", kpi_processes=1, scheduler_in_process=False))
    try:
        files = write_stripe(tmp_path)
        for entity in ("products", "plans", "accounts", "subscriptions", "invoices"):
            load(runtime, entity, files[entity], "stripe")
        return kpis(runtime)
    finally:
        runtime.close()


def assert_same(got: dict[str, pd.Series], want: dict[str, pd.Series]) -> None:
    for metric in METRICS:
        pd.testing.assert_series_equal(got[metric].sort_index(), want[metric].sort_index(), check_names=False)
    assert want["mrr_minor"].max() > 0 and want["logo_churn_rate"].max() > 0  # the test can fail


def test_kpis_from_webhooks_equal_kpis_from_the_csv_import(
    hub: Runtime, app_client: Any, imported_kpis: dict[str, pd.Series]
) -> None:
    events = history()
    for body in events + events[::3]:  # and some delivered again
        assert post_event(app_client, body, SECRET).status_code == 200
    with hub.transaction() as session:
        trial = session.scalar(select(Subscription).where(Subscription.external_id == "si_4@2025-08-01"))
        assert trial is not None and trial.status == "trial" and trial.end_date == dt.date(2025, 8, 15)
    assert_same(kpis(hub), imported_kpis)


def test_kpis_from_the_backfill_equal_kpis_from_the_csv_import(
    hub: Runtime, peer: tuple[StripePeer, str], imported_kpis: dict[str, pd.Series]
) -> None:
    _, url = peer
    credentials.save(hub.settings, "stripe", {"api_key": API_KEY, "api_base": url})
    jobs.backfill(hub, client=jobs.client_of(hub.settings), actor="test", page_size=4)
    assert_same(kpis(hub), imported_kpis)
