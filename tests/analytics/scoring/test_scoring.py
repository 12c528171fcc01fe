"""Scores, contributions, redistribution of missing weights, change explanations and trends (hand-computed)."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from kizuna.analytics.scoring.scorecard import scorecard_from_dict
from kizuna.analytics.scoring.scoring import explain_change, score_accounts, score_trend

CARD = scorecard_from_dict(
    {
        "name": "overall",
        "version": 2,
        "thresholds": {"red": 40, "green": 70},
        "measures": [
            {"name": "usage", "source": "seat_utilisation", "weight": 3, "linear": [[0, 0], [1, 100]]},
            {
                "name": "tickets",
                "source": "severe_tickets_90d",
                "weight": 1,
                "bands": [{"below": 1, "points": 100}, {"points": 0}],
            },
            {"name": "nps", "source": "nps_latest", "weight": 1, "linear": [[0, 0], [10, 100]]},
        ],
    }
)


def test_score_is_the_weighted_mean_and_contributions_add_up() -> None:
    measures = pd.DataFrame(
        {"account_id": [1, 2], "seat_utilisation": [1.0, 0.2], "severe_tickets_90d": [0, 4], "nps_latest": [5.0, 0.0]}
    )
    scores, contrib = score_accounts(measures, CARD)
    # account 1: (3*100 + 1*100 + 1*50) / 5 = 90; account 2: (3*20 + 0 + 0) / 5 = 12
    assert scores["score"].tolist() == [90.0, 12.0]
    assert scores["band"].tolist() == ["green", "red"]
    sums = contrib.groupby("account_id")["contribution"].sum()
    np.testing.assert_allclose(sums.to_numpy(), scores["score"].to_numpy())
    row = contrib[(contrib.account_id == 1) & (contrib.measure == "usage")].iloc[0]
    assert (row.points, row.weight, row.contribution) == (100.0, 0.6, 60.0)


def test_missing_inputs_have_their_weight_redistributed_and_reported() -> None:
    measures = pd.DataFrame(
        {"account_id": [1], "seat_utilisation": [0.5], "severe_tickets_90d": [0], "nps_latest": [np.nan]}
    )
    scores, contrib = score_accounts(measures, CARD)
    # nps missing: weights 3:1 over 4 -> (3*50 + 1*100) / 4 = 62.5
    assert scores["score"].iloc[0] == pytest.approx(62.5)
    assert scores["known_weight"].iloc[0] == 0.8
    assert scores["missing"].iloc[0] == ["nps"]
    nps = contrib[contrib.measure == "nps"].iloc[0]
    assert bool(nps.missing) and nps.effective_weight == 0 and nps.contribution == 0
    assert contrib["effective_weight"].sum() == pytest.approx(1.0)


def test_a_source_column_absent_everywhere_counts_as_missing_and_no_input_gives_no_score() -> None:
    scores, _ = score_accounts(pd.DataFrame({"account_id": [1, 2], "seat_utilisation": [1.0, np.nan]}), CARD)
    assert scores["score"].iloc[0] == 100.0
    assert scores["missing"].iloc[0] == ["tickets", "nps"]
    assert math.isnan(scores["score"].iloc[1]) and scores["band"].iloc[1] is None


def test_explain_change_names_the_movers_and_sums_to_the_change() -> None:
    before = pd.DataFrame(
        {"account_id": [1], "seat_utilisation": [0.9], "severe_tickets_90d": [0], "nps_latest": [8.0]}
    )
    after = before.assign(seat_utilisation=0.4, severe_tickets_90d=2)
    s0, c0 = score_accounts(before, CARD)
    s1, c1 = score_accounts(after, CARD)
    change = explain_change(c0, c1)
    assert change["measure"].tolist() == ["usage", "tickets", "nps"]  # largest move first
    assert change["delta"].tolist() == [-30.0, -20.0, 0.0]
    assert change["delta"].sum() == s1["score"].iloc[0] - s0["score"].iloc[0]


def test_explain_change_shows_a_newly_missing_input_as_redistribution() -> None:
    before = pd.DataFrame(
        {"account_id": [1], "seat_utilisation": [0.5], "severe_tickets_90d": [0], "nps_latest": [10.0]}
    )
    s0, c0 = score_accounts(before, CARD)
    s1, c1 = score_accounts(before.assign(nps_latest=np.nan), CARD)
    change = explain_change(c0, c1)
    assert math.isclose(change["delta"].sum(), s1["score"].iloc[0] - s0["score"].iloc[0])
    assert change.set_index("measure").loc["nps", "delta"] == -20.0


def test_score_trend_reports_change_slope_and_direction() -> None:
    days = [dt.date(2026, 1, 1) + dt.timedelta(days=10 * i) for i in range(5)]
    history = pd.DataFrame(
        {"account_id": [1] * 5 + [2] * 5, "as_of": days * 2, "score": [80, 75, 70, 65, 60, 50, 50, 51, 50, 50]}
    )
    trend = score_trend(history, days=30).set_index("account_id")
    assert trend.loc[1, "change"] == -15 and trend.loc[1, "direction"] == "down"
    assert math.isclose(trend.loc[1, "slope_per_30d"], -15.0)
    assert trend.loc[2, "direction"] == "flat"
