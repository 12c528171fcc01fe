"""Every refresh step on a company built apart from the demo (Lumen: its own event types, no logins, tickets,
surveys or VoC, US dollars): each step completes or says why it skipped, never a traceback; the churn model trains on
Lumen's own event types and its stored model card carries the backtest against the previous model, the baseline and
the health score."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from kizuna.demo.lumen import EVENT_TYPES, LumenOptions, generate_lumen
from kizuna.domains import REFRESH_STEPS
from kizuna.pipeline.refresh import refresh, skipped_steps
from kizuna.risk.service import risk_report
from kizuna.runtime import Runtime
from kizuna.settings import Settings

AS_OF = dt.date(2026, 11, 22)


@pytest.mark.slow
def test_every_refresh_step_runs_on_another_company(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "lumen", currency="USD")
    generate_lumen(settings, options=LumenOptions(accounts=400, years=2, seed=11, end_date=AS_OF))
    runtime = Runtime.open(settings)
    try:
        summaries = refresh(runtime, REFRESH_STEPS, as_of=AS_OF)
        assert list(summaries) == [step.name for step in REFRESH_STEPS]
        for name, reason in skipped_steps(summaries).items():
            assert reason.strip(), name
        assert "risk" not in skipped_steps(summaries), summaries["risk"]
        with runtime.transaction() as session:
            report = risk_report(session, top=5)
    finally:
        runtime.close()
    features = report["model"]["features"]
    assert not any("login" in f for f in features)
    events = {f.split("__")[1] for f in features if f.startswith("ev__")}
    assert events and events <= set(EVENT_TYPES)
    methods = [m["method"] for m in report["backtest"]["metrics"]]
    assert methods[:3] == ["model", "previous", "baseline"] and methods[3].startswith("health")
    card = report["backtest"]["model_card"]
    assert card["fit"]["calibration"]["method"] == "platt"
    assert any(s["kept"] for s in card["selection"])
