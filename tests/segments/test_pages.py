"""Segments and coverage as a CS team uses them, through the app ``kizuna serve`` builds on a demo company: a rule
segment made and edited from the page, RFM segments in words, capacity per touch tier, assigning unowned accounts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kizuna.accounts.models import Account
from kizuna.segments import service
from tests.segments.portfolio_demo import PortfolioDemo, csrf, portfolio_demo, text_of, words_problems


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PortfolioDemo]:
    yield from portfolio_demo(Path(tmp_path_factory.mktemp("segment-pages")))


def _accounts(demo: PortfolioDemo, **where: str) -> int:
    with demo.runtime.transaction() as session:
        stmt = select(func.count()).select_from(Account).where(*(getattr(Account, k) == v for k, v in where.items()))
        return int(session.scalar(stmt) or 0)


def test_a_rule_segment_made_and_edited_from_the_page(demo: PortfolioDemo) -> None:
    client = demo.client
    listing = client.get("/segments")
    made = client.post(
        "/segments",
        data={
            "key": "high-touch",
            "name": "ハイタッチ顧客",
            "match": "all",
            "field": ["touch_tier", ""],
            "op": ["eq", "eq"],
            "value": ["ハイタッチ", ""],  # a labelled value is typed (or picked) as its label
            "csrf_token": csrf(listing.text),
        },
    )
    assert made.status_code == 303 and made.headers["location"] == "/segments/high-touch?saved=1"
    page = client.get(made.headers["location"])
    text = text_of(page.text)
    high = _accounts(demo, touch_tier="high")
    assert high > 0
    assert "次のすべてを満たす取引先" in text and "タッチ区分 が ハイタッチ" in text
    assert f"{high} 社" in text
    assert "タッチ区分: ハイタッチ" in text  # why each member joined, in words
    assert 'name="value" value="ハイタッチ"' in page.text  # the edit form shows the label again
    with demo.runtime.transaction() as session:
        assert service.get_segment(session, "high-touch").definition["rules"] == [{"field": "touch_tier", "eq": "high"}]
    edited = client.post(
        "/segments/high-touch",
        data={
            "name": "ロータッチ顧客",
            "match": "any",
            "field": ["touch_tier", "touch_tier"],
            "op": ["eq", "eq"],
            "value": ["Low touch", "tech"],
            "active": "true",
            "csrf_token": csrf(page.text),
        },
    )
    assert edited.status_code == 303
    text = text_of(client.get("/segments/high-touch").text)
    assert "次のいずれかを満たす取引先" in text and "タッチ区分 が テックタッチ" in text
    assert f"{_accounts(demo, touch_tier='low') + _accounts(demo, touch_tier='tech')} 社" in text
    with demo.runtime.transaction() as session:
        assert service.get_segment(session, "high-touch").name == "ロータッチ顧客"
    # a bad definition is refused on the page, with what was wrong, and nothing is saved
    refused = client.post(
        "/segments",
        data={
            "key": "Bad Key",
            "name": "x",
            "field": ["touch_tier"],
            "op": ["eq"],
            "value": ["high"],
            "csrf_token": csrf(page.text),
        },
    )
    assert refused.status_code == 400 and "保存できませんでした" in refused.text
    # the list shows the rule segment in words and the RFM segments by their names, champions first
    listed = text_of(client.get("/segments").text)
    assert "ロータッチ顧客" in listed and "RFM: 優良顧客 (チャンピオン)" in listed
    assert listed.index("優良顧客 (チャンピオン)") < listed.index("RFM: 離脱 ")


def test_rfm_segment_members_with_their_scores(demo: PortfolioDemo) -> None:
    with demo.runtime.transaction() as session:
        segment = max((s for s in service.list_segments(session) if s.kind == "rfm"), key=lambda s: s.member_count)
        key, members = segment.key, segment.member_count
    assert members > 0
    text = text_of(demo.client.get(f"/segments/{key}").text)
    assert f"{members} 社" in text and "R (新しさ) × F (頻度) の組み合わせ" in text
    assert "RFM セグメントの定義は RFM 分析で決まるため編集できません。" in text
    assert "R1・F1・M" in text or "・M" in text


def test_coverage_capacity_per_tier_and_assigning(demo: PortfolioDemo) -> None:
    client = demo.client
    page = client.get("/coverage")
    assert page.status_code == 200
    text = text_of(page.text)
    assert "タッチ区分ごとの担当上限" in text and "ハイタッチ" in text and "テックタッチ" in text
    with demo.runtime.transaction() as session:
        before = {b.owner_id: b for b in service.books_of_business(session, today=service_today())}
    saved = client.post(
        "/coverage/capacity", data={"high": "5", "low": "40", "tech": "200", "csrf_token": csrf(page.text)}
    )
    assert saved.status_code == 303
    page = client.get(saved.headers["location"])
    assert 'name="high" min="1" max="100000" value="5"' in page.text and "担当上限を保存しました" in page.text
    with demo.runtime.transaction() as session:
        assert service.tier_capacities(session) == {"high": 5, "low": 40, "tech": 200}
        after = {b.owner_id: b for b in service.books_of_business(session, today=service_today())}
    for owner_id, book in after.items():
        tiers = book.by_tier
        expected = tiers.get("high", 0) / 5 + tiers.get("low", 0) / 40 + tiers.get("tech", 0) / 200
        assert book.account_load == pytest.approx(expected + tiers.get("none", 0) / 40)
        assert f"{book.load * 100:.0f}%" in page.text
        if tiers.get("high"):
            assert book.account_load > (before[owner_id].account_load or 0)

    # two accounts lose their owner; the page lists them and assigns them to CSMs
    with demo.runtime.transaction() as session:
        ids = list(session.scalars(select(Account.id).where(Account.lifecycle_stage != "churned").limit(2)))
        for account in session.scalars(select(Account).where(Account.id.in_(ids))):
            account.owner_id = None
    page = client.get("/coverage")
    assert "未割当 2 社" in text_of(page.text)
    assigned = client.post(
        "/coverage/assign", data={"strategy": "least_loaded", "tier": "", "csrf_token": csrf(page.text)}
    )
    assert assigned.status_code == 303 and assigned.headers["location"] == "/coverage?assigned=2"
    page = client.get(assigned.headers["location"])
    assert "2 社に担当を割り当てました" in page.text and "未割当の取引先はありません" in page.text
    with demo.runtime.transaction() as session:
        assert all(a.owner_id for a in session.scalars(select(Account).where(Account.id.in_(ids))))


def service_today() -> dt.date:
    from kizuna.platform.clock import today

    return today()


@pytest.mark.parametrize("path", ["/segments", "/coverage", "/segments/rfm-champions", "/segments/rfm-at-risk"])
def test_no_keys_or_identifiers_on_the_pages(demo: PortfolioDemo, path: str) -> None:
    assert words_problems(demo.client, path) == []
