"""Accounts imported from files linked to CRM companies during a pull (the CRM's id, else the one account with the
domain; ambiguity reported), and a push that sends only the accounts whose CS values changed -- through
hubspot-api-client and simple-salesforce against loopback peers, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kizuna.accounts.models import Account
from kizuna.connectors.models import RunStatus
from kizuna.crm import jobs, service
from kizuna.crm.backoff import Backoff
from kizuna.crm.hubspot import HubSpotAdapter
from kizuna.crm.models import CrmLink
from kizuna.crm.salesforce import SalesforceAdapter
from kizuna.health.models import HealthScore
from kizuna.imports.service import import_file
from kizuna.settings import Settings
from tests.crm.peers import HubSpotPeer, SalesforcePeer

QUICK = Backoff(attempts=3, base_seconds=0.01)


def hubspot(url: str) -> HubSpotAdapter:
    return HubSpotAdapter(access_token="pat-na1-test", host=url, backoff=QUICK)


def salesforce(url: str) -> SalesforceAdapter:
    return SalesforceAdapter(instance_url=url, access_token="00DRM0000000001!AQ4AQ.test", backoff=QUICK)


def import_accounts(session: Session, settings: Settings, tmp_path: Path, csv: str) -> None:
    path = tmp_path / "取引先.csv"
    path.write_text(csv, encoding="utf-8")
    summary = import_file(session, entity="accounts", path=path, settings=settings, actor="test")
    assert summary.rejected == 0, summary.sample_rejections


def links(session: Session, vendor: str) -> dict[str, tuple[str, str]]:
    rows = session.execute(
        select(CrmLink.remote_id, Account.external_id, CrmLink.linked_by)
        .join(Account, Account.id == CrmLink.account_id)
        .where(CrmLink.vendor == vendor)
    )
    return {remote: (external, rule) for remote, external, rule in rows}


def test_imported_accounts_are_linked_by_crm_id_or_the_one_domain_and_ambiguity_is_reported(
    session: Session, settings: Settings, tmp_path: Path, pages: Any, hubspot_peer: tuple[HubSpotPeer, str]
) -> None:
    _peer, url = hubspot_peer
    import_accounts(
        session,
        settings,
        tmp_path,
        "external_id,name,website\n"
        "hubspot:101,さくらソフト(台帳),\n"  # the CRM's id as the external id: linked whatever its website
        "K-002,みなと物流(台帳),https://www.C102.example.jp/ja/\n"  # the only account with c102's domain
        "K-003,北星フーズ 本社,c103.example.jp\n"  # two accounts with c103's domain: reported, not guessed
        "K-004,北星フーズ 物流センター,http://c103.example.jp\n"
        "K-005,別会社,https://c1010.example.jp\n",  # a longer domain that contains c101's is not c101's
    )
    run = jobs.sync(pages, hubspot(url), actor="test", push=False)
    assert links(session, "hubspot") == {
        "101": ("hubspot:101", "external_id"),
        "102": ("K-002", "domain"),
        "104": ("hubspot:104", "created"),
    }
    renamed = session.scalars(select(Account).where(Account.external_id == "K-002")).one()
    assert renamed.name == "合同会社みなと物流"  # once linked, the CRM owns the company's facts
    assert run.counts["linked_by_external_id"] == 1 and run.counts["linked_by_domain"] == 1
    assert run.counts["created"] == 1 + 2 + 1  # company 104, contacts 201 and 202, deal 301
    [ambiguous] = [r for r in run.rejects if r["record"] == "company 103"]
    assert ambiguous["field"] == "domain" and ambiguous["value"] == "c103.example.jp"
    assert "ambiguous: 2 accounts" in ambiguous["reason"] and "K-003" in ambiguous["reason"]
    assert "K-004" in ambiguous["reason"] and "hubspot:103" in ambiguous["reason"]
    # its deal waits for it: nothing is attached to a guessed account
    assert any(r["record"] == "deal 303" for r in run.rejects)
    assert session.scalar(select(Account.id).where(Account.external_id == "hubspot:103")) is None

    # the team resolves it as the reject says (the right account takes the CRM's id) and syncs in full
    session.scalars(select(Account).where(Account.external_id == "K-003")).one().external_id = "hubspot:103"
    session.flush()
    again = jobs.sync(pages, hubspot(url), actor="test", push=False, full=True)
    assert links(session, "hubspot")["103"] == ("hubspot:103", "external_id")
    assert again.counts.get("created", 0) == 1  # deal 303 only; no account is created twice
    assert not [r for r in again.rejects if r["record"] in ("company 103", "deal 303")]


def test_a_salesforce_account_id_exported_as_the_external_id_links_the_imported_account(
    session: Session, settings: Settings, tmp_path: Path, pages: Any, salesforce_peer: tuple[SalesforcePeer, str]
) -> None:
    _peer, url = salesforce_peer
    import_accounts(session, settings, tmp_path, "external_id,name\n001RM0000000003AAA,北星フーズ(台帳)\n")
    run = jobs.sync(pages, salesforce(url), actor="test", push=False)
    assert links(session, "salesforce")["001RM0000000003AAA"] == ("001RM0000000003AAA", "external_id")
    assert run.counts["linked_by_external_id"] == 1
    assert len(links(session, "salesforce")) == 4


def _score(session: Session, external_id: str, score: float, band: str, day: dt.date) -> None:
    account = session.scalars(select(Account).where(Account.external_id == external_id)).one()
    session.add(
        HealthScore(
            account_id=account.id,
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
    session.flush()


def test_hubspot_push_sends_only_the_accounts_whose_values_changed(
    session: Session, pages: Any, hubspot_peer: tuple[HubSpotPeer, str]
) -> None:
    peer, url = hubspot_peer
    today = dt.date(2026, 12, 7)
    first = jobs.sync(pages, hubspot(url), actor="test", today=today)
    assert first.counts["pushed"] == 4 and "push_unchanged" not in first.counts
    assert {u["id"] for u in peer.updates} == {"101", "102", "103", "104"}

    peer.updates.clear()
    second = jobs.sync(pages, hubspot(url), actor="test", today=today)
    assert peer.updates == [] and "batch update companies" not in peer.requests[-1:]
    assert second.counts["push_unchanged"] == 4 and "pushed" not in second.counts

    _score(session, "hubspot:102", 55.0, "yellow", dt.date(2026, 12, 7))
    third = jobs.sync(pages, hubspot(url), actor="test", today=today)
    assert [u["id"] for u in peer.updates] == ["102"]
    assert peer.updates[0]["properties"]["kizuna_health_score"] == "55.0"
    assert third.counts["pushed"] == 1 and third.counts["push_unchanged"] == 3

    # someone overwrites kizuna's field in HubSpot: the pull sees it and the push writes kizuna's value back
    peer.updates.clear()
    peer.touch("companies", "103", kizuna_health_band="green")
    fourth = jobs.sync(pages, hubspot(url), actor="test", today=today)
    assert [u["id"] for u in peer.updates] == ["103"] and fourth.counts["cs_changed_in_crm"] == 1
    assert peer.objects["companies"]["103"]["kizuna_health_band"] == ""


def test_a_refused_update_is_pushed_again_next_time(
    session: Session, pages: Any, hubspot_peer: tuple[HubSpotPeer, str]
) -> None:
    peer, url = hubspot_peer
    jobs.sync(pages, hubspot(url), actor="test", push=False)
    deleted = peer.objects["companies"].pop("104")  # gone in HubSpot at the first push, restored before the next
    run = jobs.sync(pages, hubspot(url), actor="test", today=dt.date(2026, 12, 7))
    assert run.status == RunStatus.partial and run.counts["pushed"] == 3
    peer.objects["companies"]["104"] = deleted
    peer.updates.clear()
    jobs.sync(pages, hubspot(url), actor="test", today=dt.date(2026, 12, 7))
    assert [u["id"] for u in peer.updates] == ["104"]


def test_salesforce_push_sends_only_changed_accounts(
    session: Session, pages: Any, salesforce_peer: tuple[SalesforcePeer, str]
) -> None:
    peer, url = salesforce_peer
    jobs.sync(pages, salesforce(url), actor="test", today=dt.date(2026, 12, 7))
    assert len(peer.patches) == 4
    peer.patches.clear()
    _score(session, "salesforce:001RM0000000001AAA", 81.0, "green", dt.date(2026, 12, 7))
    run = jobs.sync(pages, salesforce(url), actor="test", today=dt.date(2026, 12, 7))
    assert [p["id"] for p in peer.patches] == ["001RM0000000001AAA"]
    assert peer.patches[0]["Kizuna_Health_Score__c"] == 81.0
    assert run.counts["pushed"] == 1 and run.counts["push_unchanged"] == 3


def test_web_domain_reads_a_website_as_written() -> None:
    assert service.web_domain("https://www.Example.co.jp/ja/") == "example.co.jp"
    assert service.web_domain("example.co.jp") == "example.co.jp"
    assert service.web_domain("  http://sub.example.com:8080  ") == "sub.example.com"
    assert service.web_domain("localhost") is None and service.web_domain("") is None
