"""End to end on a real data directory: hub rows in SQLite and events on disk -> ``refresh`` (health, risk) ->
stored scores, a saved model with its metadata, and the CLI's report, explanation and override."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, insert, select
from typer.testing import CliRunner

from kizuna import models as m
from kizuna.cli import build_app
from kizuna.domains import refresh
from kizuna.errors import InvalidInput
from kizuna.health.models import HealthBacktest
from kizuna.risk import jobs as risk_jobs
from kizuna.runtime import Runtime
from kizuna.usage.store import EventStore
from tests.analytics.risk.simulated import END, arrow_hub, shared_rows

ORDER = [
    "team_members",
    "accounts",
    "products",
    "plans",
    "subscriptions",
    "invoices",
    "payments",
    "tickets",
    "survey_responses",
    "activities",
    "onboarding_milestones",
]


def load_hub(rt: Runtime) -> None:
    rows = shared_rows()
    with rt.transaction() as session:
        for name in ORDER:
            if rows[name]:
                session.execute(insert(m.Base.metadata.tables[name]), rows[name])
    EventStore(rt.settings.events_dir).write_batch(arrow_hub(rows)["events"], batch_key="simulated")


def test_refresh_scores_health_and_risk_and_the_cli_reports_them(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(risk_jobs, "SAMPLE_EVERY_DAYS", 91)  # fewer training dates keep the test quick
    load_hub(runtime)
    summaries = refresh(runtime, as_of=END, only=["health", "risk"])
    assert summaries["health"]["accounts"] > 10
    assert summaries["risk"]["trained_model"] == 1
    with runtime.transaction() as session:
        cards = dict(
            session.execute(
                select(m.HealthScore.scorecard, func.count())
                .where(m.HealthScore.as_of == END)
                .group_by(m.HealthScore.scorecard)
            ).all()
        )
        # every simulated account is older than 180 days at the end: the onboarding scorecard applies to none
        assert set(cards) == {"overall", "expansion"}
        # a new install gets months of history (point in time) and a stored backtest of every scorecard
        assert session.scalar(select(func.count(func.distinct(m.HealthScore.as_of)))) > 1
        stored = {b.scorecard for b in session.scalars(select(HealthBacktest))}
        assert stored == {"overall", "expansion", "onboarding"}
        assert sum(summaries["health"]["onboarding"].values()) == 0
        model = session.scalars(select(m.RiskModel)).one()
        assert (runtime.settings.models_dir / model.file_name).exists()
        assert model.train_end + dt.timedelta(days=90) <= END
        assert {r["method"] for r in model.metrics["metrics"]} >= {"model", "baseline"}
        assert "usage_trend" in model.features
        scores = session.scalars(select(m.RiskScore)).all()
        assert scores and all(0 <= s.probability <= 1 for s in scores)
        assert any(s.drivers for s in scores)
        account_id = session.scalars(select(m.HealthScore.account_id)).first()

    # a second refresh the next day reuses the model and adds a day of history
    again = refresh(runtime, as_of=END + dt.timedelta(days=1), only=["health", "risk"])
    assert "trained_model" not in again["risk"]

    app, data = build_app(), ["--data-dir", str(runtime.settings.data_dir)]
    out = CliRunner().invoke(app, [*data, "risk", "report", "--json", "--top", "5"])
    assert out.exit_code == 0, out.output
    report = json.loads(out.output)
    assert len(report["top"]) == 5 and report["top"][0]["probability"] >= report["top"][-1]["probability"]
    # the plain report prints the stored backtest (model, previous model, baseline, health) and the model card
    out = CliRunner().invoke(app, [*data, "risk", "report", "--top", "3"])
    assert out.exit_code == 0, out.output
    for row in report["backtest"]["metrics"]:
        assert f"ROC-AUC {row['roc_auc']:.3f}" in out.output, row["method"]
    fit = report["backtest"]["model_card"]["fit"]
    if "calibration" in fit:
        cal = fit["calibration"]
        assert f"Brier {cal['brier_before']:.4f} -> {cal['brier_after']:.4f}" in out.output
    else:
        assert fit["skipped"] in out.output
    out = CliRunner().invoke(app, [*data, "health", "explain", str(account_id)])
    assert out.exit_code == 0, out.output
    explained = json.loads(out.output)
    total = sum(x["delta"] for x in explained["measures"])
    assert explained["change"] == pytest.approx(total, abs=0.05)
    out = CliRunner().invoke(
        app,
        [
            *data,
            "health",
            "override",
            str(account_id),
            "--band",
            "red",
            "--reason",
            "決裁者が退職",
            "--expires",
            "2099-01-01",
            "--author",
            "csm:sato",
        ],
    )
    assert out.exit_code == 0, out.output
    out = CliRunner().invoke(
        app,
        [
            *data,
            "health",
            "override",
            str(account_id),
            "--band",
            "blue",
            "--reason",
            "x",
            "--expires",
            "2099-01-01",
            "--author",
            "csm:sato",
        ],
    )
    assert isinstance(out.exception, InvalidInput) and "band must be one of" in str(out.exception)
