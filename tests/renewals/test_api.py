"""The JSON routers of segments, lifecycle, renewals and knowledge, mounted like the web app mounts its routers
(behind ``authorized``), called with a real API key."""

from __future__ import annotations

import datetime as dt
import warnings

from kizuna.auth import service as auth_service
from kizuna.runtime import Runtime
from kizuna.web.app import create_app
from tests import factories

with warnings.catch_warnings():
    # Starlette's TestClient warns that its httpx use is deprecated; it is still the way to drive an ASGI app.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


def test_routers(runtime: Runtime) -> None:
    with runtime.transaction() as session:
        csm = factories.team_member(session, name="担当A", capacity_accounts=5)
        plan = factories.plan(session)
        account = factories.account(session, created_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=10))
        factories.subscription(
            session,
            account,
            plan,
            term_months=12,
            mrr_minor=100_000,
            renewal_date=dt.date.today() + dt.timedelta(days=30),
        )
        _, admin = auth_service.create_api_key(session, actor="test", name="admin", scopes=["admin"])
        _, read = auth_service.create_api_key(session, actor="test", name="read", scopes=["read"])
    app = create_app(runtime.settings.model_copy(update={"scheduler_in_process": False}))
    with TestClient(app) as client:
        assert client.get("/api/v1/segments").status_code == 401
        auth = {"Authorization": f"Bearer {admin}"}
        made = client.post(
            "/api/v1/segments",
            headers=auth,
            json={"key": "all-pro", "name": "Pro", "definition": {"rules": [{"field": "plan", "eq": "Pro"}]}},
        )
        assert made.status_code == 201, made.text
        assert made.json()["members"] == 1
        bad = client.post("/api/v1/segments", headers=auth, json={"key": "x", "name": "x", "definition": {}})
        assert bad.status_code == 400
        members = client.get("/api/v1/segments/all-pro/members", headers=auth).json()
        assert [r["account_id"] for r in members["items"]] == [account.id] and members["total"] == 1
        assigned = client.post("/api/v1/assignments", headers=auth, json={}).json()
        assert [(a["account_id"], a["owner_id"]) for a in assigned] == [(account.id, csm.id)]
        assert client.get("/api/v1/coverage", headers=auth).json()[0]["accounts"] == 1

        assert (
            client.post(f"/api/v1/accounts/{account.id}/stage", headers=auth, json={"stage": "adoption"}).json()[
                "changed"
            ]
            is True
        )
        assert (
            client.get(f"/api/v1/accounts/{account.id}/stage-history", headers=auth).json()[0]["to_stage"] == "adoption"
        )
        goal = client.post(
            f"/api/v1/accounts/{account.id}/success-plan",
            headers=auth,
            json={"goal": "導入部署を3部署に", "baseline_value": 1, "target_value": 3},
        ).json()
        assert (
            client.patch(f"/api/v1/success-goals/{goal['id']}", headers=auth, json={"current_value": 3}).json()[
                "status"
            ]
            == "achieved"
        )

        with runtime.transaction() as session:
            from kizuna.lifecycle.service import start_onboarding
            from kizuna.renewals.service import sync_renewals

            start_onboarding(session, actor="test", account_id=account.id)
            sync_renewals(session, today=dt.date.today())
        assert client.get(f"/api/v1/accounts/{account.id}/onboarding", headers=auth).json()["total"] == 5
        assert client.post(f"/api/v1/accounts/{account.id}/onboarding/kickoff/complete", headers=auth).json()[
            "completed_at"
        ]
        center = client.get("/api/v1/renewal-center", headers=auth).json()
        assert (center["total"], center["page"], center["per_page"]) == (1, 1, 50)
        [renewal] = center["items"]
        assert renewal["arr_minor"] == 1_200_000
        assert (
            client.post(
                f"/api/v1/renewal-center/{renewal['renewal_id']}/call", headers=auth, json={"call": "likely"}
            ).json()["csm_call"]
            == "likely"
        )
        assert client.get("/api/v1/renewal-center/forecast", headers=auth).json()["by_call"]["likely"]["renewals"] == 1
        assert (
            client.post(
                f"/api/v1/renewal-center/{renewal['renewal_id']}/call", headers=auth, json={"call": "maybe"}
            ).status_code
            == 400
        )
        assert "by_kind" in client.get("/api/v1/expansion", headers=auth).json()

        assert (
            client.post(
                "/api/v1/kb/articles",
                headers=auth,
                json={"title": "請求書の再発行", "body": "お問合せフォームから依頼"},
            ).status_code
            == 201
        )
        hits = client.get(
            "/api/v1/kb/search", headers={"Authorization": f"Bearer {read}"}, params={"q": "問い合わせ"}
        ).json()
        assert hits[0]["title"] == "請求書の再発行"

        # the HTML pages
        page = client.get("/renewal-center", headers=auth)
        assert page.status_code == 200 and "likely" in page.text and str(account.name) in page.text
        posted = client.post(
            f"/renewal-center/{renewal['renewal_id']}/call",
            headers=auth,
            data={"call": "commit"},
            follow_redirects=False,
        )
        assert posted.status_code == 303
        assert client.get("/api/v1/renewal-center", headers=auth).json()["items"][0]["csm_call"] == "commit"
        assert "担当A" in client.get("/coverage", headers=auth).text
        assert "all-pro" in client.get("/segments", headers=auth).text
        assert str(account.name) in client.get("/segments/all-pro", headers=auth).text
        assert "請求書の再発行" in client.get("/kb", headers=auth, params={"q": "問合せ"}).text
        assert client.get("/expansion-pipeline", headers=auth).status_code == 200
