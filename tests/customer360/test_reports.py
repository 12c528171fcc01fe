"""The QBR deck through the app ``kizuna serve`` builds: PowerPoint opened with python-pptx and the PDF's text read
with pypdf, in Japanese and English; the customer's deck holds no internal figure, the internal one does; files are
kept by content and drawn again when the content changes."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pptx import Presentation
from pypdf import PdfReader

from kizuna import models as m
from kizuna.auth.deps import LANGUAGE_COOKIE
from kizuna.lifecycle import service as lifecycle
from kizuna.tasks import service as tasks
from kizuna.usage.rollups import ROLLUP_SCHEMA, rollup_dir
from kizuna.usage.store import EventStore
from tests.web.fixtures import WebWorld, csrf_of
from tests.web.test_words import problems

TASK = "値引き交渉の社内メモを確認"
GOAL = "問い合わせ対応時間を30%短縮"
USERS = [4, 6, 7, 9, 11, 12]
#: what only the internal deck may say (Japanese, English)
INTERNAL = {
    "ja": ("解約リスク", "73%", TASK, "総合ヘルス", "社内", "MRR"),
    "en": ("Churn risk", "73%", TASK, "Overall health", "Internal", "MRR"),
}
SECTIONS = {
    "ja": (
        "ビジネスレビュー",
        "利用状況と活用の推移",
        "サクセスプラン: 目標と実績",
        "ご提供した価値",
        "次のステップ (合意事項)",
    ),
    "en": ("Business review", "Usage and adoption trend", "Success plan: goals against results", "Value delivered"),
}


def _month(today: dt.date, back: int) -> dt.date:
    index = today.year * 12 + today.month - 1 - back
    return dt.date(index // 12, index % 12 + 1, 1)


@pytest.fixture
def account(world: WebWorld) -> int:
    """The world's first account with a success plan, an internal task, usage the refresh stored, a health score and
    a churn risk."""
    today = dt.date.today()
    with world.runtime.transaction() as session:
        goal = lifecycle.add_goal(
            session,
            actor="test",
            account_id=world.account_id,
            goal=GOAL,
            unit="分",
            baseline_value=45,
            target_value=30,
            target_date=today + dt.timedelta(days=60),
        )
        lifecycle.update_goal(session, actor="test", goal_id=goal.id, current_value=36)
        tasks.create_task(session, actor="test", title=TASK, account_id=world.account_id, due_on=today)
        model = m.RiskModel(
            file_name="risk.joblib",
            data_as_of=today,
            horizon_days=90,
            train_start=today,
            train_end=today,
            n_samples=100,
            base_rate=0.1,
            features=["usage_trend"],
            params={},
            metrics={},
            trained_by="test",
        )
        session.add(model)
        session.flush()
        session.add(
            m.RiskScore(
                account_id=world.account_id,
                model_id=model.id,
                as_of=today,
                probability=0.73,
                band="high",
                drivers=[{"feature": "usage_trend", "value": -0.4, "contribution": 1.2}],
            )
        )
        session.add(
            m.HealthScore(
                account_id=world.account_id,
                scorecard="overall",
                scorecard_version=1,
                as_of=today,
                computed_score=38.0,
                computed_band="red",
                score=38.0,
                band="red",
                known_weight=1.0,
                missing=[],
                contributions=[{"measure": "usage_trend", "value": -0.4, "points": 10, "contribution": 3.0}],
            )
        )
    folder = rollup_dir(EventStore(world.runtime.settings.events_dir))
    folder.mkdir(parents=True)
    for back, users in zip(range(len(USERS), 0, -1), USERS, strict=True):
        month = _month(today, back)
        rows = {"account_id": [world.account_id], "month": [month], "users": [users], "events": [users * 9]}
        rows |= {"logins": [users * 3], "last_login_at": [dt.datetime(month.year, month.month, 2, tzinfo=dt.UTC)]}
        pq.write_table(pa.table(rows, schema=ROLLUP_SCHEMA), folder / f"month={month:%Y-%m}.parquet")
    return world.account_id


def _pptx(content: bytes) -> tuple[str, list[tuple[str, list[str], dict[str, list[float]]]]]:
    """All the text of a PowerPoint file, and its charts as (title, categories, {series: values})."""
    deck = Presentation(io.BytesIO(content))
    words: list[str] = []
    charts = []
    for slide in deck.slides:
        for shape in slide.shapes:
            if shape.has_text_frame:
                words.append(shape.text_frame.text)
            if shape.has_table:
                words += [cell.text for row in shape.table.rows for cell in row.cells]
            if shape.has_chart:
                chart = shape.chart
                plot = chart.plots[0]
                series = {s.name: list(s.values) for s in plot.series}
                charts.append((chart.chart_title.text_frame.text, list(plot.categories), series))
                words += [chart.chart_title.text_frame.text, *series]
    return "\n".join(words), charts


def _pdf(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


@pytest.mark.parametrize("language", ["ja", "en"])
def test_the_customer_deck_holds_no_internal_figure(world: WebWorld, account: int, language: str) -> None:
    client = world.client("csm")
    pptx = client.get(f"/accounts/{account}/report.pptx", params={"lang": language})
    assert pptx.status_code == 200
    assert pptx.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument.presentationml")
    text, charts = _pptx(pptx.content)
    pdf = client.get(f"/accounts/{account}/report.pdf", params={"lang": language})
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    pdf_text = _pdf(pdf.content)
    for words in (text, pdf_text):
        for section in SECTIONS[language]:
            assert section in words, (section, language)
        assert GOAL in words and "株式会社サクラ商事" in words
        for internal in INTERNAL[language]:
            assert internal not in words, (internal, language)
        assert "担当者" not in words  # the contact count is no longer on the deck under a CSM's label
    titles = [title for title, _, _ in charts]
    assert len(charts) == 3, titles
    usage = charts[0]
    active = "アクティブユーザー" if language == "ja" else "Active users"
    assert usage[2][active] == [float(u) for u in USERS]
    seats = "契約ライセンス数" if language == "ja" else "Licensed seats"
    assert usage[2][seats] == [14.0] * len(USERS)
    goals = charts[1]
    assert goals[1] == [GOAL] and goals[2][next(iter(goals[2]))] == [pytest.approx(0.6)]
    # the Japanese font is embedded (a subset), so the PDF reads the same anywhere
    assert b"/FontFile2" in pdf.content and re.search(rb"/BaseFont /[A-Z]{6}\+IPAP?Gothic", pdf.content)


@pytest.mark.parametrize("language", ["ja", "en"])
def test_the_internal_deck_is_chosen_explicitly_and_says_so(world: WebWorld, account: int, language: str) -> None:
    client = world.client("manager")
    params = {"lang": language, "audience": "internal"}
    text, charts = _pptx(client.get(f"/accounts/{account}/report.pptx", params=params).content)
    pdf_text = _pdf(client.get(f"/accounts/{account}/report.pdf", params=params).content)
    for words in (text, pdf_text):
        for internal in INTERNAL[language]:
            assert internal in words, (internal, language)
    banner = (
        "社内資料 — お客さまに送付しないでください" if language == "ja" else "Internal — do not send to the customer"
    )
    assert banner in text and banner in pdf_text
    assert len(charts) == 4  # and the MRR history
    assert client.get(f"/accounts/{account}/report.pdf", params={"audience": "everyone"}).status_code == 422


def test_the_page_offers_both_decks_and_speaks_in_words(world: WebWorld, account: int) -> None:
    client = world.client("csm")
    for language in ("ja", "en"):
        client.cookies.set(LANGUAGE_COOKIE, language)
        page = client.get(f"/accounts/{account}/report")
        assert page.status_code == 200
        for audience in ("customer", "internal"):
            for fmt in ("pptx", "pdf"):
                assert f'id="qbr-{audience}-{fmt}"' in page.text
                assert f"/accounts/{account}/report.{fmt}?lang={language}&amp;audience={audience}" in page.text
        other, label = ("en", "English") if language == "ja" else ("ja", "日本語")
        assert f'href="?lang={other}&amp;audience=customer">{label}</a>' in page.text
        main = page.text.split("<main", 1)[1]
        assert problems(main, language) == []
        slides = main.split('id="qbr-summary"', 1)[1]  # the deck as shown, below the download buttons
        for internal in INTERNAL[language][:4]:
            assert internal not in slides
        internal_page = client.get(f"/accounts/{account}/report", params={"audience": "internal"})
        assert INTERNAL[language][0] in internal_page.text and 'id="qbr-internal_health"' in internal_page.text
        assert problems(internal_page.text.split("<main", 1)[1], language) == []
    customer_360 = client.get(f"/accounts/{account}")
    assert (
        f"/accounts/{account}/report.pptx" in customer_360.text
        and f"/accounts/{account}/report.pdf" in customer_360.text
    )


def test_decks_are_drawn_once_per_content(world: WebWorld, account: int) -> None:
    client = world.client("csm")
    kept = Path(world.runtime.settings.data_dir) / "reports"
    client.get(f"/accounts/{account}/report", params={"lang": "ja"})
    # opening the page drew the customer's deck in the background
    first = sorted(p.name for p in kept.glob(f"qbr-{account}-customer-ja-*"))
    # (each name ends in a digest of its format and the deck's content: their order says nothing)
    assert sorted(Path(n).suffix for n in first) == [".pdf", ".pptx"]
    pdf = next(n for n in first if n.endswith(".pdf"))
    again = client.get(f"/accounts/{account}/report.pdf", params={"lang": "ja"})
    assert again.content == (kept / pdf).read_bytes()
    with world.runtime.transaction() as session:
        tasks.create_task(session, actor="test", title="社内の別件", account_id=account)
    # an internal task does not change the customer's deck
    client.get(f"/accounts/{account}/report.pdf", params={"lang": "ja"})
    assert sorted(p.name for p in kept.glob(f"qbr-{account}-customer-ja-*")) == first
    with world.runtime.transaction() as session:
        goal = lifecycle.success_plan(session, account_id=account, today=dt.date.today())[0]
        lifecycle.update_goal(session, actor="test", goal_id=goal["id"], current_value=30)
    updated = client.get(f"/accounts/{account}/report.pdf", params={"lang": "ja"})
    now = sorted(p.name for p in kept.glob(f"qbr-{account}-customer-ja-*.pdf"))
    assert len(now) == 1 and now[0] != pdf and "達成" in _pdf(updated.content)


def test_a_csm_records_goals_and_results_from_the_page(world: WebWorld) -> None:
    client = world.client("csm")
    page = client.get(f"/accounts/{world.account_id}/report")
    assert "サクセスプランの目標はまだ設定されていません" in page.text
    token = csrf_of(page.text)
    added = client.post(
        f"/accounts/{world.account_id}/report/goals",
        data={"goal": "月次締めの作業時間を半分に", "unit": "時間", "baseline": "４０", "target": "20"}
        | {"target_date": "2027-03-31", "lang": "ja", "csrf_token": token},
    )
    assert added.status_code == 303
    assert added.headers["location"] == f"/accounts/{world.account_id}/report?lang=ja&audience=customer#qbr-goals"
    with world.runtime.transaction() as session:
        (goal,) = lifecycle.success_plan(session, account_id=world.account_id, today=dt.date.today())
    assert (goal["baseline_value"], goal["target_value"], goal["unit"]) == (40.0, 20.0, "時間")
    result = client.post(
        f"/accounts/{world.account_id}/report/goals/{goal['id']}", data={"current": "18", "csrf_token": token}
    )
    assert result.status_code == 303
    text = _pdf(client.get(f"/accounts/{world.account_id}/report.pdf").content)
    assert "月次締めの作業時間を半分に" in text and "達成" in text and "40 時間 → 18 時間" in text
    # a goal of another account, a word for a number, a viewer: refused
    other = f"/accounts/{world.other_account_id}/report/goals/{goal['id']}"
    assert client.post(other, data={"current": "1", "csrf_token": token}).status_code == 404
    bad = client.post(
        f"/accounts/{world.account_id}/report/goals", data={"goal": "x", "target": "多い", "csrf_token": token}
    )
    assert bad.status_code == 400
    viewer = world.client("viewer")
    viewer_token = csrf_of(viewer.get(f"/accounts/{world.account_id}/report").text)
    refused = viewer.post(f"/accounts/{world.account_id}/report/goals", data={"goal": "x", "csrf_token": viewer_token})
    assert refused.status_code == 403
