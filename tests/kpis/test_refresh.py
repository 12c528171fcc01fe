"""End to end: a small demo company -> `kizuna refresh` (metrics step) -> stored snapshot -> `kizuna kpi`.

The stored MRR is checked against an independent pandas computation straight from the subscriptions table.
"""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from kizuna.cli import build_app
from kizuna.domains import refresh
from kizuna.hub.warehouse import read_table
from kizuna.kpis import service
from kizuna.runtime import Runtime

AS_OF = dt.date(2026, 6, 30)


@pytest.fixture
def demo_runtime(runtime: Runtime) -> Runtime:
    from kizuna.demo.generator import generate_demo
    from kizuna.demo.simulate import DemoOptions

    generate_demo(runtime.settings, options=DemoOptions(accounts=30, years=2, seed=11, end_date=AS_OF))
    return runtime


def test_refresh_stores_snapshot_that_matches_the_subscriptions(demo_runtime: Runtime) -> None:
    rt = demo_runtime
    summary = refresh(rt, as_of=AS_OF, only=["kpis"])["kpis"]
    assert summary["account_metrics"] > 0 and summary["kpi_series"] > 0

    subs = read_table(rt.engine, "subscriptions").to_pandas()
    valid = subs[
        (subs.status != "trial") & (subs.start_date <= AS_OF) & (subs.end_date.isna() | (subs.end_date > AS_OF))
    ]
    expected = valid.groupby("currency").mrr_minor.sum().to_dict()
    assert summary["mrr"] == expected and sum(expected.values()) > 0

    with rt.transaction() as session:
        series = service.load_kpi(session)
        accounts = service.load_account_metrics(session)
    assert accounts.mrr_minor.sum() == sum(expected.values())  # the demo bills in one currency
    money = series[series.currency != ""]  # NPS, CSAT and support load are not per currency
    wide = money.pivot_table(index=["currency", "month"], columns="metric", values="value").reset_index()
    kinds = ("new", "expansion", "contraction", "churn", "reactivation", "pause", "resume")
    moves = wide[[f"{k}_minor" for k in kinds]].sum(axis=1)
    assert ((wide.mrr_minor - wide.mrr_start_minor) == moves).all()
    assert (
        wide.customers
        == wide.customers_start
        + wide.new_customers
        + wide.reactivated_customers
        + wide.resumed_customers
        - wide.churned_customers
        - wide.paused_customers
    ).all()

    # refreshing the same date again replaces the snapshot
    again = refresh(rt, as_of=AS_OF, only=["kpis"])["kpis"]
    assert again["kpi_series"] == summary["kpi_series"]

    runner = CliRunner()
    base = ["--data-dir", str(rt.settings.data_dir)]
    out = runner.invoke(build_app(), [*base, "kpi", "--format", "json"])
    assert out.exit_code == 0, out.output
    # (the unit-economics sanity warnings go to stderr: stdout stays machine-readable)
    headline = {r["metric"]: r for r in json.loads(out.stdout)}
    # the last complete month (May), and June to date beside it (as of 06-30 = 00:00 that day), each column named
    currency = next(iter(expected))
    assert headline["mrr_minor"][f"{currency} 2026-06 to date"] == sum(expected.values())
    assert headline["mrr_minor"][f"{currency} 2026-05"] > 0
    columns = list(headline["nrr"])
    assert columns.index(f"{currency} 2026-05") + 1 == columns.index(f"{currency} 2026-06 to date")
    out = runner.invoke(build_app(), [*base, "kpi"])
    title = " ".join(out.output.split())  # (the table's title wraps at the terminal's width)
    assert out.exit_code == 0 and "KPIs of 2026-05 (the last complete month)" in title, out.output
    assert "2026-06 to date (2026-06-01 to 2026-06-29)" in title
    out = runner.invoke(build_app(), [*base, "kpi", "mrr_minor", "--by", "plan", "--format", "csv"])
    assert out.exit_code == 0 and out.stdout.startswith("month,currency,dimension_value,value")
    # each currency in its own amounts: the demo bills in yen only, so the yen's own figures are the totals
    out = runner.invoke(build_app(), [*base, "kpi", "mrr_minor", "--by", "currency", "--format", "json"])
    own = {(r["month"][:10], r["dimension_value"]): r["value"] for r in json.loads(out.output)}
    assert own[(AS_OF.replace(day=1).isoformat(), currency)] == sum(expected.values())
    out = runner.invoke(build_app(), [*base, "kpi", "cohort_retention", "--format", "json"])
    assert out.exit_code == 0 and json.loads(out.output)[0]["period"] == 0
    out = runner.invoke(build_app(), [*base, "kpi", "no_such_kpi"])
    assert out.exit_code != 0
    out = runner.invoke(build_app(), [*base, "kpi", "mrr_minor", "--by", "colour"])
    assert out.exit_code == 1 and "'mrr_minor' has no rows for --by 'colour'" in out.output
    out = runner.invoke(build_app(), [*base, "kpi", "mrr_minor", "--as-of", "2026-13-01"])
    assert out.exit_code == 1 and "--as-of '2026-13-01' is not a date" in out.output
    assert pd.Timestamp(AS_OF).date() == AS_OF


# one table of each part (revenue, voice, funnel) and the funnel's tables from the per-lead durations
TABLES = {"cohort_retention", "onboarding", "funnel", "untouched_leads", "stage_velocity", "segment_quality"}


def _stored(rt: Runtime) -> dict[str, pd.DataFrame]:
    with rt.transaction() as session:
        names = service.metric_names(session)
        series = pd.concat(
            [service.load_kpi(session, by=by) for by in ("", "plan", "industry", "owner_id", "touch_tier")]
        )
        out = {"series": series.reset_index(drop=True)}
        for name in names:
            if name in TABLES:
                out[name] = service.load_table(session, name=name)
        accounts = service.load_account_metrics(session).drop(columns=["id", "computed_at"])
    out["accounts"] = accounts[sorted(accounts.columns)].sort_values("account_id", ignore_index=True)
    return out


def test_the_kpi_worker_gives_the_snapshot_of_one_process(demo_runtime: Runtime) -> None:
    """On DuckDB the usage and funnel parts run in a second process (kizuna.kpis.worker); the stored snapshot is
    the same as with everything in one process, to the last value."""
    one = Runtime.open(demo_runtime.settings.model_copy(update={"kpi_processes": 1}))
    two = Runtime.open(demo_runtime.settings.model_copy(update={"kpi_processes": 2}))
    try:
        assert refresh(one, as_of=AS_OF, only=["kpis"])["kpis"]["processes"] == 1
        alone = _stored(one)
        assert refresh(two, as_of=AS_OF, only=["kpis"])["kpis"]["processes"] == 2
        apart = _stored(two)
    finally:
        one.close()
        two.close()
    assert alone.keys() == apart.keys() and len(alone) == 2 + len(TABLES) and len(alone["series"]) > 100
    for name, frame in alone.items():
        pd.testing.assert_frame_equal(frame, apart[name], obj=name)
    assert alone["accounts"].mau.sum() > 0 and alone["accounts"].mrr_minor.sum() > 0  # events and revenue both
