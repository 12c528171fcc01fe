"""Coverage, churn events and horizon labels."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from kizuna.analytics.churn.labels import churn_events, churn_labels, coverage_intervals, sample_dates

D = dt.date


def subs(*rows: tuple[int, D, D | None, str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["account_id", "start_date", "end_date", "status"])


def test_touching_versions_are_one_coverage_and_a_gap_is_a_churn_then_a_comeback() -> None:
    frame = subs(
        (1, D(2025, 1, 1), D(2025, 4, 1), "active"),  # upgraded on 2025-04-01: same coverage
        (1, D(2025, 4, 1), D(2025, 9, 1), "churned"),
        (1, D(2025, 11, 1), None, "active"),  # came back after two months
        (2, D(2025, 1, 1), D(2025, 2, 1), "trial"),  # a trial is not paid coverage
        (2, D(2025, 2, 1), None, "active"),
    )
    cov = coverage_intervals(frame)
    one = cov[cov.account_id == 1]
    assert one["start"].dt.date.tolist() == [D(2025, 1, 1), D(2025, 11, 1)]
    assert one["end"].iloc[0].date() == D(2025, 9, 1) and pd.isna(one["end"].iloc[1])
    assert cov[cov.account_id == 2]["start"].astype(str).tolist() == ["2025-02-01"]
    events = churn_events(frame, observed_until=D(2026, 1, 1))
    assert events.values.tolist() == [[1, D(2025, 9, 1)]]
    assert churn_events(frame, observed_until=D(2025, 8, 31)).empty  # not yet known then


def test_labels_cover_the_horizon_after_t_and_drop_unobserved_horizons() -> None:
    churns = pd.DataFrame({"account_id": [1, 2], "churned_on": [D(2025, 3, 31), D(2025, 4, 2)]})
    samples = pd.DataFrame({"account_id": [1, 2, 1, 2], "as_of": [D(2025, 1, 1)] * 2 + [D(2025, 3, 31)] * 2})
    out = churn_labels(samples, churns, horizon_days=90, observed_until=D(2025, 6, 30))
    # (t, t + 90]: 2025-03-31 is day 89 after 2025-01-01, 2025-04-02 is day 91
    assert out["churned"].tolist() == [True, False, False, True]
    short = churn_labels(samples, churns, horizon_days=90, observed_until=D(2025, 6, 1))
    assert len(short) == 2  # the 2025-03-31 samples' horizon ends after the data does


def test_sample_dates_count_back_from_the_end() -> None:
    assert sample_dates(D(2025, 1, 1), D(2025, 3, 2), every_days=30) == [D(2025, 1, 1), D(2025, 1, 31), D(2025, 3, 2)]
    assert sample_dates(D(2025, 2, 1), D(2025, 1, 1)) == []


def test_an_empty_hub_gives_no_samples_and_no_churn() -> None:
    from kizuna.analytics.risk.features import training_samples
    from tests.analytics.risk.simulated import ibis_hub

    samples, churns = training_samples(ibis_hub({}), observed_until=D(2026, 1, 1))
    assert samples.empty and churns.empty
    assert coverage_intervals(subs()).empty
