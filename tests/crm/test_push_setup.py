"""What a push needs in the CRM: HubSpot's kizuna properties created on the first push (properties API), Salesforce's
fields checked with describe (each missing one named, with how to add it), and the CSM pushed as the CRM's user found
by e-mail (HubSpot owners API, Salesforce User) with the e-mail or name beside it -- through hubspot-api-client and
simple-salesforce against loopback peers, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kizuna.accounts.models import Account, TeamMember
from kizuna.connectors.models import ConnectorRun, RunStatus
from kizuna.crm import jobs
from kizuna.crm.backoff import Backoff
from kizuna.crm.hubspot import HubSpotAdapter
from kizuna.crm.salesforce import SalesforceAdapter
from kizuna.errors import ConfigurationError
from tests.crm.peers import Failure, HubSpotPeer, SalesforcePeer

QUICK = Backoff(attempts=3, base_seconds=0.01)
TODAY = dt.date(2026, 12, 7)


def hubspot(url: str) -> HubSpotAdapter:
    return HubSpotAdapter(access_token="pat-na1-test", host=url, backoff=QUICK)


def salesforce(url: str) -> SalesforceAdapter:
    return SalesforceAdapter(instance_url=url, access_token="00DRM0000000001!AQ4AQ.test", backoff=QUICK)


def _csms(session: Session, owners: dict[str, tuple[str, str | None]]) -> None:
    """Give accounts CSMs: external id -> (name, e-mail)."""
    for external_id, (name, email) in owners.items():
        member = TeamMember(external_id=f"csm-{external_id}", name=name, email=email)
        session.add(member)
        session.flush()
        session.scalars(select(Account).where(Account.external_id == external_id)).one().owner_id = member.id
    session.flush()


def test_the_first_hubspot_push_creates_the_kizuna_group_and_properties_once(
    session: Session, pages: Any, hubspot_peer: tuple[HubSpotPeer, str]
) -> None:
    peer, url = hubspot_peer
    peer.properties["kizuna_health_score"] = peer._property("kizuna_health_score", "number", "number", "custom")
    run = jobs.sync(pages, hubspot(url), actor="test", today=TODAY)
    assert "kizuna" in peer.groups and run.counts["property_group_created"] == 1
    assert run.counts["properties_created"] == 7 and run.counts["pushed"] == 4  # the one there already is kept
    created = {n: p for n, p in peer.properties.items() if p["groupName"] == "kizuna"}
    assert {n: (p["type"], p["fieldType"]) for n, p in created.items()} == {
        "kizuna_health_band": ("string", "text"),
        "kizuna_churn_risk": ("number", "number"),
        "kizuna_churn_risk_band": ("string", "text"),
        "kizuna_lifecycle_stage": ("string", "text"),
        "kizuna_next_renewal_date": ("date", "date"),
        "kizuna_csm": ("string", "text"),
        "kizuna_csm_owner": ("enumeration", "select"),
    }
    assert created["kizuna_csm_owner"]["referencedObjectType"] == "OWNER"  # a "HubSpot user" property
    assert created["kizuna_csm_owner"]["externalOptions"] is True
    peer.requests.clear()
    again = jobs.sync(pages, hubspot(url), actor="test", today=TODAY)
    assert "create company properties" not in peer.requests
    assert not [r for r in peer.requests if r.startswith("create property group")]
    assert "properties_created" not in again.counts


def test_a_private_app_without_the_schema_scope_gets_a_clear_error(
    session: Session, pages: Any, hubspot_peer: tuple[HubSpotPeer, str]
) -> None:
    peer, url = hubspot_peer
    peer.failures = [
        Failure(
            "properties/companies/batch/create",
            403,
            body={
                "status": "error",
                "message": "This app hasn't been granted all required scopes to make this call.",
                "category": "MISSING_SCOPES",
                "errors": [{"message": "One or more of the following scopes are required.",
                            "context": {"requiredGranularScopes": ["crm.schemas.companies.write"]}}],
            },
        )
    ]  # fmt: skip
    with pytest.raises(ConfigurationError, match=r"crm\.schemas\.companies\.write"):
        jobs.sync(pages, hubspot(url), actor="test", today=TODAY)
    failed = session.scalars(select(ConnectorRun).where(ConnectorRun.vendor == "hubspot")).one()
    assert failed.status == RunStatus.failed and "kizuna_csm_owner" in (failed.error or "")
    assert "batch update companies" not in peer.requests and failed.counts["created"] == 8  # the pull is kept


def test_hubspot_csm_is_pushed_as_the_owner_found_by_e_mail_with_the_e_mail_beside_it(
    session: Session, pages: Any, hubspot_peer: tuple[HubSpotPeer, str]
) -> None:
    peer, url = hubspot_peer
    jobs.sync(pages, hubspot(url), actor="test", push=False)
    peer.owners = {"7001": "Misaki.Takahashi@kizuna.example.jp", "7002": "other@kizuna.example.jp"}
    _csms(
        session,
        {
            "hubspot:101": ("高橋 美咲", "misaki.takahashi@kizuna.example.jp"),
            "hubspot:102": ("伊藤 健", "ken@kizuna.example.jp"),  # no HubSpot user has it
            "hubspot:103": ("渡辺 陽子", None),  # no e-mail in kizuna
        },
    )
    run = jobs.sync(pages, hubspot(url), actor="test", today=TODAY)
    pushed = {u["id"]: u["properties"] for u in peer.updates}
    assert (pushed["101"]["kizuna_csm_owner"], pushed["101"]["kizuna_csm"]) == (
        "7001",
        "misaki.takahashi@kizuna.example.jp",
    )
    assert (pushed["102"]["kizuna_csm_owner"], pushed["102"]["kizuna_csm"]) == ("", "ken@kizuna.example.jp")
    assert (pushed["103"]["kizuna_csm_owner"], pushed["103"]["kizuna_csm"]) == ("", "渡辺 陽子")
    assert run.counts["csm_not_an_owner"] == 1
    assert sorted(r for r in peer.requests if r.startswith("owners")) == [
        "owners email=ken@kizuna.example.jp",
        "owners email=misaki.takahashi@kizuna.example.jp",
    ]
    # Ken joins HubSpot: his accounts' owner is pushed at the next sync, the others are not pushed again
    peer.owners["7003"] = "ken@kizuna.example.jp"
    peer.updates.clear()
    jobs.sync(pages, hubspot(url), actor="test", today=TODAY)
    assert [(u["id"], u["properties"]["kizuna_csm_owner"]) for u in peer.updates] == [("102", "7003")]


def test_salesforce_missing_fields_are_named_with_how_to_add_them_and_nothing_is_patched(
    session: Session, pages: Any, salesforce_peer: tuple[SalesforcePeer, str]
) -> None:
    peer, url = salesforce_peer
    peer.account_fields -= {"Kizuna_CSM_User__c", "Kizuna_Next_Renewal_Date__c"}
    with pytest.raises(ConfigurationError) as raised:
        jobs.sync(pages, salesforce(url), actor="test", today=TODAY)
    message = str(raised.value)
    assert "Kizuna_Next_Renewal_Date__c (Date); Kizuna_CSM_User__c (Lookup(User))" in message
    assert "Kizuna_Health_Score__c" not in message and "Object Manager -> Account" in message
    assert raised.value.context["missing"] == ["Kizuna_Next_Renewal_Date__c", "Kizuna_CSM_User__c"]
    assert peer.patches == [] and peer.requests.count("describe Account") == 1
    # the pull went on without reading kizuna's fields (the query would fail on a missing one)
    assert not [r for r in peer.requests if r.startswith("query SELECT") and "Kizuna_" in r]
    failed = session.scalars(select(ConnectorRun).where(ConnectorRun.vendor == "salesforce")).one()
    assert failed.status == RunStatus.failed and failed.counts["created"] == 7


def test_salesforce_csm_is_pushed_as_the_active_user_with_that_e_mail(
    session: Session, pages: Any, salesforce_peer: tuple[SalesforcePeer, str]
) -> None:
    peer, url = salesforce_peer
    jobs.sync(pages, salesforce(url), actor="test", push=False)
    peer.users = {
        "005RM000000A001AAA": ("misaki@kizuna.example.jp", True),
        "005RM000000A002AAA": ("o'brien@kizuna.example.jp", False),  # deactivated: not the owner any more
    }
    _csms(
        session,
        {
            "salesforce:001RM0000000001AAA": ("高橋 美咲", "MISAKI@kizuna.example.jp"),
            "salesforce:001RM0000000002AAA": ("O'Brien", "o'brien@kizuna.example.jp"),
        },
    )
    peer.patches.clear()
    run = jobs.sync(pages, salesforce(url), actor="test", today=TODAY)
    patched = {p["id"]: (p["Kizuna_CSM_User__c"], p["Kizuna_CSM__c"]) for p in peer.patches}
    assert patched["001RM0000000001AAA"] == ("005RM000000A001AAA", "MISAKI@kizuna.example.jp")
    assert patched["001RM0000000002AAA"] == (None, "o'brien@kizuna.example.jp")
    assert run.counts["csm_not_a_user"] == 1
    [users] = [r for r in peer.requests if "FROM User" in r]
    assert "'o\\'brien@kizuna.example.jp'" in users  # quoted as SOQL asks
    # the pull reads kizuna's fields back: unchanged, so the next push sends nothing
    peer.patches.clear()
    again = jobs.sync(pages, salesforce(url), actor="test", today=TODAY)
    assert peer.patches == [] and again.counts["push_unchanged"] == 4 and "cs_changed_in_crm" not in again.counts
