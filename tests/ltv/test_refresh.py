"""The LTV refresh step on a small demo company: fits stored, a second run on the same day replaces them."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from kizuna.cli import build_app
from kizuna.domains import refresh
from kizuna.ltv.models import AccountLtv, LtvCohortFit
from kizuna.runtime import Runtime


@pytest.mark.slow
def test_ltv_refresh_on_the_demo_company(runtime: Runtime) -> None:
    data = str(runtime.settings.data_dir)
    app = build_app()
    demo = ["demo", "--accounts", "200", "--years", "3", "--seed", "11", "--end-date", "2026-11-22"]
    result = CliRunner().invoke(app, ["--data-dir", data, *demo])
    assert result.exit_code == 0, result.output
    day = dt.date(2026, 11, 22)
    first = refresh(runtime, as_of=day, only=["ltv"])["ltv"]
    assert first["accounts"] > 100
    second = refresh(runtime, as_of=day, only=["ltv"])["ltv"]
    assert second["accounts"] == first["accounts"]
    with runtime.transaction() as session:
        assert session.scalar(select(func.count()).select_from(AccountLtv)) == first["accounts"]
        fits = session.scalars(select(LtvCohortFit)).all()
        probabilities = session.scalars(select(AccountLtv.probability_alive)).all()
    assert len(fits) == first["cohorts"] >= 1
    assert all(f.alpha > 0 and f.beta > 0 and f.expected_lifetime_months > 1 for f in fits)
    # each fit carries its 95 % profile-likelihood intervals; an upper bound the data do not set is empty
    for f in fits:
        assert f.alpha_lower is not None and f.alpha_lower <= f.alpha and f.beta_lower <= f.beta
        assert f.alpha_upper is None or f.alpha_upper >= f.alpha
        assert f.churn_rate_lower <= f.alpha / (f.alpha + f.beta) <= f.churn_rate_upper
    assert all(0.0 <= p <= 1.0 for p in probabilities)
    shown = CliRunner().invoke(app, ["--data-dir", data, "ltv", "accounts", "--limit", "3", "--format", "json"])
    assert shown.exit_code == 0, shown.output
    assert shown.output.count("probability_alive") == 3
    plans = CliRunner().invoke(app, ["--data-dir", data, "ltv", "plans", "--format", "json"])
    assert plans.exit_code == 0, plans.output
    import json

    from kizuna.analytics.ltv import sbg_fit_problems

    rows = {r["cohort"]: r for r in json.loads(plans.stdout)}
    for f in fits:
        # every plan's fit is checked, and a degenerate one is said in plain words (on stderr)
        problems = sbg_fit_problems(f.alpha, f.beta, alpha_se=f.alpha_se, beta_se=f.beta_se)
        assert rows[f.cohort]["fit_check"] == (",".join(problems) or "ok")
        assert (f"warning: plan {f.cohort}:" in plans.stderr) == bool(problems)
        # ... and in the refresh step's summary
        assert second.get("fit_problems", {}).get(f.cohort) == (",".join(problems) or None)
    from kizuna.analytics.ltv.portfolio import GAMMA_GAMMA_NOTES

    with runtime.transaction() as session:
        values = session.execute(select(AccountLtv.clv_12m_minor, AccountLtv.clv_note)).all()
    # a CLV, or the reason there is none (the demo's invoices are the same amount every month: constant_amounts)
    assert all((clv is None) == (note in GAMMA_GAMMA_NOTES) for clv, note in values)
    assert all(note is None for clv, note in values if clv is not None)
    assert '"clv_note"' in shown.stdout
