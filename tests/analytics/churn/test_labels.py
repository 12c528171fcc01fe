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


def _coverage_one_by_one(subscriptions: pd.DataFrame) -> pd.DataFrame:
    """The per-account loop coverage_intervals replaced: the reference its grouped version must equal."""
    subs = subscriptions[subscriptions["status"] != "trial"][["account_id", "start_date", "end_date"]].copy()
    subs["start"] = pd.to_datetime(subs["start_date"])
    subs["end"] = pd.to_datetime(subs["end_date"])
    subs = subs[subs["end"].isna() | (subs["end"] > subs["start"])]
    far = pd.Timestamp("2262-01-01")
    subs["end_f"] = subs["end"].fillna(far)
    rows = []
    for account_id, grp in subs.sort_values(["account_id", "start"]).groupby("account_id", sort=False):
        cur_start = cur_end = None
        for start, end in zip(grp["start"], grp["end_f"], strict=True):
            if cur_start is None:
                cur_start, cur_end = start, end
            elif start <= cur_end:
                cur_end = max(cur_end, end)
            else:
                rows.append((account_id, cur_start, cur_end))
                cur_start, cur_end = start, end
        rows.append((account_id, cur_start, cur_end))
    out = pd.DataFrame(rows, columns=["account_id", "start", "end"])
    out["start"] = pd.to_datetime(out["start"])
    out["end"] = pd.to_datetime(out["end"])
    out.loc[out["end"] >= far, "end"] = pd.NaT
    return out


def test_coverage_intervals_equal_the_per_account_loop() -> None:
    """Random books (overlapping, touching, nested, open-ended, zero-length and trial versions): the grouped
    intervals are the loop's, row for row."""
    import numpy as np

    rng = np.random.default_rng(16)
    for _ in range(20):
        n = int(rng.integers(1, 400))
        starts = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 900, n), unit="D")
        lengths = pd.to_timedelta(rng.integers(-5, 400, n), unit="D")
        ends = pd.Series(starts + lengths).where(rng.random(n) > 0.2)
        frame = pd.DataFrame(
            {
                "account_id": rng.integers(1, max(2, n // 3), n),
                "start_date": pd.Series(starts).dt.date,
                "end_date": [None if pd.isna(e) else e.date() for e in ends],
                "status": rng.choice(["active", "cancelled", "trial"], n, p=[0.6, 0.3, 0.1]),
            }
        )
        pd.testing.assert_frame_equal(coverage_intervals(frame), _coverage_one_by_one(frame))
