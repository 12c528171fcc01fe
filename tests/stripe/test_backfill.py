"""``kizuna stripe backfill`` against Stripe's API on loopback, through Stripe's own library: paging, the library's
retries of 429 and 5xx, and a crash mid-back-fill that resumes to exactly the rows of a clean run."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from kizuna.connectors import credentials
from kizuna.connectors.models import ConnectorRun
from kizuna.errors import ExternalServiceError
from kizuna.runtime import Runtime
from kizuna.settings import Settings
from kizuna.stripe import jobs
from tests.stripe.conftest import API_KEY, open_hub
from tests.stripe.rows import hub_rows
from tests.stripe.stripe_api import StripePeer


def connect(runtime: Runtime, url: str) -> None:
    credentials.save(runtime.settings, "stripe", {"api_key": API_KEY, "api_base": url})


def test_backfill_pages_through_every_list_and_retries_429_and_5xx(hub: Runtime, peer: tuple[StripePeer, str]) -> None:
    state, url = peer
    connect(hub, url)
    state.faults = {"customers": [429], "subscriptions": [500, 503]}
    run = jobs.backfill(hub, client=jobs.client_of(hub.settings), actor="test", page_size=2)
    assert run.status == "succeeded" and run.error is None
    assert state.faults == {"customers": [], "subscriptions": []}  # the library retried each
    pages = [q for kind, q in state.requests if kind == "subscriptions"]
    assert len(pages) == 2 + 4  # two failures, then 7 subscriptions by 2
    assert pages[-1]["starting_after"] == state.objects["subscriptions"][5]["id"]
    assert all(q["status"] == "all" for q in pages)

    rows = hub_rows(hub)
    assert ("cus_1", "株式会社さくら製作所") in rows["accounts"]
    lines = {s[0]: s for s in rows["subscriptions"]}
    assert lines["si_2@2025-03-03"][5:10] == (
        round(49000 * 2 / 12),
        "USD",
        "churned",
        dt.date(2025, 3, 3),
        dt.date(2026, 3, 3),
    )
    assert lines["si_4@2025-08-15"][5:8] == (5 * 9800, "JPY", "active")  # a converted trial pays from its end
    assert lines["si_5@2026-11-10"][7] == "trial"
    assert lines["si_3@2025-06-10"][5] == 4500  # USD 135.00 a quarter
    assert {i[0]: (i[4], i[5], i[6]) for i in rows["invoices"]} == {
        "in_1": (14700, "USD", "paid"),
        "in_2": (13500, "USD", "open"),
        "in_3": (49000, "JPY", "paid"),
        "in_4": (19600, "JPY", "written_off"),
    }

    again = jobs.backfill(hub, client=jobs.client_of(hub.settings), actor="test", page_size=2)
    assert again.status == "succeeded" and hub_rows(hub) == rows  # a second back-fill changes nothing
    assert again.counts.get("created", 0) == 0


def test_a_refused_key_fails_the_run_naming_stripe_and_the_request(hub: Runtime, peer: tuple[StripePeer, str]) -> None:
    _, url = peer
    credentials.save(hub.settings, "stripe", {"api_key": "sk_test_wrong", "api_base": url})
    with pytest.raises(ExternalServiceError, match=r"Invalid API Key provided \(request req_"):
        jobs.backfill(hub, client=jobs.client_of(hub.settings, max_network_retries=0), actor="test")
    with hub.transaction() as session:
        run = session.scalar(select(ConnectorRun))
        assert run is not None and run.status == "failed" and "Invalid API Key" in (run.error or "")
    assert hub_rows(hub)["accounts"] == []


def test_a_crash_mid_backfill_resumes_after_the_last_committed_page_to_the_same_rows(
    hub: Runtime, peer: tuple[StripePeer, str], tmp_path: Path
) -> None:
    state, url = peer
    connect(hub, url)
    state.refuse_at = {"subscriptions": 3}  # the third page of subscriptions fails, not retryable
    with pytest.raises(ExternalServiceError, match="No such list"):
        jobs.backfill(hub, client=jobs.client_of(hub.settings), actor="test", page_size=2)
    half = hub_rows(hub)
    assert len(half["subscriptions"]) == 4 and half["invoices"] == []  # two pages committed, nothing after

    state.refuse_at = {}
    state.requests.clear()
    run = jobs.backfill(hub, client=jobs.client_of(hub.settings), actor="test", page_size=2)
    assert run.status == "succeeded"
    resumed = [(k, q.get("starting_after")) for k, q in state.requests]
    assert resumed[0] == ("subscriptions", state.objects["subscriptions"][3]["id"])  # from the last committed page
    assert "customers" not in [k for k, _ in resumed]

    clean = open_hub(Settings(data_dir=tmp_path / "clean", scheduler_in_process=False))
    try:
        connect(clean, url)
        jobs.backfill(clean, client=jobs.client_of(clean.settings), actor="test", page_size=2)
        assert hub_rows(hub) == hub_rows(clean)
    finally:
        clean.close()
