"""HubSpot two-way sync through hubspot-api-client against a loopback peer, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kizuna.accounts.models import Account, Contact, TeamMember
from kizuna.connectors.models import ConnectorRun, RunStatus
from kizuna.crm import jobs, service
from kizuna.crm.backoff import Backoff
from kizuna.crm.hubspot import HubSpotAdapter
from kizuna.funnel.models import Opportunity
from kizuna.health.models import HealthScore
from kizuna.renewals.models import Renewal
from tests.crm.peers import Failure, HubSpotPeer

QUICK = Backoff(attempts=3, base_seconds=0.01)


def adapter(url: str, backoff: Backoff = QUICK) -> HubSpotAdapter:
    return HubSpotAdapter(access_token="pat-na1-test", host=url, backoff=backoff)


def hub_rows(session: Session) -> dict[str, Any]:
    session.expire_all()
    return {
        "accounts": sorted(
            (a.external_id, a.name, a.employee_band, a.website)
            for a in session.scalars(select(Account).where(Account.external_id.like("hubspot:%")))
        ),
        "contacts": sorted(
            (c.external_id, c.name, c.email, c.account_id)
            for c in session.scalars(select(Contact).where(Contact.external_id.like("hubspot:%")))
        ),
        "opportunities": sorted(
            (o.external_id, o.name, o.stage, o.kind, o.amount_minor, o.account_id, o.close_date)
            for o in session.scalars(select(Opportunity).where(Opportunity.external_id.like("hubspot:%")))
        ),
    }


def test_a_pull_pages_through_every_stream_and_rejects_with_record_field_value(
    session: Session, pages: Any, hubspot_peer: tuple[HubSpotPeer, str]
) -> None:
    peer, url = hubspot_peer
    run = jobs.sync(pages, adapter(url), actor="test", push=False)
    rows = hub_rows(session)
    assert [a[1] for a in rows["accounts"]] == [
        "株式会社さくらソフト",
        "合同会社みなと物流",
        "北星フーズ株式会社",
        "Acme KK",
    ]
    assert rows["accounts"][0] == ("hubspot:101", "株式会社さくらソフト", "51-200", "c101.example.jp")
    sakura = session.scalars(select(Account).where(Account.external_id == "hubspot:101")).one()
    assert ("hubspot:201", "山田 花子", "hanako@c101.example.jp", sakura.id) in rows["contacts"]
    assert ("hubspot:301", "さくらソフト 年間契約", "won", "new", 1_200_000, sakura.id, dt.date(2026, 11, 20)) in rows[
        "opportunities"
    ]
    assert [o[0] for o in rows["opportunities"]] == ["hubspot:301", "hubspot:303"]
    # 4 companies + 3 contacts + 3 deals in pages of two: 2 + 2 + 2 searches, and the deals' companies per page
    assert [r for r in peer.requests if r.startswith("search companies")] == [
        "search companies after=None",
        "search companies after=2",
    ]
    assert run.status == RunStatus.partial
    assert run.counts == {"created": 8, "rejected": 2}
    assert sorted((r["record"], r["field"], r["value"], r["reason"][:10]) for r in run.rejects) == [
        ("contact 203", "associatedcompanyid", "", "no company"),
        ("deal 302", "amount", "35万", "not an amo"),
    ]


def test_the_next_pull_reads_only_what_changed_since_its_cursor(
    session: Session, pages: Any, hubspot_peer: tuple[HubSpotPeer, str]
) -> None:
    peer, url = hubspot_peer
    jobs.sync(pages, adapter(url), actor="test", push=False)
    assert service.cursor(session, vendor="hubspot", stream="companies") is not None
    peer.requests.clear()
    peer.touch("companies", "102", name="みなと物流株式会社")  # renamed in HubSpot
    run = jobs.sync(pages, adapter(url), actor="test", push=False)
    assert run.counts.get("created", 0) == 0
    # the cursor's own instant is read again (GTE), so the last record of each stream comes back unchanged
    assert run.counts["updated"] == 1
    assert (
        session.scalars(select(Account.name).where(Account.external_id == "hubspot:102")).one() == "みなと物流株式会社"
    )
    assert peer.requests[0] == "search companies after=None"


def test_a_429_waits_as_long_as_retry_after_says_and_5xx_are_tried_again(
    session: Session, pages: Any, hubspot_peer: tuple[HubSpotPeer, str]
) -> None:
    peer, url = hubspot_peer
    peer.failures = [
        Failure("search/companies", 429, after="2", headers={"Retry-After": "1"}),
        Failure("search/deals", 502, times=2),
    ]
    started = time.monotonic()
    run = jobs.sync(pages, adapter(url), actor="test", push=False)
    assert time.monotonic() - started >= 1.0
    assert run.counts["retries"] == 3 and run.counts["created"] == 8
    assert peer.requests.count("search companies after=2") == 2
    assert peer.requests.count("search deals after=None") == 3


def test_without_retry_after_a_429_waits_the_rate_limit_window_and_a_spent_daily_limit_is_not_retried(
    session: Session, pages: Any, hubspot_peer: tuple[HubSpotPeer, str]
) -> None:
    peer, url = hubspot_peer
    # X-HubSpot-RateLimit-Remaining: 0 of a 1-second window (the peer's headers, no Retry-After)
    peer.failures = [
        Failure("search/contacts", 429, headers={"X-HubSpot-RateLimit-Interval-Milliseconds": "1000"}),
        Failure("search/deals", 429, headers={"X-HubSpot-RateLimit-Daily-Remaining": "0"}),
    ]
    patient = adapter(url, Backoff(attempts=3, base_seconds=0.01))
    started = time.monotonic()
    with pytest.raises(Exception, match="429"):
        jobs.sync(pages, patient, actor="test", push=False)
    assert time.monotonic() - started >= 1.0  # the window, not the 10 ms back-off
    assert peer.requests.count("search contacts after=None") == 2
    assert peer.requests.count("search deals after=None") == 1  # the day's calls are spent: not tried again
    run = session.scalars(select(ConnectorRun).where(ConnectorRun.vendor == "hubspot")).one()
    assert run.counts["retries"] == 1 and run.status == RunStatus.failed


def test_a_rate_limit_that_outlasts_the_back_off_fails_the_run_and_keeps_what_was_read(
    session: Session, pages: Any, hubspot_peer: tuple[HubSpotPeer, str]
) -> None:
    peer, url = hubspot_peer
    # the window's calls used up, no Retry-After: wait the window (here 50 ms), then give up
    window = {"X-HubSpot-RateLimit-Interval-Milliseconds": "50"}
    peer.failures = [Failure("search/companies", 429, times=3, after="2", headers=window)]
    with pytest.raises(Exception, match="429"):
        jobs.sync(pages, adapter(url), actor="test", push=False)
    failed = session.scalars(select(ConnectorRun).where(ConnectorRun.vendor == "hubspot")).one()
    assert failed.status == RunStatus.failed and "429" in (failed.error or "")
    assert failed.counts == {"created": 2, "retries": 2}
    assert len(hub_rows(session)["accounts"]) == 2  # the first page, committed with its cursor


def test_a_crash_mid_sync_resumes_to_exactly_the_rows_of_an_unbroken_sync(
    session: Session, pages: Any, hubspot_peer: tuple[HubSpotPeer, str]
) -> None:
    peer, url = hubspot_peer
    peer.failures = [Failure("search/contacts", 500, times=5, after="2")]
    with pytest.raises(Exception, match="500"):
        jobs.sync(pages, adapter(url), actor="test", push=False)
    half = hub_rows(session)
    assert len(half["accounts"]) == 4 and len(half["contacts"]) == 2 and half["opportunities"] == []
    resumed = jobs.sync(pages, adapter(url), actor="test", push=False)
    assert resumed.status == RunStatus.partial  # the rejects of the second page of contacts and of the deals
    after_resume = hub_rows(session)
    # the same portal read in one go by a second kizuna: its rows, keyed alike, are the same
    peer.requests.clear()
    for stream in ("companies", "contacts", "deals"):
        service.connectors.save_cursor(session, vendor="hubspot", stream=stream, position=None)
    jobs.sync(pages, adapter(url), actor="test", push=False)
    assert hub_rows(session) == after_resume
    assert len(after_resume["accounts"]) == 4 and len(after_resume["contacts"]) == 2
    assert len(after_resume["opportunities"]) == 2


def _cs_world(session: Session) -> Account:
    csm = TeamMember(external_id="csm-1", name="高橋 美咲", email="misaki@kizuna.example.jp")
    session.add(csm)
    session.flush()
    sakura = session.scalars(select(Account).where(Account.external_id == "hubspot:101")).one()
    sakura.owner_id = csm.id
    sakura.lifecycle_stage = "at_risk"
    for day, score, band in ((dt.date(2026, 11, 1), 70.0, "yellow"), (dt.date(2026, 12, 1), 42.25, "red")):
        session.add(
            HealthScore(
                account_id=sakura.id,
                scorecard="overall",
                scorecard_version=1,
                as_of=day,
                computed_score=score,
                computed_band=band,
                score=score,
                band=band,
                known_weight=1.0,
                missing=[],
                contributions=[],
            )
        )
    session.add(
        Renewal(account_id=sakura.id, contract_id="C-1", renewal_date=dt.date(2027, 3, 31), arr_minor=1_200_000)
    )
    session.add(
        Renewal(account_id=sakura.id, contract_id="C-0", renewal_date=dt.date(2026, 3, 31), arr_minor=1_000_000)
    )
    session.flush()
    return sakura


def test_push_writes_the_cs_fields_kizuna_owns_and_a_pull_never_takes_them_back(
    session: Session, pages: Any, hubspot_peer: tuple[HubSpotPeer, str]
) -> None:
    peer, url = hubspot_peer
    jobs.sync(pages, adapter(url), actor="test", push=False)
    sakura = _cs_world(session)
    peer.owners = {"7001": "Misaki@kizuna.example.jp"}  # the CSM is a HubSpot user
    run = jobs.sync(pages, adapter(url), actor="test", today=dt.date(2026, 12, 7))
    assert run.counts["pushed"] == 4
    [pushed] = [u for u in peer.updates if u["id"] == "101"]
    assert pushed["properties"] == {
        "kizuna_health_score": "42.2",
        "kizuna_health_band": "red",
        "kizuna_churn_risk": "",
        "kizuna_churn_risk_band": "",
        "kizuna_lifecycle_stage": "at_risk",
        "kizuna_next_renewal_date": "2027-03-31",
        "kizuna_csm": "misaki@kizuna.example.jp",
        "kizuna_csm_owner": "7001",
    }
    # someone edits the CS field in HubSpot and renames the company there; kizuna renamed it too, earlier
    sakura.name = "さくらソフト(kizuna で編集)"
    session.flush()
    peer.touch("companies", "101", name="株式会社さくらソフトウェア", kizuna_lifecycle_stage="adoption")
    peer.updates.clear()
    jobs.sync(pages, adapter(url), actor="test", today=dt.date(2026, 12, 7))
    session.refresh(sakura)
    assert sakura.name == "株式会社さくらソフトウェア"  # the CRM owns company facts
    assert sakura.lifecycle_stage == "at_risk"  # kizuna owns the CS fields
    assert peer.objects["companies"]["101"]["kizuna_lifecycle_stage"] == "at_risk"  # ... and writes them back


def test_a_refused_push_is_a_reject_naming_the_company(
    session: Session, pages: Any, hubspot_peer: tuple[HubSpotPeer, str]
) -> None:
    peer, url = hubspot_peer
    jobs.sync(pages, adapter(url), actor="test", push=False)
    peer.failures = [
        Failure(
            "batch/update",
            400,
            body={
                "status": "error",
                "message": 'Property values were not valid: [{"isValid":false,"message":"Property \\"kizuna_csm\\" '
                'does not exist","error":"PROPERTY_DOESNT_EXIST","name":"kizuna_csm"}]',
                "category": "VALIDATION_ERROR",
            },
        )
    ]
    del peer.objects["companies"]["104"]  # deleted in HubSpot since the pull
    run = jobs.sync(pages, adapter(url), actor="test")
    assert run.counts.get("pushed", 0) == 0 and run.status == RunStatus.partial
    assert {r["record"] for r in run.rejects} >= {"company 101", "company 104"}
    assert any("PROPERTY_DOESNT_EXIST" in r["reason"] for r in run.rejects)


def test_a_request_that_times_out_is_tried_again(
    session: Session, pages: Any, hubspot_peer: tuple[HubSpotPeer, str]
) -> None:
    peer, url = hubspot_peer
    peer.failures = [Failure("search/contacts", 200, delay=2.0)]
    slow = HubSpotAdapter(access_token="pat-na1-test", host=url, backoff=QUICK, timeout_seconds=0.5)
    run = jobs.sync(pages, slow, actor="test", push=False)
    assert run.counts["retries"] == 1 and run.counts["created"] == 8
    assert peer.requests.count("search contacts after=None") == 2


def test_past_the_search_limit_a_new_query_starts_at_the_latest_change_read(
    session: Session, pages: Any, hubspot_peer: tuple[HubSpotPeer, str]
) -> None:
    peer, url = hubspot_peer
    for i in range(105, 111):
        peer.touch("companies", str(i), name=f"テスト商事{i}株式会社")
    limited = adapter(url)
    limited.search_limit = 4  # HubSpot's 10,000 scaled to the peer's pages of two: a new query every two pages
    run = jobs.sync(pages, limited, actor="test", push=False)
    searches = [r for r in peer.requests if r.startswith("search companies")]
    assert searches[:4] == [
        "search companies after=None",
        "search companies after=2",
        "search companies after=None",
        "search companies after=2",
    ]
    assert "search companies after=4" not in searches
    assert len(hub_rows(session)["accounts"]) == 10
    assert run.counts["created"] == 14 and run.counts["unchanged"] == 2  # 104 and 107 begin the new queries
