"""Salesforce two-way sync through simple-salesforce against a loopback peer (HTTPS), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kizuna.accounts.models import Account, Contact
from kizuna.connectors import service as connectors
from kizuna.connectors.models import ConnectorRun, RunStatus
from kizuna.crm import jobs
from kizuna.crm.backoff import Backoff
from kizuna.crm.salesforce import SalesforceAdapter
from kizuna.funnel.models import Opportunity
from kizuna.risk.models import RiskModel, RiskScore
from tests.crm.peers import Failure, SalesforcePeer

QUICK = Backoff(attempts=3, base_seconds=0.01)


def adapter(url: str) -> SalesforceAdapter:
    return SalesforceAdapter(instance_url=url, access_token="00DRM0000000001!AQ4AQ.test", backoff=QUICK)


def rows(session: Session) -> dict[str, list[tuple[Any, ...]]]:
    session.expire_all()
    return {
        "accounts": sorted(
            (a.external_id, a.name, a.region, a.employee_band)
            for a in session.scalars(select(Account).where(Account.external_id.like("salesforce:%")))
        ),
        "contacts": sorted(
            (c.external_id, c.name, c.email)
            for c in session.scalars(select(Contact).where(Contact.external_id.like("salesforce:%")))
        ),
        "opportunities": sorted(
            (o.external_id, o.stage, o.kind, o.amount_minor, o.close_date)
            for o in session.scalars(select(Opportunity).where(Opportunity.external_id.like("salesforce:%")))
        ),
    }


def test_soql_on_systemmodstamp_pages_with_query_more_and_rejects_unknown_accounts(
    session: Session, pages: Any, salesforce_peer: tuple[SalesforcePeer, str]
) -> None:
    peer, url = salesforce_peer
    run = jobs.sync(pages, adapter(url), actor="test", push=False)
    got = rows(session)
    assert got["accounts"][0] == ("salesforce:001RM0000000001AAA", "株式会社さくらソフト", "日本", "51-200")
    assert len(got["accounts"]) == 4
    assert got["contacts"] == [("salesforce:003RM0000000001AAA", "山田 花子", "hanako@c1.example.jp")]
    assert got["opportunities"] == [
        ("salesforce:006RM0000000001AAA", "won", "new", 1_200_000, dt.date(2026, 11, 20)),
        ("salesforce:006RM0000000002AAA", "open", "upsell", 350_000, dt.date(2027, 2, 28)),
    ]
    assert run.rejects == [
        {
            "record": "contact 003RM0000000002AAA",
            "field": "AccountId",
            "value": "001RM0000000009AAA",
            "reason": "company not pulled (unknown to kizuna)",
        }
    ]
    assert [r for r in peer.requests if r.startswith("queryMore")] == ["queryMore 2"]  # 4 accounts, 2 a batch
    peer.requests.clear()
    peer.touch("Account", "001RM0000000002AAA", Name="みなと物流株式会社")
    again = jobs.sync(pages, adapter(url), actor="test", push=False)
    assert peer.requests[0] == "describe Account"  # kizuna's fields are read back only where the Account has them
    assert "WHERE SystemModstamp >= 2026-12-01T" in peer.requests[1] and "Kizuna_CSM_User__c" in peer.requests[1]
    assert again.counts["updated"] == 1 and "created" not in again.counts


def test_request_limit_exceeded_and_5xx_back_off_and_a_crash_resumes_exactly(
    session: Session, pages: Any, salesforce_peer: tuple[SalesforcePeer, str]
) -> None:
    peer, url = salesforce_peer
    peer.failures = [Failure("query", 403, times=1), Failure("queryMore", 503, times=1)]
    run = jobs.sync(pages, adapter(url), actor="test", push=False)
    assert run.counts["retries"] == 2 and run.status == RunStatus.partial
    first = rows(session)

    # a second org's worth of the same data, read with a crash after the first page of accounts
    for account in session.scalars(select(Account).where(Account.external_id.like("salesforce:%"))):
        session.delete(account)
    for opportunity in session.scalars(select(Opportunity).where(Opportunity.external_id.like("salesforce:%"))):
        session.delete(opportunity)
    for stream in ("companies", "contacts", "deals"):
        connectors.save_cursor(session, vendor="salesforce", stream=stream, position=None)
    peer.failures = [Failure("queryMore", 500, times=3)]
    with pytest.raises(Exception, match="500"):
        jobs.sync(pages, adapter(url), actor="test", push=False)
    assert len(rows(session)["accounts"]) == 2
    jobs.sync(pages, adapter(url), actor="test", push=False)
    assert rows(session) == first
    statuses = [r.status for r in session.scalars(select(ConnectorRun).order_by(ConnectorRun.id))]
    assert statuses == [RunStatus.partial, RunStatus.failed, RunStatus.partial]


def test_retry_after_of_salesforce_is_waited_out(
    session: Session, pages: Any, salesforce_peer: tuple[SalesforcePeer, str]
) -> None:
    peer, url = salesforce_peer
    peer.failures = [
        Failure("query", 403, headers={"Retry-After": "1"}),  # REQUEST_LIMIT_EXCEEDED
        Failure("queryMore", 503, headers={"Retry-After": "1"}),
    ]
    started = time.monotonic()
    run = jobs.sync(pages, adapter(url), actor="test", push=False)
    assert time.monotonic() - started >= 2.0  # twice the second Salesforce asked for, not the 10 ms back-off
    assert run.counts["retries"] == 2 and len(rows(session)["accounts"]) == 4


def test_push_patches_the_kizuna_fields_and_a_refused_record_is_a_reject(
    session: Session, pages: Any, salesforce_peer: tuple[SalesforcePeer, str]
) -> None:
    peer, url = salesforce_peer
    jobs.sync(pages, adapter(url), actor="test", push=False)
    minato = session.scalars(select(Account).where(Account.external_id == "salesforce:001RM0000000002AAA")).one()
    model = RiskModel(
        file_name="m.joblib",
        data_as_of=dt.date(2026, 12, 1),
        horizon_days=90,
        train_start=dt.date(2025, 1, 1),
        train_end=dt.date(2026, 9, 1),
        n_samples=100,
        base_rate=0.1,
        features=[],
        params={},
        metrics={},
        trained_by="test",
    )
    session.add(model)
    session.flush()
    session.add(
        RiskScore(
            account_id=minato.id,
            model_id=model.id,
            as_of=dt.date(2026, 12, 1),
            probability=0.3456,
            band="high",
            drivers=[],
        )
    )
    session.flush()
    del peer.objects["Account"]["001RM0000000004AAA"]  # deleted in Salesforce since the pull
    run = jobs.sync(pages, adapter(url), actor="test", today=dt.date(2026, 12, 7))
    assert run.counts["pushed"] == 3
    [patched] = [p for p in peer.patches if p["id"] == minato.external_id.split(":")[1]]
    assert patched == {
        "attributes": {"type": "Account"},
        "id": "001RM0000000002AAA",
        "Kizuna_Health_Score__c": None,
        "Kizuna_Health_Band__c": None,
        "Kizuna_Churn_Risk__c": 34.6,
        "Kizuna_Churn_Risk_Band__c": "high",
        "Kizuna_Lifecycle_Stage__c": "onboarding",
        "Kizuna_Next_Renewal_Date__c": None,
        "Kizuna_CSM__c": None,
        "Kizuna_CSM_User__c": None,
    }
    assert run.rejects[-1:] == [
        {
            "record": "Account 001RM0000000004AAA",
            "field": None,
            "value": None,
            "reason": "Salesforce refused the update: ENTITY_IS_DELETED entity is deleted",
        }
    ]


def test_a_query_that_times_out_is_tried_again(
    session: Session, pages: Any, salesforce_peer: tuple[SalesforcePeer, str]
) -> None:
    peer, url = salesforce_peer
    peer.failures = [Failure("query", 200, delay=2.0)]
    slow = SalesforceAdapter(instance_url=url, access_token="00D!test", backoff=QUICK, timeout_seconds=0.5)
    run = jobs.sync(pages, slow, actor="test", push=False)
    assert run.counts["retries"] == 1 and len(rows(session)["accounts"]) == 4
