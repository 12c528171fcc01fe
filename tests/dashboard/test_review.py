"""The manager's monthly review on the dashboard (``/``), on the demo company after ``kizuna refresh``, through the
app ``kizuna serve`` builds: every figure is the stored one, and the onboarding and unit-economics figures agree with
a computation straight from the hub tables."""

from __future__ import annotations

import datetime as dt
import statistics
import warnings

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


def _client(demo_app: DemoApp, language: str = "ja") -> TestClient:
    client = TestClient(demo_app.app)
    client.cookies.set(SESSION_COOKIE, session_token(demo_app.settings, demo_app.admin_id))
    client.cookies.set(LANGUAGE_COOKIE, language)
    return client


def _onboarding_from_the_hub(demo_app: DemoApp) -> tuple[int, int, float]:
    """(accounts with milestones, accounts with every one done, median days from the first subscription line to
    the first key milestone), straight from the tables, as docs/metrics.md defines them."""
    cut = dt.datetime.combine(AS_OF, dt.time(), tzinfo=dt.UTC)
    runtime = Runtime.open(demo_app.settings)
    try:
        with runtime.transaction() as session:
            milestones = session.execute(
                text("SELECT account_id, completed_at, is_key FROM onboarding_milestones")
            ).all()
            starts = dict(
                session.execute(
                    text("SELECT account_id, MIN(start_date) FROM subscriptions WHERE start_date <= :d GROUP BY 1"),
                    {"d": AS_OF.isoformat()},
                ).all()
            )
    finally:
        runtime.close()
    per: dict[int, list[tuple[dt.datetime | None, bool]]] = {}
    for account_id, completed_at, is_key in milestones:
        at = None if completed_at is None else dt.datetime.fromisoformat(str(completed_at)).replace(tzinfo=dt.UTC)
        per.setdefault(account_id, []).append((at if at is not None and at < cut else None, bool(is_key)))
    complete = sum(all(at is not None for at, _ in rows) for rows in per.values())
    ttv = []
    for account_id, rows in per.items():
        keys = [at for at, key in rows if key and at is not None]
        if keys and starts.get(account_id):
            ttv.append((min(keys).date() - dt.date.fromisoformat(str(starts[account_id]))).days)
    return len(per), complete, statistics.median(ttv)


def test_onboarding_is_one_figure_everywhere(review_app: DemoApp) -> None:
    accounts, complete, median = _onboarding_from_the_hub(review_app)
    with _client(review_app) as client:
        data = client.get("/api/v1/dashboard").json()["onboarding"]
        html = client.get("/").text
    assert (data["accounts"], data["complete"]) == (accounts, complete)
    assert data["completion_rate"] == pytest.approx(complete / accounts)
    assert data["median_time_to_value_days"] == pytest.approx(median)
    # the tile and the card say the same number
    assert html.count(f"{complete} / {accounts}") >= 1 and f"{complete / accounts:.1%}" in html

    from kizuna.lifecycle.service import onboarding_summary

    runtime = Runtime.open(review_app.settings)
    try:
        with runtime.transaction() as session:
            summary = onboarding_summary(session, today=AS_OF)
    finally:
        runtime.close()
    assert (summary["accounts"], summary["complete"]) == (accounts, complete)
    assert summary["time_to_value_days_median"] == pytest.approx(median)

    # the two CLI surfaces: `kizuna onboarding summary` and `kizuna kpi onboarding` (the refresh's stored table)
    import json

    from typer.testing import CliRunner

    from kizuna.cli import build_app

    data = ["--data-dir", str(review_app.settings.data_dir)]
    said = CliRunner().invoke(build_app(), [*data, "onboarding", "summary", "--today", AS_OF.isoformat()])
    assert said.exit_code == 0, said.output
    assert f"accounts with a plan: {accounts}, complete: {complete}," in said.stdout
    assert f"time-to-value: median {float(median)} days" in said.stdout
    kpi = CliRunner().invoke(build_app(), [*data, "kpi", "onboarding", "--format", "json"])
    assert kpi.exit_code == 0, kpi.output
    (row,) = json.loads(kpi.stdout)
    assert (row["accounts"], row["completed_accounts"]) == (accounts, complete)
    assert row["completion_rate"] == pytest.approx(complete / accounts)
    assert row["median_time_to_value_days"] == pytest.approx(median)


def test_unit_economics_tiles_are_the_review_months_stored_figures(review_app: DemoApp) -> None:
    review = (AS_OF.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    with _client(review_app) as client:
        data = client.get("/api/v1/dashboard").json()
        html = client.get("/").text
        english = _client(review_app, "en").get("/").text
    assert data["review_month"] == review.isoformat()
    e = data["unit_economics"]
    assert e["month"] == review.isoformat()
    runtime = Runtime.open(review_app.settings)
    try:
        with runtime.transaction() as session:
            spend = session.execute(
                text("SELECT SUM(amount_minor) FROM marketing_spend WHERE month >= :a AND month < :b"),
                {"a": review.isoformat(), "b": AS_OF.replace(day=1).isoformat()},
            ).scalar_one()
            margin = review_app.settings.gross_margin
    finally:
        runtime.close()
    assert e["spend_minor"] == spend
    assert e["gross_margin"] == pytest.approx(margin)
    assert e["churn_rate_12m"] == pytest.approx(e["churned_12m"] / e["customers_start_12m"])
    assert e["ltv_minor"] == pytest.approx(e["arpa_minor"] * margin / e["churn_rate_12m"])
    if e["new_customers"]:
        assert e["cac_minor"] == pytest.approx(spend / e["new_customers"])
        assert e["ltv_to_cac"] == pytest.approx(e["ltv_minor"] / e["cac_minor"])
        assert e["cac_payback_months"] == pytest.approx(e["cac_minor"] / (e["new_arpa_minor"] * margin))
    for tile in ("tile-ltv", "tile-cac", "tile-ltv-cac", "tile-payback", "tile-onboarding", "tile-ttv"):
        assert f'id="{tile}"' in html, tile
    # every figure's definition is one click away, and the page says which period each covers
    assert html.count('href="/definitions#') >= 10
    assert f"{review.year}年{review.month}月" in html and "Monthly review" in english


def test_unit_economics_outside_plausible_bounds_say_why_on_the_page(review_app: DemoApp) -> None:
    from kizuna.analytics.kpi.unit_economics import implausible

    with _client(review_app) as client:
        e = client.get("/api/v1/dashboard").json()["unit_economics"]
        pages = {lang: _client(review_app, lang).get("/unit-economics").text for lang in ("ja", "en")}
    # the API carries the checks the review month fails, the page explains each from the month's inputs
    assert e["implausible"] == implausible(e)
    for language, html in pages.items():
        assert ('id="ue-implausible"' in html) == bool(e["implausible"]), language
    if "ltv_to_cac_high" in e["implausible"]:
        assert "is above 10×" in pages["en"] and "10倍を超えています" in pages["ja"]
    if "lifetime_long" in e["implausible"]:
        assert f"{e['churn_rate_12m']:.2%}" in pages["en"]
    # `kizuna kpi` says the same, in the page's words, on stderr (its table stays machine-readable on stdout)
    from typer.testing import CliRunner

    from kizuna.cli import build_app

    data = ["--data-dir", str(review_app.settings.data_dir)]
    for args in (["kpi"], ["kpi", "ltv_to_cac", "--format", "json"]):
        shown = CliRunner().invoke(build_app(), [*data, *args])
        assert shown.exit_code == 0, shown.output
        assert ("warning: Check before you believe these figures" in shown.stderr) == bool(e["implausible"]), args
        if "ltv_to_cac_high" in e["implausible"]:
            assert f"LTV/CAC {e['ltv_to_cac']:.1f}× is above 10×" in shown.stderr
        if "lifetime_long" in e["implausible"]:
            assert f"{e['churn_rate_12m']:.2%}" in shown.stderr
    quiet = CliRunner().invoke(build_app(), [*data, "kpi", "mrr_minor"])
    assert quiet.exit_code == 0 and "warning:" not in quiet.stderr
