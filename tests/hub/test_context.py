"""The refresh context computes each date's point-in-time measures once and hands every step the same frames the
analytics would compute, with each step's own VoC input."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from kizuna.analytics.kpi.usage import account_months
from kizuna.analytics.scoring.measures import measures_over_time
from kizuna.analytics.text.outcomes import account_voc_sentiment
from kizuna.hub.context import RefreshContext
from kizuna.runtime import Runtime
from tests.analytics.risk.simulated import END, shared_rows, shared_tables


def test_measures_are_computed_once_per_date_and_equal_the_analytics(runtime: Runtime) -> None:
    tables = shared_tables()
    ctx = RefreshContext(runtime=runtime, as_of=END)
    ctx._hub.update(tables)  # the simulated hub instead of reading the (empty) app database
    ctx.__dict__["usage_months"] = account_months(tables, END).to_pandas()
    rng = pd.Series(range(len(shared_rows()["accounts"])))
    voc_scores = pd.DataFrame(
        {
            "account_id": [r["id"] for r in shared_rows()["accounts"]],
            "date": [END - dt.timedelta(days=int(d)) for d in (rng * 37) % 400],
            "score": ((rng % 7) - 3) / 3.0,
        }
    )
    backtest = [END - dt.timedelta(days=30 * k) for k in range(12, -1, -1)]  # as the health step asks
    training = [END - dt.timedelta(days=90 + 30 * k) for k in range(14, -1, -1)]  # as the churn model asks

    first = ctx.measures(backtest, voc_scores=voc_scores)
    computed = set(ctx._measures)
    second = ctx.measures(training, voc_scores=voc_scores)
    assert set(ctx._measures) - computed == set(training) - set(backtest)  # only the dates not asked before

    for dates, got in ((backtest, first), (training, second)):
        pd.testing.assert_frame_equal(got, measures_over_time(tables, dates, voc_scores=voc_scores))
    assert first["voc_sentiment"].notna().any()

    # one date with the VoC step's stored per-account measure instead of the per-text scores
    stored = account_voc_sentiment(voc_scores, as_of=dt.datetime.combine(END, dt.time(), tzinfo=dt.UTC))
    stored = stored[["account_id", "voc_sentiment"]].assign(voc_sentiment=lambda f: f["voc_sentiment"] + 1.0)
    today = ctx.measures([END], voc_sentiment=stored)
    expected = measures_over_time(tables, [END])
    expected["voc_sentiment"] = expected["account_id"].map(stored.set_index("account_id")["voc_sentiment"])
    pd.testing.assert_frame_equal(today, expected)
