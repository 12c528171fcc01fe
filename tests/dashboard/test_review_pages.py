"""The pages of a manager's monthly review besides the dashboard (/unit-economics, /leakage, /usage, /cohorts,
/funnel, /definitions) on the demo company after ``kizuna refresh``, through the app ``kizuna serve`` builds: each
figure checked against a computation of its own from the hub or the stored inputs, in both languages."""

from __future__ import annotations

import datetime as dt
import re
import warnings
from collections import Counter

import pandas as pd
import pytest
from sqlalchemy import text

from kizuna.auth.deps import LANGUAGE_COOKIE, SESSION_COOKIE
from kizuna.runtime import Runtime
from tests.web.demo_app import END, DemoApp
from tests.web.fixtures import session_token

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

AS_OF = dt.date.fromisoformat(END)
REASONS = ("results_not_achieved", "hard_to_use", "insufficient_support", "price_not_worth_it", "missing_features")


def _client(demo_app: DemoApp, language: str = "ja") -> TestClient:
    client = TestClient(demo_app.app)
    client.cookies.set(SESSION_COOKIE, session_token(demo_app.settings, demo_app.admin_id))
    client.cookies.set(LANGUAGE_COOKIE, language)
    return client


def _query(demo_app: DemoApp, sql: str, **params: object) -> pd.DataFrame:
    runtime = Runtime.open(demo_app.settings)
    try:
        with runtime.transaction() as session:
            result = session.execute(text(sql), params)
            return pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    finally:
        runtime.close()


def _stored(demo_app: DemoApp, name: str) -> pd.DataFrame:
    from kizuna.kpis.service import load_table

    runtime = Runtime.open(demo_app.settings)
    try:
        with runtime.transaction() as session:
            return load_table(session, name=name)
    finally:
        runtime.close()


def _yen(amount: float) -> str:
    return f"¥{round(amount):,}"


def test_leakage_by_reason_is_the_losses_given_their_reasons_from_the_voc_texts(review_app: DemoApp) -> None:
    losses = _stored(review_app, "mrr_losses")
    assert len(losses) and (losses.loss_minor > 0).all()
    # the losses are the churn and contraction of the stored revenue series over the same months
    from kizuna.kpis.service import load_kpi

    runtime = Runtime.open(review_app.settings)
    try:
        with runtime.transaction() as session:
            series = load_kpi(session, names=["churn_minor", "contraction_minor"], currency="JPY")
    finally:
        runtime.close()
    first = (AS_OF.replace(day=1) - pd.DateOffset(months=12)).date()
    window = series[series.month >= first]
    jpy = losses[losses.currency == "JPY"]
    assert jpy.loss_minor.sum() == -window.value.sum()

    # each loss's reason, from the raw VoC rows (a person's label first), as docs/metrics.md defines it
    said = _query(
        review_app,
        "SELECT e.account_id, e.recorded_at, COALESCE(l.category, a.category) AS category FROM voc_entries e "
        "JOIN voc_text_analysis a ON a.entry_id = e.id LEFT JOIN voc_labels l ON l.entry_id = e.id "
        "WHERE e.account_id IS NOT NULL",
    )
    said["day"] = pd.to_datetime(said.recorded_at).dt.date
    expected: Counter[str] = Counter()
    for loss in jpy.itertuples():
        month = dt.date.fromisoformat(str(loss.month)[:10])
        end = (pd.Timestamp(month) + pd.DateOffset(months=1)).date()
        if loss.involuntary and loss.movement == "churn":
            reason = "payment_failed"
        else:
            near = said[
                (said.account_id == loss.account_id)
                & (said.day < end)
                & (said.day >= end - dt.timedelta(days=180))
                & said.category.isin(REASONS)
            ]
            counts = Counter(near.category)
            reason = min(counts, key=lambda c: (-counts[c], REASONS.index(c))) if counts else "unknown"
        expected[reason] += int(loss.loss_minor)
    assert len(expected) >= 3  # the demo's churned accounts complained before leaving
    with _client(review_app) as client:
        html = client.get("/leakage").text
        dashboard = client.get("/").text
    english = _client(review_app, "en").get("/leakage").text
    stored = _stored(review_app, "revenue_leakage")
    stored = stored[stored.currency == "JPY"].set_index("reason")
    assert {r: int(stored.at[r, "lost_minor"]) for r in stored.index} == dict(expected)
    for reason, lost in expected.items():
        assert int(stored.at[reason, "lost_arr_minor"]) == 12 * lost
        assert _yen(12 * lost) in html
    from kizuna.platform.web.i18n import translate

    for reason in expected:
        assert translate("ja", f"kpis.reason.{reason}") in html and translate("en", f"kpis.reason.{reason}") in english
        assert translate("ja", f"kpis.reason.{reason}") != f"kpis.reason.{reason}"
    assert 'id="dashboard-leakage"' in dashboard and 'href="/leakage"' in dashboard


def test_usage_page_sums_the_paying_accounts_metrics(review_app: DemoApp) -> None:
    rows = _query(
        review_app,
        "SELECT m.dau, m.wau, m.mau, m.avg_dau_30d, m.seats, p.name AS plan FROM account_metrics m "
        "LEFT JOIN plans p ON p.id = m.plan_id WHERE m.mrr_minor > 0",
    )
    with _client(review_app) as client:
        html = client.get("/usage").text
    assert len(rows)
    tile = re.search(r'id="usage-mau".*?tile-value">([^<]+)<', html, re.S)
    assert tile is not None and tile.group(1) == f"{int(rows.mau.sum()):,}"
    seated = rows[rows.seats > 0]
    utilisation = seated.mau.sum() / seated.seats.sum()
    assert f"{utilisation:.1%}" in re.search(r'id="usage-seats".*?</div></div>', html, re.S).group(0)  # type: ignore[union-attr]
    stickiness = rows.avg_dau_30d.fillna(0).sum() / rows.mau.sum()
    assert f"{stickiness:.1%}" in html
    biggest = rows.groupby("plan").mau.sum().idxmax()
    assert f'<td translate="no">{biggest}</td>' in html  # plan names are the customer's configuration
    assert 'id="chart-mau"' in html and 'id="chart-usage-plans"' in html


def test_feature_adoption_by_month_is_the_share_of_active_accounts_using_each_feature(review_app: DemoApp) -> None:
    import pyarrow.dataset as ds

    events = ds.dataset(
        review_app.settings.events_dir, format="parquet", partitioning="hive", exclude_invalid_files=True
    )
    frame = events.to_table(columns=["account_id", "feature", "timestamp"]).to_pandas()
    frame["month"] = pd.to_datetime(frame.timestamp, utc=True).dt.tz_localize(None).dt.to_period("M")
    review = pd.Period(AS_OF, "M") - 1
    month = frame[frame.month == review]
    active = month.account_id.nunique()
    shares = month.dropna(subset=["feature"]).groupby("feature").account_id.nunique() / active
    stored = _stored(review_app, "feature_adoption")
    stored = stored[pd.to_datetime(stored.month).dt.to_period("M") == review].set_index("feature")
    assert len(shares) >= 3
    for feature, share in shares.items():
        assert stored.at[feature, "adoption"] == pytest.approx(share)
    with _client(review_app) as client:
        html = client.get("/usage").text
    assert 'id="feature-adoption"' in html and 'id="chart-feature-adoption"' in html


def test_cohorts_by_start_plan_tier_and_tenure(review_app: DemoApp) -> None:
    with _client(review_app) as client:
        pages = {by: client.get("/cohorts", params={"by": by}).text for by in ("start", "plan", "tier", "tenure")}
        assert client.get("/cohorts", params={"by": "colour"}).status_code == 422
    # pooled retention of the biggest plan at month 1: the cohorts old enough, summed, from the stored rows
    table = _stored(review_app, "cohort_retention_by_plan")
    table = table[table.currency == "JPY"]
    table["cohort_month"] = pd.to_datetime(table.cohort_month).dt.date
    starts = table[table.period == 0]
    plan = starts.groupby("plan").cohort_customers.sum().idxmax()
    now = AS_OF.replace(day=1)
    old = starts[
        (starts.plan == plan) & starts.cohort_month.map(lambda m: (now.year - m.year) * 12 + now.month - m.month >= 1)
    ]
    month1 = table[(table.plan == plan) & (table.period == 1) & table.cohort_month.isin(set(old.cohort_month))]
    retention = month1.customers.sum() / old.cohort_customers.sum()
    row = re.search(rf'<td translate="no">{re.escape(plan)}</td>(.*?)</tr>', pages["plan"], re.S)
    assert row is not None
    cells = re.findall(r'<td class="num">([^<]*)</td>', row.group(1))
    assert cells[0] == f"{int(starts[starts.plan == plan].cohort_customers.sum()):,}"
    assert cells[2] == f"{retention * 100:.0f}%"
    assert "ハイタッチ" in pages["tier"] or "テックタッチ" in pages["tier"]
    tenure = _stored(review_app, "churn_by_tenure")
    young = tenure[(tenure.currency == "JPY") & (tenure.tenure_bucket == "0-2m")].iloc[0]
    assert "0〜2か月" in pages["tenure"] and f"{young.churned_customers / young.customer_months:.1%}" in pages["tenure"]
    for html in pages.values():
        assert 'id="snapshot-as-of"' in html


def test_funnel_page_in_words_with_velocity_untouched_leads_and_handoffs(review_app: DemoApp) -> None:
    leads = _query(review_app, "SELECT source, COUNT(*) AS n FROM leads WHERE created_at < :d GROUP BY source", d=END)
    untouched = _stored(review_app, "untouched_leads")
    with _client(review_app) as client:
        html = client.get("/funnel").text
    english = _client(review_app, "en").get("/funnel").text
    top = leads.sort_values("n", ascending=False).iloc[0]
    label = {
        "web": "Webサイト",
        "ads": "広告",
        "seminar": "セミナー",
        "exhibition": "展示会",
        "partner": "パートナー",
        "referral": "紹介",
    }[top.source]
    assert re.search(rf"<td>{label}</td><td class=\"num\">{int(top.n):,}</td>", html)
    assert f"{len(untouched):,} 件" in html and f"{untouched.first_touch_at.isna().sum():,} 件" in html
    for section in ("funnel-velocity", "funnel-untouched", "funnel-handoff", "funnel-segments"):
        assert f'id="{section}"' in html and f'id="{section}"' in english
    assert "リード → MQL" in html and "Hand-off quality by source" in english
    assert ">ads<" not in html and ">web<" not in html


def test_every_figure_links_to_a_definition_that_exists(review_app: DemoApp) -> None:
    with _client(review_app) as client:
        definitions = client.get("/definitions").text
        english = _client(review_app, "en").get("/definitions").text
        anchors = set(re.findall(r'<section class="card definition" id="([a-z_]+)"', definitions))
        for path in ("/", "/unit-economics", "/usage", "/leakage", "/cohorts"):
            links = set(re.findall(r'href="/definitions#([a-z_]+)"', client.get(path).text))
            assert links and links <= anchors, (path, links - anchors)
    assert {"ltv", "cac", "ltv_to_cac", "payback", "quick_ratio", "arpa", "onboarding_completion"} <= anchors
    assert "CAC回収期間" in definitions and "Payback period" in english


@pytest.mark.parametrize("language", ["ja", "en"])
def test_unit_economics_page_shows_every_input(review_app: DemoApp, language: str) -> None:
    with _client(review_app, language) as client:
        data = client.get("/api/v1/dashboard").json()["unit_economics"]
        html = client.get("/unit-economics").text
    calc = re.search(r'id="calc-cac">(.*?)</tr>', html, re.S)
    assert calc is not None
    assert _yen(data["spend_minor"]) in calc.group(1) and f"÷ {int(data['new_customers'])}" in calc.group(1)
    ltv = re.search(r'id="calc-ltv">(.*?)</tr>', html, re.S)
    assert ltv is not None and _yen(data["arpa_minor"]) in ltv.group(1) and _yen(data["ltv_minor"]) in ltv.group(1)
    churn = re.search(r'id="calc-churn">(.*?)</tr>', html, re.S)
    assert churn is not None and f"{int(data['churned_12m']):,} ÷ {int(data['customers_start_12m']):,}" in churn.group(
        1
    )
    assert 'id="cac-channels"' in html and 'id="chart-ltv-cac"' in html


@pytest.mark.parametrize("language", ["ja", "en"])
def test_trials_and_notices_on_the_dashboard_are_those_of_the_subscriptions(review_app: DemoApp, language: str) -> None:
    review = (AS_OF.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    subs = _query(review_app, "SELECT account_id, status, start_date, end_date, cancelled_at FROM subscriptions")
    for col in ("start_date", "end_date", "cancelled_at"):
        subs[col] = pd.to_datetime(subs[col]).dt.date
    trials = subs[(subs.status == "trial") & subs.start_date.map(lambda d: d.replace(day=1) == review)]
    running = subs[
        ~subs.status.isin(["trial", "paused"])
        & (subs.start_date <= AS_OF)
        & subs.end_date.map(lambda d: d is None or pd.isna(d) or d > AS_OF)
    ]
    noticed = running[running.cancelled_at.map(lambda d: d is not None and not pd.isna(d) and d <= AS_OF)]
    with _client(review_app, language) as client:
        html = client.get("/").text
        model = client.get("/api/v1/dashboard").json()["revenue_model"]
    assert model["review_month"] == review.isoformat() and model["month"]["trials_started"] == len(trials)
    # (a month with no notice has no stored figure)
    assert (model["month_to_date"].get("churn_scheduled_customers") or 0) == noticed.account_id.nunique()
    tiles = re.search(r'id="revenue-model-tiles">(.*?)</div>\s*(?:<section|<h2|<div class="grid)', html, re.S)
    assert tiles is not None, "the demo has trials and notices: the section is shown"
    started = re.search(r'id="tile-trials">.*?<div class="tile-value">([^<]*)<', tiles.group(1), re.S)
    assert started is not None and started.group(1) == f"{len(trials):,}"
    scheduled = re.search(r'id="tile-churn-scheduled">.*?<div class="tile-note">([^<]*)<', tiles.group(1), re.S)
    n = noticed.account_id.nunique()
    words = f"{n} accounts under notice" if language == "en" else f"解約予告済み {n} 社"
    assert scheduled is not None and words in scheduled.group(1)
    assert ("Trials, pauses and cancellation notices" if language == "en" else "トライアル・一時停止・解約予告") in html
    # the time to convert is the median of the converted trials, with the middle half beside it
    month = model["month"]
    convert = re.search(
        r'id="tile-time-to-convert">.*?<div class="tile-label">(?:<a[^>]*>)?([^<]*)<.*?'
        r'<div class="tile-value">([^<]*)<.*?<div class="tile-note">([^<]*)<',
        tiles.group(1),
        re.S,
    )
    assert convert is not None and ("median" if language == "en" else "中央値") in convert.group(1)
    if month.get("trials_converted"):
        p25, median, p75 = (month[f"{q}_days_to_convert"] for q in ("p25", "median", "p75"))
        assert p25 <= median <= p75
        unit = "{:.0f} days" if language == "en" else "{:.0f} 日"
        assert convert.group(2) == unit.format(median)
        assert unit.format(p25) in convert.group(3) and unit.format(p75) in convert.group(3)
