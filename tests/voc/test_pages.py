"""The VoC pages of the app ``kizuna serve`` builds: a category corrected on /voc is kept and used by the next
refresh; /voc/analytics reads the analyses the refresh stored (and says so before one); KWIC finds a word in
context; the feature requests ranked by ARR go to product as CSV / Excel and to a real webhook on loopback."""

from __future__ import annotations

import datetime as dt
import io

from openpyxl import load_workbook
from sqlalchemy import select

from kizuna import models as m
from kizuna.analytics.text.classify import CATEGORIES
from kizuna.domains import refresh
from kizuna.platform.outbox.service import DeliveryPolicy, deliver_queued
from kizuna.voc.models import VOC_CATEGORIES
from kizuna.voc.pages import term_label
from tests.platform.outbox.loopback import WebhookPeer, webhook_peer  # noqa: F401
from tests.web.fixtures import WebWorld, _world_template, csrf_of, world  # noqa: F401

REQUESTS = (
    "Salesforce連携の機能が欲しいです。",
    "Salesforce連携があると助かります。",
    "Salesforceと連携できるようにしてほしい。",
    "Salesforce連携を追加してください。",
)


def _add_texts(world: WebWorld) -> list[int]:  # noqa: F811
    """Feature requests from both accounts (the larger asks more), and a text no rule classifies."""
    now = dt.datetime.now(dt.UTC)
    ids = []
    with world.runtime.transaction() as session:
        for i, text in enumerate((*REQUESTS, "来月の定例で担当者が交代します。")):
            entry = m.VocEntry(
                external_id=f"V-page-{i}",
                account_id=world.other_account_id if i % 2 else world.account_id,
                channel="sales_hearing",
                text=text,
                recorded_at=now - dt.timedelta(days=2 + i),
            )
            session.add(entry)
            session.flush()
            ids.append(entry.id)
    return ids


def _refresh(world: WebWorld) -> None:  # noqa: F811
    refresh(world.runtime, as_of=dt.datetime.now(dt.UTC).date(), only=["voc"])


def test_the_page_offers_the_classifiers_categories() -> None:
    assert tuple(CATEGORIES) == VOC_CATEGORIES


def test_a_negated_term_reads_as_words() -> None:
    assert term_label("使いやすい+NEG", "ja") == "使いやすい(否定)"
    assert term_label("使いやすい+NEG", "en") == "not 使いやすい"
    assert term_label("ログイン", "ja") == "ログイン"


def test_a_corrected_category_is_kept_and_used_by_the_next_refresh(world: WebWorld) -> None:  # noqa: F811
    ids = _add_texts(world)
    _refresh(world)
    plain = ids[-1]
    with world.runtime.transaction() as session:
        before = session.scalars(select(m.VocTextAnalysis).where(m.VocTextAnalysis.entry_id == plain)).one()
        assert before.category != "insufficient_support"
        version_before = before.analyser_version
    client = world.client("csm")
    page = client.get("/voc")
    assert page.status_code == 200 and 'id="voc-corrected"' in page.text
    assert "人が修正した分類: 0件" in page.text
    assert client.get("/voc/analytics").status_code == 200
    answer = client.post(
        f"/voc/entries/{plain}/label", data={"category": "insufficient_support", "csrf_token": csrf_of(page.text)}
    )
    assert answer.status_code == 303 and answer.headers["location"] == f"/voc#entry-{plain}"
    assert client.post(
        f"/voc/entries/{plain}/label", data={"category": "no_such_category", "csrf_token": csrf_of(page.text)}
    ).status_code in (400, 422)
    with world.runtime.transaction() as session:
        label = session.scalars(select(m.VocLabel).where(m.VocLabel.entry_id == plain)).one()
        assert label.category == "insufficient_support" and label.author.startswith("user:")
    page = client.get("/voc")
    assert "人が修正した分類: 1件" in page.text and "修正済み" in page.text

    _refresh(world)
    with world.runtime.transaction() as session:
        after = session.scalars(select(m.VocTextAnalysis).where(m.VocTextAnalysis.entry_id == plain)).one()
        assert (after.category, after.source) == ("insufficient_support", "label")
        # the label joined the training set: every entry was classified again by the retrained model
        assert after.analyser_version != version_before
        others = session.scalars(select(m.VocTextAnalysis.analyser_version)).all()
        assert set(others) == {after.analyser_version}
    analytics = client.get("/voc/analytics")
    assert "人が修正した分類: 1件" in analytics.text


def test_analytics_read_what_the_refresh_stored(world: WebWorld) -> None:  # noqa: F811
    client = world.client("viewer")
    before = client.get("/voc/analytics")
    assert before.status_code == 200 and 'id="voc-not-refreshed"' in before.text
    _add_texts(world)
    _refresh(world)
    page = client.get("/voc/analytics")
    assert page.status_code == 200 and 'id="voc-not-refreshed"' not in page.text
    for section in ("頻出語", "KWIC", "共起ネットワーク", "トピック", "感情", "解約理由 (ARR加重)", "要望 (ARR順)"):
        assert section in page.text, section
    assert "<script>alert(" not in page.text
    assert 'id="chart-voc-frequency"' in page.text and 'id="chart-voc-requests"' in page.text
    with world.runtime.transaction() as session:
        names = set(session.scalars(select(m.VocAnalysis.name)))
    assert {"frequency", "network", "topics", "sentiment", "churn_reasons", "requests", "lift"} <= names

    kwic = client.get("/voc/analytics", params={"q": "重い"})
    assert kwic.status_code == 200 and kwic.text.count("<strong>重い</strong>") == 2
    assert "2件の出現" in kwic.text
    nothing = client.get("/voc/analytics", params={"q": "存在しない語"})
    assert "0件の出現" in nothing.text


def test_feature_requests_go_to_product(world: WebWorld, webhook_peer: WebhookPeer) -> None:  # noqa: F811
    client = world.client("manager")
    _add_texts(world)
    _refresh(world)
    csv = client.get("/voc/requests", params={"format": "csv"})
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("順位,要望テーマ,顧客数") and "salesforce" in lines[1].lower()
    xlsx = client.get("/voc/requests", params={"format": "xlsx"})
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None and sheet.cell(2, 1).value == 1 and sheet.cell(2, 3).value == 2  # both accounts ask

    page = client.get("/voc/analytics")
    url = webhook_peer.url("/product")
    sent = client.post("/voc/requests/handoff", data={"url": url, "csrf_token": csrf_of(page.text)})
    assert sent.status_code == 303 and sent.headers["location"] == "/voc/analytics?handoff=queued#requests"
    again = client.post("/voc/requests/handoff", data={"url": url, "csrf_token": csrf_of(page.text)})
    assert again.headers["location"] == "/voc/analytics?handoff=already#requests"
    assert webhook_peer.requests == []  # queued in the outbox; the worker sends after commit
    report = deliver_queued(world.runtime.sessions, settings=world.runtime.settings, policy=DeliveryPolicy())
    assert report.sent == 1
    (call,) = webhook_peer.calls("/product")
    rows = call["json"]["feature_requests"]
    assert rows[0]["rank"] == 1 and "salesforce" in rows[0]["theme"].lower() and rows[0]["n_accounts"] == 2
    assert "Feature requests ranked by ARR" in call["json"]["text"]
    assert "要望一覧をプロダクトチームへの送信キューに入れました" in client.get(sent.headers["location"]).text
