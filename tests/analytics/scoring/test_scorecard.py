"""Scorecard YAML: scoring functions, validation with clear errors, the built-in scorecards."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kizuna.analytics.scoring.scorecard import load_scorecard, scorecard_from_dict
from kizuna.errors import ConfigurationError
from kizuna.health.service import DEFAULT_SCORECARDS_DIR


def card(**measure: object) -> dict[str, object]:
    return {"name": "t", "version": 1, "measures": [{"name": "m", "source": "x", "weight": 1, **measure}]}


def test_linear_scoring_interpolates_between_knots_and_is_flat_outside() -> None:
    sc = scorecard_from_dict(card(linear=[[0, 0], [10, 80], [20, 100]]))
    got = sc.measures[0].points([-5, 0, 5, 10, 15, 20, 99, np.nan])
    assert got[:7].tolist() == [0, 0, 40, 80, 90, 100, 100]
    assert math.isnan(got[7])


def test_band_scoring_takes_the_first_band_the_value_is_under() -> None:
    sc = scorecard_from_dict(card(bands=[{"below": 1, "points": 100}, {"below": 3, "points": 50}, {"points": 0}]))
    assert sc.measures[0].points([0, 0.99, 1, 2.5, 3, 100]).tolist() == [100, 100, 50, 50, 0, 0]


def test_bands_map_scores_with_the_thresholds() -> None:
    sc = scorecard_from_dict({**card(linear=[[0, 0], [1, 100]]), "thresholds": {"red": 40, "green": 70}})
    assert sc.band([0, 39.99, 40, 69.9, 70, 100, np.nan]).tolist() == [
        "red",
        "red",
        "yellow",
        "yellow",
        "green",
        "green",
        None,
    ]


@pytest.mark.parametrize(
    ("measure", "message"),
    [
        ({"linear": [[1, 0], [0, 100]]}, "must increase"),
        ({"linear": [[0, 0]]}, "at least two"),
        ({"linear": [[0, 0], [1, 150]]}, "0..100"),
        ({"linear": [[0, 0], [1, 100]], "bands": [{"points": 1}]}, "exactly one"),
        ({}, "exactly one"),
        ({"bands": [{"points": 0}, {"below": 2, "points": 5}]}, "only the last band"),
        ({"weight": 0, "linear": [[0, 0], [1, 100]]}, "weight must be positive"),
    ],
)
def test_bad_scorecards_are_refused_naming_the_measure(measure: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as err:
        scorecard_from_dict(card(**measure), where="cards/t.yaml")
    assert "cards/t.yaml: measure 0 (m)" in str(err.value)


def test_missing_keys_and_bad_thresholds_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="missing key 'version'"):
        scorecard_from_dict({"name": "x", "measures": []})
    with pytest.raises(ConfigurationError, match="thresholds"):
        scorecard_from_dict({**card(linear=[[0, 0], [1, 100]]), "thresholds": {"red": 80, "green": 60}})


def test_builtin_scorecards_load_and_round_trip() -> None:
    names = set()
    for path in sorted(DEFAULT_SCORECARDS_DIR.glob("*.yaml")):
        sc = load_scorecard(path)
        names.add(sc.name)
        assert scorecard_from_dict(sc.to_dict()) == sc
    assert {"overall", "onboarding", "expansion"} <= names


def test_a_scorecard_can_apply_to_young_accounts_only() -> None:
    import pandas as pd

    sc = scorecard_from_dict({**card(linear=[[0, 0], [1, 100]]), "applies_to": {"max_tenure_days": 180}})
    frame = pd.DataFrame({"tenure_days": [10, 180, 181, np.nan]})
    assert sc.applies(frame).tolist() == [True, True, False, False]
    assert scorecard_from_dict(card(linear=[[0, 0], [1, 100]])).applies(frame).all()
    with pytest.raises(ConfigurationError, match="max_tenure_days"):
        scorecard_from_dict({**card(linear=[[0, 0], [1, 100]]), "applies_to": {"max_tenure_days": 0}})
