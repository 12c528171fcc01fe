"""The cap on the churn model's samples: deterministic, stratified by date and outcome, a no-op below the cap."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from kizuna.analytics.risk.sampling import stratified_cap


def _samples(n_dates: int = 6, per_date: int = 1000, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = [dt.date(2025, 1, 1) + dt.timedelta(days=30 * k) for k in range(n_dates)]
    as_of = np.repeat(np.array(dates, dtype=object), per_date)
    # the churn rate differs by date (2 % to 12 %): a cap must keep each date's rate
    rate = np.repeat(np.linspace(0.02, 0.12, n_dates), per_date)
    return pd.DataFrame(
        {
            "account_id": np.tile(np.arange(per_date), n_dates),
            "as_of": as_of,
            "x": rng.normal(size=n_dates * per_date),
            "churned": rng.random(n_dates * per_date) < rate,
        }
    )


def test_below_the_cap_the_samples_are_unchanged() -> None:
    samples = _samples()
    assert stratified_cap(samples, len(samples)) is samples
    assert stratified_cap(samples, None) is samples


def test_the_cap_keeps_each_date_and_outcome_share_and_is_deterministic() -> None:
    samples = _samples()
    capped = stratified_cap(samples, 1500, random_state=4)
    assert abs(len(capped) - 1500) <= 12  # one rounding per stratum
    assert capped.index.is_monotonic_increasing  # original order kept
    share = len(capped) / len(samples)
    full = samples.groupby(["as_of", "churned"]).size()
    kept = capped.groupby(["as_of", "churned"]).size().reindex(full.index, fill_value=0)
    assert (kept >= 1).all()
    assert (abs(kept - full * share) <= 1).all()
    assert abs(capped["churned"].mean() - samples["churned"].mean()) < 0.002
    again = stratified_cap(samples, 1500, random_state=4)
    pd.testing.assert_frame_equal(capped, again)
    other = stratified_cap(samples, 1500, random_state=5)
    assert not capped.index.equals(other.index)


def test_a_capped_model_learns_from_the_share_and_keeps_the_whole_base_rate() -> None:
    from kizuna.analytics.risk import ChurnRiskModel
    from tests.analytics.risk.simulated import shared_samples

    samples, _ = shared_samples()
    half = len(samples) // 2
    capped = ChurnRiskModel(max_samples=half, random_state=2).fit(samples)
    assert abs(capped.fit_report_["samples_used"] - half) <= samples["as_of"].nunique() * 2
    assert capped.n_samples_ == len(samples)
    assert capped.base_rate_ == samples["churned"].mean()
    again = ChurnRiskModel(max_samples=half, random_state=2).fit(samples)
    np.testing.assert_array_equal(capped.predict_proba(samples.head(40)), again.predict_proba(samples.head(40)))
    assert "samples_used" not in ChurnRiskModel(random_state=2).fit(samples).fit_report_
