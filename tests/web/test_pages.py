"""The pages: roles, CSRF, escaping of customer text, language switch, exports."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from kizuna.audit.models import AuditEntry
from tests.web.fixtures import WebWorld, csrf_of, refresh_metrics


@pytest.mark.parametrize("path", ["/", "/accounts", "/me", "/accounts/{a}", "/renewals", "/tasks", "/settings"])
def test_pages_render_for_admin(world: WebWorld, path: str) -> None:
    client = world.client("admin")
    response = client.get(path.format(a=world.account_id))
    assert response.status_code == 200, response.text[:500]
    assert "<html" in response.text


def test_dashboard_says_run_refresh_before_the_first_snapshot(world: WebWorld) -> None:
    html = world.client("csm").get("/").text
    assert 'id="revenue-note"' in html and "kizuna refresh" in html
    data = world.client("csm").get("/api/v1/dashboard").json()
    assert data["nrr"] is None and data["arr_minor"] is None and data["revenue_note"] == "dashboard.no_snapshot"
    for path in ("/cohorts", "/funnel"):
        assert "kizuna refresh" in world.client("csm").get(path).text, path


def test_dashboard_figures_are_the_stored_kpis(world: WebWorld) -> None:
    from kizuna.kpis.service import load_kpi

    refresh_metrics(world)
    data = world.client("manager").get("/api/v1/dashboard").json()
    with world.runtime.transaction() as session:
        kpi = load_kpi(session, names=["arr_minor", "nrr_12m", "grr_12m", "logo_churn_rate"], currency="JPY")
    month = max(kpi.month)
    latest = kpi[kpi.month == month].set_index("metric")["value"]
    assert data["arr_minor"] == latest["arr_minor"] == 12 * 210_000
    assert data["nrr"] == pytest.approx(latest["nrr_12m"])
    assert data["grr"] == pytest.approx(latest["grr_12m"])
    assert data["logo_churn"] == pytest.approx(latest["logo_churn_rate"])
    assert data["movements"][-1]["month"] == month.isoformat()
    # one filter: the stored breakdown; two: not stored, and the page says so instead of computing another number
    one = world.client("manager").get("/api/v1/dashboard", params={"segment": "IT"}).json()
    with world.runtime.transaction() as session:
        by = load_kpi(session, names=["mrr_minor"], by="industry", currency="JPY")
    it = by[(by.dimension_value == "IT") & (by.month == month)]["value"].iloc[0]
    assert one["mrr_minor"] == it == 140_000
    two = world.client("manager").get("/api/v1/dashboard", params={"segment": "IT", "tier": "high"}).json()
    assert two["nrr"] is None and two["revenue_note"] == "dashboard.filter_not_stored"
    for path in ("/", "/cohorts", "/funnel"):
        html = world.client("csm").get(path).text
        assert 'id="snapshot-as-of"' in html and 'id="revenue-note"' not in html, path


def test_dashboard_shows_figures_and_chart_data(world: WebWorld) -> None:
    refresh_metrics(world)
    html = world.client("csm").get("/").text
    assert 'id="chart-waterfall"' in html and 'id="chart-waterfall-data"' in html
    # Two accounts at 70,000 and 140,000 yen MRR: ARR = 12 * 210,000 = 2,520,000 yen = 252万円.
    assert "252万円" in html
    data = world.client("csm").get("/api/v1/dashboard").json()
    assert data["mrr_minor"] == 210_000
    assert data["nrr"] == pytest.approx(210_000 / 150_000)
    assert data["grr"] == pytest.approx(1.0)
    assert data["at_risk"][0]["account_id"] == world.account_id


def test_customer_text_is_escaped_everywhere(world: WebWorld) -> None:
    client = world.client("admin")
    for path in (f"/accounts/{world.account_id}", "/voc", "/surveys"):
        html = client.get(path).text
        assert "<script>alert(" not in html, path
        assert "<img src=x" not in html, path
    html = client.get(f"/accounts/{world.account_id}").text
    assert "&lt;script&gt;alert(&#39;voc&#39;)&lt;/script&gt;画面が重いです" in html


def test_viewer_is_read_only(world: WebWorld) -> None:
    client = world.client("viewer")
    page = client.get(f"/accounts/{world.account_id}")
    assert page.status_code == 200
    assert 'id="activity-form"' not in page.text
    token = csrf_of(page.text)
    response = client.post(
        f"/accounts/{world.account_id}/activities", data={"subject": "x", "kind": "note", "csrf_token": token}
    )
    assert response.status_code == 403
    api = client.post("/api/v1/accounts/1/activities", json={"subject": "x"}, headers={"x-csrf-token": token})
    assert api.status_code == 403
    assert client.get("/settings").status_code == 403


def test_csm_logs_a_note_with_csrf_and_it_is_audited(world: WebWorld) -> None:
    client = world.client("csm")
    page = client.get(f"/accounts/{world.account_id}")
    no_token = client.post(f"/accounts/{world.account_id}/activities", data={"subject": "x", "kind": "note"})
    assert no_token.status_code == 403
    response = client.post(
        f"/accounts/{world.account_id}/activities",
        data={
            "subject": "定例会議<b>",
            "body": "次回は<script>x</script>",
            "kind": "meeting",
            "csrf_token": csrf_of(page.text),
        },
    )
    assert response.status_code == 303
    html = client.get(f"/accounts/{world.account_id}").text
    assert "定例会議&lt;b&gt;" in html and "<script>x</script>" not in html
    with world.runtime.transaction() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.entity == "activity")).one()
        assert entry.actor.startswith("user:") and entry.after is not None
        assert entry.after["subject"] == "定例会議<b>"


def test_create_task_from_the_360(world: WebWorld) -> None:
    client = world.client("csm")
    page = client.get(f"/accounts/{world.account_id}")
    response = client.post(
        f"/accounts/{world.account_id}/tasks",
        data={
            "title": "更新前の利用状況レビュー",
            "priority": "high",
            "due_on": "2026-12-01",
            "csrf_token": csrf_of(page.text),
        },
    )
    assert response.status_code == 303
    html = client.get(f"/accounts/{world.account_id}").text
    assert "更新前の利用状況レビュー" in html
    listed = client.get("/api/v1/tasks", params={"account_id": world.account_id}).json()
    assert listed["total"] == 1
    tasks = listed["items"]
    assert [t["title"] for t in tasks] == ["更新前の利用状況レビュー"]
    assert tasks[0]["owner_id"] == world.team_member_id


def test_language_switch_and_japanese_formats(world: WebWorld) -> None:
    client = world.client("csm")
    ja = client.get(f"/accounts/{world.account_id}").text
    assert "タイムライン" in ja and "¥70,000" in ja and "日" in ja
    assert client.get("/lang/en", params={"next": f"/accounts/{world.account_id}"}).status_code == 303
    en = client.get(f"/accounts/{world.account_id}").text
    assert "Timeline" in en and "タイムライン" not in en
    assert client.get("/lang/xx").status_code == 400


def test_accounts_search_filter_sort_and_bulk_assign(world: WebWorld) -> None:
    client = world.client("manager")
    assert "サクラ商事" in client.get("/accounts", params={"q": "さくら"}).text  # hiragana finds katakana
    assert "サクラ商事" not in client.get("/accounts", params={"q": "acme"}).text
    rows = client.get("/api/v1/accounts", params={"sort": "-mrr"}).json()["items"]
    assert [r["mrr_minor"] for r in rows] == [140_000, 70_000]
    page = client.get("/accounts")
    response = client.post(
        "/accounts/bulk-assign",
        data={
            "account_ids": [world.account_id, world.other_account_id],
            "owner_id": 0,
            "csrf_token": csrf_of(page.text),
        },
    )
    assert response.status_code == 303
    assert client.get("/api/v1/accounts", params={"owner_id": 0}).json()["total"] == 2


def test_saved_views(world: WebWorld) -> None:
    client = world.client("csm")
    page = client.get("/accounts")
    client.post(
        "/accounts/views", data={"name": "リスク", "query": "lifecycle_stage=at_risk", "csrf_token": csrf_of(page.text)}
    )
    html = client.get("/accounts").text
    assert 'href="/accounts?lifecycle_stage=at_risk"' in html


def test_exports_are_safe_from_formula_injection(world: WebWorld) -> None:
    from openpyxl import load_workbook

    client = world.client("admin")
    client.patch(
        f"/api/v1/accounts/{world.account_id}",
        json={"name": '=HYPERLINK("http://evil")'},
        headers={"x-csrf-token": csrf_of(client.get("/accounts").text)},
    )
    csv_text = client.get("/accounts", params={"format": "csv"}).content.decode("utf-8-sig")
    assert "'=HYPERLINK" in csv_text
    workbook = load_workbook(io.BytesIO(client.get("/accounts", params={"format": "xlsx"}).content))
    values = [c.value for row in workbook.active.iter_rows() for c in row]
    assert '\'=HYPERLINK("http://evil")' in values
    assert 140_000 in values  # numbers stay numbers


def test_api_key_scopes(world: WebWorld) -> None:
    client = world.client()
    read = {"authorization": f"Bearer {world.api_keys['read']}"}
    assert client.get("/api/v1/accounts", headers=read).status_code == 200
    assert client.post("/api/v1/accounts", json={"external_id": "X", "name": "X"}, headers=read).status_code == 403
    admin = {"authorization": f"Bearer {world.api_keys['admin']}"}
    created = client.post("/api/v1/accounts", json={"external_id": "X", "name": "株式会社X"}, headers=admin)
    assert created.status_code == 201
    ingest = {"authorization": f"Bearer {world.api_keys['ingest']}"}
    assert client.get("/api/v1/accounts", headers=ingest).status_code == 403


def test_error_handler_maps_kizuna_errors(world: WebWorld) -> None:
    client = world.client("admin")
    missing = client.get("/api/v1/accounts/999999")
    assert missing.status_code == 404 and missing.json()["error"] == "NotFound"
    page = client.get("/accounts/999999", headers={"accept": "text/html"})
    assert page.status_code == 404 and "<html" in page.text


def test_360_shows_health_breakdown_and_records_an_override(world: WebWorld) -> None:
    import datetime as dt

    from kizuna.health.models import HealthScore

    with world.runtime.transaction() as session:
        session.add(
            HealthScore(
                account_id=world.account_id,
                scorecard="overall",
                scorecard_version=1,
                as_of=dt.date.today(),
                computed_score=42.0,
                computed_band="red",
                score=42.0,
                band="red",
                known_weight=1.0,
                missing=[],
                contributions=[
                    {
                        "measure": "seat_utilisation",
                        "value": 0.31,
                        "points": 20,
                        "weight": 0.5,
                        "effective_weight": 0.5,
                        "contribution": 10.0,
                    },
                    {
                        "measure": "nps",
                        "value": -20,
                        "points": 64,
                        "weight": 0.5,
                        "effective_weight": 0.5,
                        "contribution": 32.0,
                    },
                ],
            )
        )
    client = world.client("csm")
    page = client.get(f"/accounts/{world.account_id}")
    # measures by their scorecard YAML titles, not their names
    assert "シート利用率" in page.text and "seat_utilisation" not in page.text and 'id="override-form"' in page.text
    response = client.post(
        f"/accounts/{world.account_id}/overrides",
        data={
            "scorecard": "overall",
            "band": "yellow",
            "reason": "経営層と合意済み",
            "expires_on": "2099-01-01",
            "csrf_token": csrf_of(page.text),
        },
    )
    assert response.status_code == 303
    from kizuna.health.models import HealthOverride

    with world.runtime.transaction() as session:
        override = session.scalars(select(HealthOverride)).one()
        assert (override.band, override.reason, override.author.startswith("user:")) == (
            "yellow",
            "経営層と合意済み",
            True,
        )
    assert 'id="chart-health"' in client.get("/").text  # the dashboard shows the health distribution


def test_voc_analytics_views_render(world: WebWorld) -> None:
    client = world.client("viewer")
    for view in ("network", "characteristic", "requests", "lift"):
        response = client.get("/voc/analytics", params={"view": view})
        assert response.status_code == 200, (view, response.text[-300:])
        assert "<script>alert(" not in response.text


def test_360_shows_usage_from_the_metrics_snapshot(world: WebWorld) -> None:
    import datetime as dt

    from kizuna.kpis.models import AccountMetrics

    with world.runtime.transaction() as session:
        session.add(
            AccountMetrics(
                account_id=world.account_id,
                as_of=dt.date.today(),
                mrr_minor=70_000,
                dau=12,
                wau=30,
                mau=41,
                seats=50,
                seat_utilisation=0.82,
                stickiness=0.29,
                logins_30d=311,
                days_since_last_login=2,
            )
        )
    html = world.client("csm").get(f"/accounts/{world.account_id}").text
    assert 'id="chart-usage"' in html and "82.0%" in html and "2日前" in html
