"""The health pages through the app ``kizuna serve`` builds, on the demo after ``kizuna refresh``: every scorecard by
its YAML title, its measures and rules in words, the stored backtest (never recomputed on a request), and an
account's history on every scorecard."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from kizuna.auth.deps import LANGUAGE_COOKIE, SESSION_COOKIE
from kizuna.health import service
from kizuna.health.models import HealthScore
from kizuna.runtime import Runtime
from tests.web.demo_app import DemoApp
from tests.web.fixtures import session_token

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


@pytest.fixture
def client(demo_app: DemoApp) -> Iterator[TestClient]:
    with TestClient(demo_app.app) as c:
        c.cookies.set(SESSION_COOKIE, session_token(demo_app.settings, demo_app.admin_id))
        yield c


def _visible(html: str) -> str:
    html = re.sub(r"<script.*?</script>", "", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def test_every_scorecard_by_its_title_with_distribution_and_backtest(demo_app: DemoApp, client: TestClient) -> None:
    client.cookies.set(LANGUAGE_COOKIE, "ja")
    html = client.get("/health").text
    for title in ("総合ヘルス", "オンボーディング", "エクスパンション準備度"):
        assert title in html
    for name in ("overall", "onboarding", "expansion"):
        assert f'href="/health/{name}"' in html
    assert "/health" in re.findall(r'<aside class="sidebar">.*?</aside>', html, flags=re.S)[0]


def test_a_scorecard_in_words_with_its_stored_backtest(demo_app: DemoApp, client: TestClient) -> None:
    rt = Runtime.open(demo_app.settings)
    try:
        with rt.transaction() as session:
            stored = service.latest_backtests(session)["overall"]
            roc_auc = stored.metrics["roc_auc"]
            churned = stored.metrics["churned"]
    finally:
        rt.close()
    client.cookies.set(LANGUAGE_COOKIE, "ja")
    html = client.get("/health/overall").text
    text = _visible(html)
    assert "総合ヘルス" in text and "利用トレンド" in text and "最終ログインからの日数" in text
    assert "7日未満: 100点" in text  # a band rule in words
    assert "40点未満は赤" in text
    assert "usage_trend" not in text and "login_recency" not in text
    assert f"{roc_auc:.3f}" in text and f"うち解約{churned:,.0f}" in text
    for chart in ("chart-health-distribution", "chart-health-history", "chart-health-churn-by-band"):
        assert f'id="{chart}"' in html
    client.cookies.set(LANGUAGE_COOKIE, "en")
    text = _visible(client.get("/health/overall").text)
    assert "Overall health" in text and "under 7 days: 100 points" in text
    assert client.get("/health/no-such-card").status_code == 404


def test_the_page_reads_the_stored_backtest(demo_app: DemoApp, client: TestClient) -> None:
    rt = Runtime.open(demo_app.settings)
    try:
        with rt.transaction() as session:
            row = service.latest_backtests(session)["onboarding"]
            stored = row.metrics
            row.metrics = {**stored, "roc_auc": 0.1234}
        client.cookies.set(LANGUAGE_COOKIE, "ja")
        assert "0.123" in client.get("/health/onboarding").text
    finally:
        with rt.transaction() as session:
            service.latest_backtests(session)["onboarding"].metrics = stored
        rt.close()


def test_an_accounts_history_on_every_scorecard(demo_app: DemoApp, client: TestClient) -> None:
    rt = Runtime.open(demo_app.settings)
    try:
        with rt.transaction() as session:
            # the refresh gave the new install a history: an account scored on several dates
            account_id, dates = session.execute(
                select(HealthScore.account_id, func.count(func.distinct(HealthScore.as_of)))
                .where(HealthScore.scorecard == "overall")
                .group_by(HealthScore.account_id)
                .order_by(func.count(func.distinct(HealthScore.as_of)).desc(), HealthScore.account_id)
            ).first() or (0, 0)
            history = service.account_history(session, account_id=account_id, language="ja")
    finally:
        rt.close()
    assert dates > 1
    overall = next(h for h in history if h["scorecard"] == "overall")
    assert overall["title"] == "総合ヘルス" and overall["points"] == dates
    assert len(overall["chart"]["categories"]) == dates
    client.cookies.set(LANGUAGE_COOKIE, "ja")
    html = client.get(f"/accounts/{account_id}/health/history").text
    assert "ヘルススコア推移" in html and "総合ヘルス" in html
    assert 'id="chart-health-account-overall"' in html
    client.cookies.set(LANGUAGE_COOKIE, "en")
    assert "Health score history" in client.get(f"/accounts/{account_id}/health/history").text
