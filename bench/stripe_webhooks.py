"""Benchmark: Stripe webhooks into kizuna — throughput (events/s) and the delay from an event to an updated MRR.

    nice -n 15 .venv/bin/python bench/stripe_webhooks.py --customers 300 --clients 4

A fresh SQLite data directory, ``kizuna serve``'s app (``create_app``) under uvicorn on loopback, and signed Stripe
events (``Stripe-Signature`` as Stripe computes it) posted over HTTP by ``--clients`` concurrent senders: for each
customer a ``customer.created`` and a ``customer.subscription.created``, then one ``customer.subscription.updated``
(a seat more) each. Figures: events/s over all deliveries (each verified by Stripe's library, recorded once, applied
in its own transaction), the latency of one delivery (p50/p95), then the delay from one more seat change sent to
(a) the account's MRR in the hub (the subscription lines: written when the 200 comes back) and (b) the month's MRR
KPI in the stored snapshot and (c) a playbook fired for a new customer (``kizuna refresh --only kpis,playbooks``
run right after, the hub having been refreshed before). Prints figures; not a test.
"""

from __future__ import annotations

import argparse
import calendar
import datetime as dt
import hashlib
import hmac
import json
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy import func, select

SECRET = "whsec_bench_0123456789"
START = dt.date(2026, 1, 5)
PLAYBOOK = """
key: stripe-new-customer
name: {ja: Stripe の新規顧客, en: New Stripe customer}
enabled: true
trigger: {type: account_created, within_days: 3}
actions:
  - type: create_task
    title: {ja: "キックオフ: {{ account.name }}", en: "Kickoff: {{ account.name }}"}
    due_in_days: 5
"""


def _sign(payload: str, at: int) -> str:
    mac = hmac.new(SECRET.encode(), f"{at}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={at},v1={mac}"


def _seconds(day: dt.date) -> int:
    return calendar.timegm(day.timetuple())


def _subscription(i: int, quantity: int) -> dict[str, Any]:
    start = _seconds(START)
    price = {
        "id": "price_team_m",
        "object": "price",
        "currency": "jpy",
        "product": "prod_team",
        "recurring": {"interval": "month", "interval_count": 1},
        "type": "recurring",
        "unit_amount": 9800,
    }
    item = {"id": f"si_{i}", "object": "subscription_item", "price": price, "quantity": quantity, "created": start}
    return {
        "id": f"sub_{i}",
        "object": "subscription",
        "customer": f"cus_{i}",
        "status": "active",
        "start_date": start,
        "created": start,
        "cancel_at_period_end": False,
        "items": {"object": "list", "data": [item], "has_more": False, "url": "/v1/subscription_items"},
    }


def _event(n: int, kind: str, obj: dict[str, Any], created: int) -> str:
    body = {"id": f"evt_{n:08d}", "object": "event", "type": kind, "created": created, "data": {"object": obj}}
    return json.dumps(body, ensure_ascii=False)


def _post(client: httpx.Client, payload: str) -> float:
    started = time.perf_counter()
    response = client.post(
        "/webhooks/stripe",
        content=payload.encode(),
        headers={"Stripe-Signature": _sign(payload, int(time.time())), "Content-Type": "application/json"},
    )
    response.raise_for_status()
    return time.perf_counter() - started


def _account_mrr(runtime: Any, customer: str) -> int:
    from kizuna.accounts.models import Account
    from kizuna.billing.models import Subscription

    with runtime.transaction() as session:
        return int(
            session.scalar(
                select(func.coalesce(func.sum(Subscription.mrr_minor), 0))
                .join(Account, Account.id == Subscription.account_id)
                .where(Account.external_id == customer, Subscription.end_date.is_(None))
            )
            or 0
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=300)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()

    from kizuna.accounts.models import Account
    from kizuna.connectors import credentials
    from kizuna.db import utcnow
    from kizuna.domains import refresh
    from kizuna.hub.watermark import record_refresh
    from kizuna.kpis.service import load_kpi
    from kizuna.migrations import upgrade
    from kizuna.playbooks.models import PlaybookRunAccount
    from kizuna.playbooks.service import import_playbook
    from kizuna.runtime import Runtime
    from kizuna.settings import Settings
    from kizuna.web.app import create_app

    folder = Path(tempfile.mkdtemp(prefix="kizuna-stripe-bench-"))
    settings = Settings(data_dir=folder / "data", scheduler_in_process=False, kpi_processes=1)
    settings.ensure_dirs()
    upgrade(settings.sqlalchemy_url)
    credentials.save(settings, "stripe", {"webhook_secret": SECRET})
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    base = f"http://127.0.0.1:{port}"

    t0 = _seconds(START)
    n = 0
    setup, changes = [], []
    for i in range(args.customers):
        customer = {"id": f"cus_{i}", "object": "customer", "name": f"株式会社ベンチ{i}", "created": t0}
        setup.append(_event(n := n + 1, "customer.created", customer, t0))
        setup.append(_event(n := n + 1, "customer.subscription.created", _subscription(i, 3), t0))
        changes.append(_event(n := n + 1, "customer.subscription.updated", _subscription(i, 4), t0 + 86400 * 40))

    clients = [httpx.Client(base_url=base, timeout=60) for _ in range(args.clients)]
    latencies: list[float] = []
    started = time.perf_counter()
    with ThreadPoolExecutor(args.clients) as pool:
        for batch in (setup, changes):  # a subscription after its customer
            latencies += pool.map(lambda p: _post(clients[hash(p) % len(clients)], p), batch)
    elapsed = time.perf_counter() - started
    events = len(setup) + len(changes)
    print(f"webhooks: {events} events in {elapsed:.1f} s = {events / elapsed:.0f} events/s with {args.clients} senders")
    q = statistics.quantiles(latencies, n=20)
    print(f"one delivery: p50 {statistics.median(latencies) * 1000:.1f} ms, p95 {q[18] * 1000:.1f} ms")

    runtime = Runtime.open(settings)
    as_of = dt.date.today()
    refresh(runtime, as_of=as_of, only=["kpis"])
    with runtime.transaction(write=True) as session:
        # a playbook that applies to a new Stripe customer, and a hub refreshed before (playbooks act on what is new)
        import_playbook(session, actor="bench", yaml_text=PLAYBOOK)
        record_refresh(session, as_of=as_of, ran_at=utcnow(), acted=False)
    time.sleep(1.0)  # Stripe's times are whole seconds: the new customer comes after the recorded refresh
    sent = time.perf_counter()
    _post(clients[0], _event(n + 1, "customer.subscription.updated", _subscription(0, 10), t0 + 86400 * 80))
    hub_delay = time.perf_counter() - sent
    assert _account_mrr(runtime, "cus_0") == 10 * 9800
    newcomer = {"id": "cus_new", "object": "customer", "name": "株式会社あたらし", "created": int(time.time())}
    _post(clients[0], _event(n + 2, "customer.created", newcomer, int(time.time())))
    refresh(runtime, as_of=as_of, only=["kpis", "playbooks"])
    kpi_delay = time.perf_counter() - sent
    with runtime.transaction() as session:
        mrr = load_kpi(session, names=["mrr_minor"], as_of=as_of)
        fired = session.scalar(
            select(func.count())
            .select_from(PlaybookRunAccount)
            .join(Account, Account.id == PlaybookRunAccount.account_id)
            .where(Account.external_id == "cus_new", PlaybookRunAccount.outcome == "queued")
        )
    latest = float(mrr.sort_values("month")["value"].iloc[-1])
    expected = (args.customers - 1) * 4 * 9800 + 10 * 9800
    print(f"event -> account MRR in the hub: {hub_delay * 1000:.1f} ms (the webhook's own transaction)")
    print(f"event -> MRR KPI refreshed: {kpi_delay:.2f} s (MRR {latest:,.0f} JPY, expected {expected:,} JPY)")
    print(f"event -> playbook fired by that refresh (kpis + playbooks steps): {kpi_delay:.2f} s ({fired} firing)")
    server.should_exit = True
    thread.join(timeout=10)
    runtime.close()


if __name__ == "__main__":
    main()
