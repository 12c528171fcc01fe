"""The churn-risk model: beats chance on the simulated company, explains itself additively, and its backtest never
trains on what it tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kizuna.analytics.risk import BASELINE_FEATURES, ChurnRiskModel, lift_at, ranking_metrics, time_split_backtest
from kizuna.errors import InvalidInput
from kizuna.health.service import scorecards
from tests.analytics.risk.simulated import shared_samples


@pytest.fixture(scope="module")
def backtest() -> object:
    samples, _ = shared_samples()
    return time_split_backtest(samples, scorecard=scorecards()["overall"], random_state=0)


def test_time_split_trains_only_on_outcomes_known_before_the_test_period(backtest: object) -> None:
    bt = backtest
    assert pd.Timestamp(bt.train_window[1]) + pd.Timedelta(days=90) <= pd.Timestamp(bt.test_from)
    assert bt.test_window[0] >= bt.test_from
    assert set(bt.metrics["method"]) == {"model", "previous", "baseline", "health (overall v1)"}
    for col in ("roc_auc", "pr_auc", "lift_top_decile", "brier"):
        assert bt.metrics[col].notna().all()


def test_model_ranks_churners_above_stayers_on_later_dates(backtest: object) -> None:
    model = backtest.metrics.set_index("method").loc["model"]
    assert model["roc_auc"] > 0.65
    assert model["brier"] < model["base_rate"] * (1 - model["base_rate"]) * 1.15  # near or better than a constant


def test_contributions_add_up_to_the_log_odds_and_drivers_raise_risk() -> None:
    samples, _ = shared_samples()
    model = ChurnRiskModel(random_state=0).fit(samples)
    head = samples.head(25)
    contrib = model.contributions(head)
    p = model.predict_raw(head)
    np.testing.assert_allclose(contrib.sum(axis=1).to_numpy(), np.log(p / (1 - p)), rtol=1e-6, atol=1e-6)
    for drivers, row in zip(model.drivers(head, top=3), contrib.itertuples(index=False), strict=True):
        assert len(drivers) <= 3
        assert all(d["contribution"] > 0 and d["feature"] in model.features_ for d in drivers)
        if drivers:
            assert drivers[0]["contribution"] == pytest.approx(max(row[:-1]), abs=1e-4)
    bands = model.band(np.array([0.0, model.base_rate_ * 1.5, model.base_rate_ * 2.5]))
    assert bands.tolist() == ["low", "medium", "high"]


def test_the_model_fit_is_deterministic_and_drops_features_never_known() -> None:
    samples, _ = shared_samples()
    a = ChurnRiskModel(random_state=3).fit(samples).predict_proba(samples.head(40))
    b = ChurnRiskModel(random_state=3).fit(samples).predict_proba(samples.head(40))
    np.testing.assert_array_equal(a, b)
    assert "voc_sentiment" not in ChurnRiskModel().fit(samples).features_  # no VoC in the simulated company


def test_the_number_of_trees_is_the_best_on_the_held_out_dates() -> None:
    from sklearn.metrics import roc_auc_score

    from kizuna.analytics.risk.model import ROUNDS_STEP
    from kizuna.analytics.risk.selection import inner_split

    samples, _ = shared_samples()
    model = ChurnRiskModel(random_state=0).fit(samples)
    fit = model.fit_report_
    assert fit["rounds"] == model.rounds_ == model.booster_.current_iteration()
    assert fit["rounds"] % ROUNDS_STEP == 0 and fit["rounds"] <= fit["max_rounds"] == model.n_estimators
    assert fit["rounds_auc"] >= fit["max_rounds_auc"]
    # the block-by-block held-out ROC-AUC is the one of a prediction with that many trees
    split = inner_split(samples, horizon_days=90)
    assert split is not None
    inner = model._train(split.fit, model.features_)
    held = model._matrix(split.held_out, model.features_)
    y = split.held_out["churned"].to_numpy(dtype=int)
    auc = ChurnRiskModel.held_out_auc(inner, held, y)
    for k in (ROUNDS_STEP, model.n_estimators):
        assert auc[k] == pytest.approx(roc_auc_score(y, inner.predict(held, num_iteration=k)), abs=1e-9)
    assert fit["rounds_auc"] == round(max(auc.values()), 4)
    fixed = ChurnRiskModel(random_state=0, early_stopping=False).fit(samples)
    assert fixed.rounds_ == fixed.booster_.current_iteration() == fixed.n_estimators
    assert "rounds" not in fixed.fit_report_


def test_a_model_needs_both_outcomes() -> None:
    samples, _ = shared_samples()
    with pytest.raises(InvalidInput, match="both churned and retained"):
        ChurnRiskModel().fit(samples.assign(churned=False))
    with pytest.raises(InvalidInput, match="not fitted"):
        ChurnRiskModel().predict_proba(samples)


def test_metrics_on_hand_made_rankings() -> None:
    y = np.array([1, 1, 0, 0, 0, 0, 0, 0, 0, 0])
    perfect = ranking_metrics(np.arange(10, 0, -1), y, np.where(y == 1, 1.0, 0.0))
    assert (perfect["roc_auc"], perfect["pr_auc"], perfect["brier"]) == (1.0, 1.0, 0.0)
    assert lift_at(np.arange(10, 0, -1), y, share=0.1) == 5.0  # top 1 of 10 is a churner; base rate 0.2
    assert ranking_metrics(np.arange(10), y)["roc_auc"] == 0.0
    assert set(BASELINE_FEATURES) <= set(pd.DataFrame(columns=list(BASELINE_FEATURES)).columns)
