"""The health and risk JSON routes as the web app mounts them, called with real API keys."""

from __future__ import annotations

import datetime as dt
import warnings

import pandas as pd

from kizuna.analytics.scoring.scoring import score_accounts
from kizuna.auth import service as auth_service
from kizuna.health.scores import store_scores
from kizuna.runtime import Runtime
from kizuna.web.app import create_app
from tests import factories
from tests.health.test_service import CARD

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


def test_scores_explanations_and_overrides_over_http(runtime: Runtime) -> None:
    today = dt.datetime.now(dt.UTC).date()
    with runtime.transaction() as session:
        account = factories.account(session)
        for day, usage in ((today - dt.timedelta(days=7), 0.9), (today, 0.3)):
            scores, contrib = score_accounts(
                pd.DataFrame({"account_id": [account.id], "seat_utilisation": [usage], "severe_tickets_90d": [0]}),
                CARD,
            )
            store_scores(session, scorecard=CARD, as_of=day, scores=scores, contributions=contrib)
        _, admin = auth_service.create_api_key(session, actor="test", name="admin", scopes=["admin"])
    auth = {"Authorization": f"Bearer {admin}"}
    with TestClient(create_app(runtime.settings.model_copy(update={"scheduler_in_process": False}))) as client:
        assert client.get(f"/api/v1/accounts/{account.id}/health").status_code == 401
        latest = client.get(f"/api/v1/accounts/{account.id}/health", headers=auth).json()
        assert [(s["scorecard"], s["score"], s["band"]) for s in latest] == [("overall", 47.5, "yellow")]
        explained = client.get(f"/api/v1/accounts/{account.id}/health/overall/explain", headers=auth).json()
        assert explained["change"] == -45.0 and explained["measures"][0]["measure"] == "usage"
        made = client.post(
            f"/api/v1/accounts/{account.id}/health/overrides",
            headers=auth,
            json={"band": "red", "reason": "主要ユーザーが退職", "expires_on": str(today + dt.timedelta(days=14))},
        )
        assert made.status_code == 201, made.text
        assert made.json()["author"].startswith("api")
        history = client.get(f"/api/v1/accounts/{account.id}/health/overall/history", headers=auth).json()
        assert [(h["band"], h["computed_score"]) for h in history["history"]][-1] == ("red", 47.5)
        bad = client.post(
            f"/api/v1/accounts/{account.id}/health/overrides",
            headers=auth,
            json={"band": "blue", "reason": "x", "expires_on": str(today)},
        )
        assert bad.status_code in (400, 422)
        revoked = client.delete(f"/api/v1/health/overrides/{made.json()['id']}", headers=auth)
        assert revoked.status_code == 200 and revoked.json()["revoked_at"]
        assert client.get(f"/api/v1/accounts/{account.id}/risk", headers=auth).status_code == 404
        assert client.get("/api/v1/health/scorecards", headers=auth).status_code == 200
        # ids are bounded like the web app's (schemathesis found an integer overflow): a 422, never a 500
        for path in (f"/api/v1/accounts/{2**63}/health", f"/api/v1/accounts/{2**31}/health/overall/history"):
            assert client.get(path, headers=auth).status_code == 422, path
        assert client.delete(f"/api/v1/health/overrides/{2**63}", headers=auth).status_code == 422
