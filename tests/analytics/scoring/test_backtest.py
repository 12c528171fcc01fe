"""Scorecard backtests: figures on a simulated company whose churn follows its health, and hand-checked lead times."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from kizuna.analytics.scoring.backtest import backtest_scorecard, warning_lead_times
from kizuna.health.service import scorecards
from tests.analytics.risk.simulated import END, shared_samples


def test_the_overall_scorecard_ranks_churners_below_stayers() -> None:
    samples, churns = shared_samples()
    result = backtest_scorecard(samples, scorecards()["overall"], churns, observed_until=END)
    m = result.metrics
    assert m["churned"] > 10
    assert m["roc_auc"] > 0.65
    assert m["lift_top_decile"] > 1.5
    rates = result.by_band.set_index("band")["churn_rate"]
    assert rates["green"] < rates["yellow"]
    assert result.by_band["n"].sum() == m["n"]
    # a scorecard fed a measure with no relation to churn ranks no better than chance
    noise = samples.assign(nps_latest=np.random.default_rng(0).uniform(0, 10, len(samples)))
    from kizuna.analytics.scoring.scorecard import scorecard_from_dict

    blind = scorecard_from_dict(
        {
            "name": "noise",
            "version": 1,
            "measures": [{"name": "n", "source": "nps_latest", "weight": 1, "linear": [[0, 0], [10, 100]]}],
        }
    )
    assert abs(backtest_scorecard(noise, blind, churns, observed_until=END).metrics["roc_auc"] - 0.5) < 0.1


def test_samples_whose_horizon_is_not_yet_observed_are_left_out() -> None:
    samples, churns = shared_samples()
    result = backtest_scorecard(samples, scorecards()["overall"], churns, observed_until=END)
    last = pd.to_datetime(result.samples["as_of"]).max()
    assert last + pd.Timedelta(days=90) <= pd.Timestamp(END)


def test_lead_time_is_the_unbroken_red_run_before_the_churn() -> None:
    d = [dt.date(2026, 1, 1) + dt.timedelta(days=30 * i) for i in range(5)]
    scored = pd.DataFrame(
        {
            "account_id": [1] * 5 + [2] * 3 + [3] * 2,
            "as_of": [*d, *d[:3], *d[:2]],
            "band": [*["red", "green", "red", "red", "red"], *["red", "red", "yellow"], *["red", "red"]],
        }
    )
    churns = pd.DataFrame(
        {
            "account_id": [1, 2, 3],
            "churned_on": [d[4] + dt.timedelta(days=10), d[2] + dt.timedelta(days=5), d[1] + dt.timedelta(days=200)],
        }
    )
    lead = warning_lead_times(scored, churns).set_index("account_id")
    assert lead.loc[1, "red_since"] == d[2]
    assert lead.loc[1, "lead_days"] == 70  # red from d[2] (60 days before d[4]) + 10 days
    assert np.isnan(lead.loc[2, "lead_days"])  # yellow at the last score before the churn: not warned
    assert 3 not in lead.index  # no score within the 90 days before the churn


@pytest.mark.parametrize("name", ["onboarding", "expansion"])
def test_every_builtin_scorecard_can_be_backtested(name: str) -> None:
    samples, churns = shared_samples()
    result = backtest_scorecard(samples, scorecards()[name], churns, observed_until=END)
    assert set(result.metrics) >= {"roc_auc", "pr_auc", "red_precision", "red_recall", "median_lead_days"}
    assert list(result.by_band["band"]) == ["red", "yellow", "green"]
    if name == "onboarding":
        assert (result.samples.merge(samples, on=["account_id", "as_of"])["tenure_days"] <= 180).all()


def test_a_history_scored_in_one_pass_equals_each_date_scored_alone() -> None:
    from kizuna.analytics.scoring.backtest import score_history
    from kizuna.analytics.scoring.scoring import score_accounts

    samples, _ = shared_samples()
    card = scorecards()["overall"]
    shuffled = samples.sample(frac=1.0, random_state=3)  # dates interleaved: scored by date, each in frame order
    history = score_history(shuffled, card)
    by_date = []
    for day, frame in shuffled.groupby("as_of", sort=True):
        scores, _ = score_accounts(frame, card)
        by_date.append(scores.drop(columns="missing").assign(as_of=day))
    expected = pd.concat(by_date, ignore_index=True)[["account_id", "as_of", "score", "band", "known_weight"]]
    assert history["as_of"].nunique() > 5 and history["band"].eq("red").any()
    pd.testing.assert_frame_equal(history, expected)
