"""``kizuna chargebee backfill`` against Chargebee's API on loopback, through Chargebee's own library: paging by
``next_offset``, the back-off on 429 (its Retry-After) and 5xx, a refused key, and a crash mid-back-fill that
resumes to exactly the rows of a clean run."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from kizuna.chargebee import jobs
from kizuna.connectors import credentials
from kizuna.connectors.models import ConnectorRun
from kizuna.errors import ExternalServiceError
from kizuna.runtime import Runtime
from kizuna.settings import Settings
from tests.chargebee.chargebee_api import ChargebeePeer, coupon
from tests.chargebee.conftest import CREDENTIALS
from tests.stripe.conftest import open_hub
from tests.stripe.rows import hub_rows


def connect(runtime: Runtime, url: str, **values: str) -> None:
    credentials.save(runtime.settings, "chargebee", {**CREDENTIALS, "api_base": url, **values})


def quick() -> jobs.Backoff:
    """Waits as the back-fill asks (Retry-After honoured), the 5xx back-off from 10 ms."""
    return jobs.Backoff(base_seconds=0.01)


def test_backfill_pages_by_next_offset_and_backs_off_on_429_and_5xx(
    hub: Runtime, peer: tuple[ChargebeePeer, str]
) -> None:
    state, url = peer
    connect(hub, url)
    state.faults = {"customers": [429], "subscriptions": [500, 503], "invoices": [502]}
    backoff = quick()
    began = time.monotonic()
    run = jobs.backfill(hub, client=jobs.client_of(hub.settings), actor="test", page_size=2, backoff=backoff)
    assert run.status == "succeeded" and run.error is None and run.counts["retries"] == 4
    assert time.monotonic() - began >= 1.0 and backoff.waits[0] == 1.0  # Chargebee's Retry-After: 1
    assert backoff.waits[1:] == [0.01, 0.02, 0.01]  # 5xx: doubling, from the start again for each request
    assert state.faults == {"customers": [], "subscriptions": [], "invoices": []}
    pages = [q for kind, q in state.requests if kind == "subscriptions"]
    assert len(pages) == 2 + 4  # two failures, then 7 subscriptions by 2
    assert json.loads(pages[-1]["offset"])[1] == "6" and all(q["limit"] == "2" for q in pages)

    rows = hub_rows(hub)
    assert ("cb_cus_1", "株式会社さくら製作所") in rows["accounts"]
    lines = {s[0]: s for s in rows["subscriptions"]}
    assert lines["cb_sub_2/kizuna-team-USD-Yearly@2025-03-03"][5:10] == (
        round(49000 * 2 / 12),
        "USD",
        "churned",
        dt.date(2025, 3, 3),
        dt.date(2026, 3, 3),
    )
    assert lines["cb_sub_4/kizuna-team-JPY-Monthly@2025-08-15"][5:8] == (5 * 9800, "JPY", "active")
    assert lines["cb_sub_5/kizuna-team-USD-Monthly@2026-11-10"][7] == "trial"
    assert lines["cb_sub_3/kizuna-team-USD-Every-3-months@2025-06-10"][5] == 4500  # USD 135.00 a quarter
    assert {i[0]: (i[4], i[5], i[6]) for i in rows["invoices"]} == {
        "in_1": (14700, "USD", "paid"),
        "in_2": (13500, "USD", "retrying"),
        "in_3": (49000, "JPY", "paid"),
        "in_4": (19600, "JPY", "written_off"),
    }

    again = jobs.backfill(hub, client=jobs.client_of(hub.settings), actor="test", page_size=2, backoff=quick())
    assert again.status == "succeeded" and hub_rows(hub) == rows and again.counts.get("created", 0) == 0


def test_a_request_unanswered_in_time_is_tried_again(hub: Runtime, peer: tuple[ChargebeePeer, str]) -> None:
    state, url = peer
    connect(hub, url)
    state.faults = {"customers": [0]}  # the first page of customers hangs past the client's read timeout
    client = jobs.client_of(hub.settings, read_timeout_seconds=0.5)
    run = jobs.backfill(hub, client=client, actor="test", page_size=50, backoff=quick())
    assert run.status == "succeeded" and run.counts["retries"] == 1
    assert [k for k, _ in state.requests].count("customers") == 2
    assert len(hub_rows(hub)["accounts"]) == 6


def test_a_refused_key_and_endless_5xx_fail_the_run_naming_chargebee_s_error(
    hub: Runtime, peer: tuple[ChargebeePeer, str]
) -> None:
    state, url = peer
    connect(hub, url, api_key="test_wrong")
    with pytest.raises(ExternalServiceError, match=r"Invalid api key \(api_authentication_failed, HTTP 401\)"):
        jobs.backfill(hub, client=jobs.client_of(hub.settings), actor="test", backoff=quick())
    assert len(state.requests) == 1  # a 401 is not tried again
    connect(hub, url)
    state.faults = {"coupons": [503] * jobs.TRIES}
    with pytest.raises(ExternalServiceError, match="internal_temporary_error, HTTP 503"):
        jobs.backfill(hub, client=jobs.client_of(hub.settings), actor="test", backoff=quick())
    with hub.transaction() as session:
        runs = list(session.scalars(select(ConnectorRun).order_by(ConnectorRun.id)))
        assert [r.status for r in runs] == ["failed", "failed"] and runs[1].counts["retries"] == jobs.TRIES - 1
    assert hub_rows(hub)["accounts"] == []


def test_a_crash_mid_backfill_resumes_at_the_first_uncommitted_page_to_the_same_rows(
    hub: Runtime, peer: tuple[ChargebeePeer, str], tmp_path: Path
) -> None:
    state, url = peer
    connect(hub, url)
    state.refuse_at = {"subscriptions": 3}  # the third page of subscriptions is refused, not retryable
    with pytest.raises(ExternalServiceError, match="invalid_request"):
        jobs.backfill(hub, client=jobs.client_of(hub.settings), actor="test", page_size=2, backoff=quick())
    half = hub_rows(hub)
    assert len(half["subscriptions"]) == 4 and half["invoices"] == []  # two pages committed, nothing after

    state.refuse_at = {}
    state.requests.clear()
    run = jobs.backfill(hub, client=jobs.client_of(hub.settings), actor="test", page_size=2, backoff=quick())
    assert run.status == "succeeded"
    first_kind, first_query = state.requests[0]
    assert first_kind == "subscriptions" and json.loads(first_query["offset"])[1] == "4"  # the refused page
    assert "customers" not in [k for k, _ in state.requests]

    clean = open_hub(Settings(data_dir=tmp_path / "clean", scheduler_in_process=False))
    try:
        connect(clean, url)
        jobs.backfill(clean, client=jobs.client_of(clean.settings), actor="test", page_size=2, backoff=quick())
        assert hub_rows(hub) == hub_rows(clean)
    finally:
        clean.close()


def test_the_backfill_nets_coupons_off_mrr(hub: Runtime, peer: tuple[ChargebeePeer, str]) -> None:
    state, url = peer
    connect(hub, url)
    today = int(time.time())
    state.objects["coupons"] = [
        coupon("FOREVER20", duration="forever", percentage=20.0),
        coupon("WELCOME50", duration="one_time", percentage=50.0),
        coupon("TEN-PCT-3M", duration="limited_period", percentage=10.0),
        coupon(
            "YEN5000-EACH",
            duration="forever",
            amount=5000,
            currency="JPY",
            apply_on="each_specified_item",
            item_prices=["kizuna-team-JPY-Monthly"],
        ),
    ]
    given = {
        "cb_sub_1": [{"coupon_id": "FOREVER20"}, {"coupon_id": "WELCOME50"}],
        "cb_sub_3": [{"coupon_id": "TEN-PCT-3M", "apply_till": today + 60 * 86400}],  # still running
        "cb_sub_7": [{"coupon_id": "TEN-PCT-3M", "apply_till": today - 20 * 86400}],  # run out
        "cb_sub_4": [{"coupon_id": "YEN5000-EACH"}],
    }
    for sub in state.objects["subscriptions"]:
        sub["coupons"] = [{**c, "applied_count": 1, "object": "coupon"} for c in given.get(sub["id"], [])]
    jobs.backfill(hub, client=jobs.client_of(hub.settings), actor="test", page_size=3, backoff=quick())
    mrr = {s[1].split("/")[0]: s[5] for s in hub_rows(hub)["subscriptions"] if s[9] is None}
    assert mrr["cb_sub_1"] == round(14700 * 0.8)  # the one-time coupon does not count
    assert mrr["cb_sub_3"] == round(4500 * 0.9)
    assert mrr["cb_sub_7"] == 9800
    assert mrr["cb_sub_4"] == 49000 - 5000
