"""The cockpit page (``/me``) through the app ``kizuna serve`` builds: a CSM's ranked work with the formula in one
line, and the chooser of books a manager without a team member sees."""

from __future__ import annotations

from kizuna.auth import service as auth_service
from kizuna.platform.clock import today
from kizuna.tasks.service import create_task
from tests.web.fixtures import WebWorld, csrf_of


def test_a_csm_s_cockpit_ranks_today_s_work_and_completes_in_place(world: WebWorld) -> None:
    with world.runtime.transaction() as session:
        small, _ = create_task(
            session,
            actor="t",
            title="小さい方",
            account_id=world.account_id,
            owner_id=world.team_member_id,
            due_on=today(),
        )
        big, _ = create_task(
            session,
            actor="t",
            title="大きい方",
            account_id=world.other_account_id,
            owner_id=world.team_member_id,
            due_on=today(),
        )
        ids = (small.id, big.id)
    client = world.client("csm")
    for lang, formula in (
        ("ja", "影響額 = 離脱確率 × ARR × 期限係数"),
        ("en", "At stake = churn risk × ARR × urgency"),
    ):
        client.cookies.set("kizuna_lang", lang)
        html = client.get("/me").text
        assert formula in html
    html = client.get("/me").text
    # same risk (no model: the base rate), same due date: the larger ARR (the second account) comes first
    assert html.index("大きい方") < html.index("小さい方")
    assert 'id="books"' not in html and 'href="/tasks?owner_id=' in html
    done = client.post(f"/tasks/{ids[1]}/complete", data={"next": "/me", "csrf_token": csrf_of(html)})
    assert done.status_code == 303 and done.headers["location"] == "/me"
    assert "大きい方" not in client.get("/me").text


def test_a_manager_without_a_team_member_chooses_a_book(world: WebWorld) -> None:
    with world.runtime.transaction() as session:
        lead = auth_service.create_user(
            session, actor="t", email="lead@example.jp", name="部長", password="long enough", role="manager"
        )
        world.users["lead"] = lead.id
    client = world.client("lead")
    html = client.get("/me").text
    assert 'id="books"' in html and f'href="/me?owner_id={world.team_member_id}"' in html and "佐藤 花子" in html
    chosen = client.get("/me", params={"owner_id": world.team_member_id}).text
    assert 'id="cockpit-owner"' in chosen and 'id="books"' not in chosen


def test_an_account_at_risk_says_why_on_the_cockpit_and_its_360(world: WebWorld) -> None:
    from kizuna import models as m

    with world.runtime.transaction() as session:
        model = m.RiskModel(
            file_name="x.joblib",
            data_as_of=today(),
            horizon_days=90,
            train_start=today(),
            train_end=today(),
            n_samples=100,
            base_rate=0.1,
            features=[],
            params={},
            metrics={},
            trained_by="t",
        )
        session.add(model)
        session.flush()
        drivers = [
            {"feature": "days_to_renewal", "kind": "context", "value": 30, "contribution": 2.0},
            {"feature": "days_since_last_login", "kind": "signal", "value": 45, "contribution": 1.0},
        ]
        session.add(
            m.RiskScore(
                account_id=world.account_id,
                model_id=model.id,
                as_of=today(),
                probability=0.6,
                band="high",
                drivers=drivers,
            )
        )
    client = world.client("csm")
    me = client.get("/me").text
    start = me.index('id="at-risk"')
    at_risk = me[start : me.index("</section>", start)]
    assert "株式会社サクラ商事" in at_risk and "60%" in at_risk
    assert "days_since_last_login" not in me and "days_to_renewal" not in me
    page = client.get(f"/accounts/{world.account_id}").text
    reason = page[page.index('id="risk-reason"') :].split("</p>")[0]
    assert "45" in reason  # the signal a CSM can act on, in words
    context = page[page.index('id="risk-context"') :].split("</p>")[0]
    assert "30" in context  # the renewal timing, apart
