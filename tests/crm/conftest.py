"""The CRM peers served on loopback, filled with a Japanese portal / org."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from tests.crm.peers import HubSpotPeer, SalesforcePeer, self_signed
from tests.servers import served
from tests.web.fixtures import _world_template, world  # noqa: F401


@contextmanager
def _savepoint(session: Session) -> Iterator[Session]:
    with session.begin_nested():
        yield session


@pytest.fixture
def pages(session: Session):  # type: ignore[no-untyped-def]
    """A transaction per page, as ``kizuna hubspot sync`` has: here a savepoint of the test's session."""
    return lambda: _savepoint(session)


@pytest.fixture
def hubspot_peer() -> Iterator[tuple[HubSpotPeer, str]]:
    peer = HubSpotPeer()
    for i, (name, employees) in enumerate(
        [("株式会社さくらソフト", "120"), ("合同会社みなと物流", "35"), ("北星フーズ株式会社", "800"), ("Acme KK", "")],
        start=101,
    ):
        peer.touch(
            "companies",
            str(i),
            name=name,
            industry="COMPUTER_SOFTWARE",
            domain=f"c{i}.example.jp",
            country="Japan",
            numberofemployees=employees,
        )
    peer.touch(
        "contacts",
        "201",
        firstname="花子",
        lastname="山田",
        email="hanako@c101.example.jp",
        jobtitle="情報システム部 部長",
        associatedcompanyid="101",
    )
    peer.touch(
        "contacts",
        "202",
        firstname="太郎",
        lastname="佐藤",
        email="taro@c102.example.jp",
        jobtitle="",
        associatedcompanyid="102",
    )
    peer.touch(
        "contacts", "203", firstname="次郎", lastname="鈴木", email="jiro@nowhere.example.jp", associatedcompanyid=""
    )
    peer.touch(
        "deals",
        "301",
        dealname="さくらソフト 年間契約",
        dealstage="closedwon",
        amount="1200000",
        deal_currency_code="JPY",
        closedate="2026-11-20T00:00:00.000Z",
        createdate="2026-10-01T02:00:00.000Z",
        dealtype="newbusiness",
        hs_is_closed="true",
        hs_is_closed_won="true",
    )
    peer.touch(
        "deals",
        "302",
        dealname="みなと物流 追加ライセンス",
        dealstage="appointmentscheduled",
        amount="35万",
        deal_currency_code="JPY",
        createdate="2026-11-02T02:00:00.000Z",
        dealtype="existingbusiness",
        hs_is_closed="false",
        hs_is_closed_won="false",
    )
    peer.touch(
        "deals",
        "303",
        dealname="北星フーズ 更新",
        dealstage="contractsent",
        amount="480000",
        deal_currency_code="JPY",
        closedate="2027-01-31",
        createdate="2026-11-10T02:00:00.000Z",
        dealtype="existingbusiness",
        hs_is_closed="false",
        hs_is_closed_won="false",
    )
    peer.deal_company.update({"301": "101", "302": "102", "303": "103"})
    with served(peer.app) as url:
        yield peer, url


@pytest.fixture
def salesforce_peer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[SalesforcePeer, str]]:
    peer = SalesforcePeer()
    for i, (name, employees) in enumerate(
        [("株式会社さくらソフト", 120), ("合同会社みなと物流", 35), ("北星フーズ株式会社", 800), ("Acme KK", None)],
        start=1,
    ):
        peer.touch(
            "Account",
            f"001RM00000{i:05d}AAA",
            Name=name,
            Industry="Technology",
            Website=f"https://c{i}.example.jp",
            BillingCountry="日本",
            NumberOfEmployees=employees,
        )
    peer.touch(
        "Contact",
        "003RM0000000001AAA",
        LastName="山田",
        FirstName="花子",
        Email="hanako@c1.example.jp",
        Title="部長",
        AccountId="001RM0000000001AAA",
    )
    peer.touch(
        "Contact",
        "003RM0000000002AAA",
        LastName="鈴木",
        FirstName="次郎",
        Email="jiro@c9.example.jp",
        Title=None,
        AccountId="001RM0000000009AAA",
    )
    peer.touch(
        "Opportunity",
        "006RM0000000001AAA",
        Name="さくらソフト 年間契約",
        AccountId="001RM0000000001AAA",
        StageName="Closed Won",
        IsClosed=True,
        IsWon=True,
        Amount=1200000.0,
        CloseDate="2026-11-20",
        CreatedDate="2026-10-01T02:00:00.000+0000",
        Type="New Customer",
    )
    peer.touch(
        "Opportunity",
        "006RM0000000002AAA",
        Name="みなと物流 追加",
        AccountId="001RM0000000002AAA",
        StageName="Prospecting",
        IsClosed=False,
        IsWon=False,
        Amount=350000.0,
        CloseDate="2027-02-28",
        CreatedDate="2026-11-02T02:00:00.000+0000",
        Type="Existing Customer - Upgrade",
    )
    cert, key = self_signed(tmp_path)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", cert)  # requests trusts the peer's certificate, nothing else changes
    with served(peer.app, ssl_certfile=cert, ssl_keyfile=key) as url:
        yield peer, url
