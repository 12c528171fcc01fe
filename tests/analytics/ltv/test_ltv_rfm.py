"""rfm_summary on hand-computed logs and on the raw CDNOW sample; RFM scores and segments."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kizuna.analytics.ltv import RFM_SEGMENTS, BetaGeoNBD, InvalidInput, rfm_scores, rfm_segment, rfm_summary


@pytest.fixture
def small_log() -> pd.DataFrame:
    return pd.DataFrame(
        [
            ("a", "2024-01-01 10:00", 100),
            ("a", "2024-01-01 15:00", 50),  # same day as the first: one purchase of 150
            ("a", "2024-01-05 09:00", 30),
            ("a", "2024-01-10 18:00", 20),
            ("a", "2024-02-01 12:00", 999),  # after the end of observation: ignored
            ("b", "2024-01-20 12:00", 40),
            ("c", "2024-01-03 08:00", 10),
            ("c", "2024-01-03 20:00", 10),  # same day again: still no repeat purchase
            ("e", "2024-02-03 12:00", 70),  # first purchase after the end: not a customer yet
        ],
        columns=["customer", "at", "amount"],
    )


def test_summary_by_hand_in_days(small_log: pd.DataFrame) -> None:
    summary = rfm_summary(small_log, "customer", "at", "amount", observation_period_end="2024-01-31")
    expected = pd.DataFrame(
        {
            # a: purchase days Jan 1, 5 and 10 -> two repeats, last 9 days after the first, age 30 days; repeat
            #    spend (30 + 20) / 2. b: one purchase on Jan 20. c: two purchases on one day.
            "frequency": [2, 0, 0],
            "recency": [9.0, 0.0, 0.0],
            "T": [30.0, 11.0, 28.0],
            "monetary_value": [25.0, 0.0, 0.0],
        },
        index=pd.Index(["a", "b", "c"], name="customer"),
    )
    pd.testing.assert_frame_equal(summary, expected)


def test_summary_by_hand_in_weeks(small_log: pd.DataFrame) -> None:
    # Weeks run Monday to Sunday; 2024-01-01 is a Monday. a buys in weeks 0 (Jan 1 and 5: 180) and 1 (Jan 10: 20);
    # Jan 31 falls in week 4.
    summary = rfm_summary(small_log, "customer", "at", "amount", observation_period_end="2024-01-31", freq="W")
    assert summary.loc["a"].tolist() == [1, 1.0, 4.0, 20.0]
    assert summary.loc["b"].tolist() == [0, 0.0, 2.0, 0.0]  # Jan 20 is in week 2


def test_default_end_is_the_last_transaction_and_monetary_value_is_optional(small_log: pd.DataFrame) -> None:
    summary = rfm_summary(small_log, "customer", "at")
    assert list(summary.columns) == ["frequency", "recency", "T"]
    # The last transaction is e's on Feb 3, so e is a new customer with T = 0 and a's Feb 1 purchase counts.
    assert summary.loc["e"].tolist() == [0, 0.0, 0.0]
    assert summary.loc["a"].tolist() == [3, 31.0, 33.0]


def test_timezone_aware_times_are_cut_into_utc_days() -> None:
    log = pd.DataFrame(
        {
            "customer": [1, 1],
            # 08:00 in Tokyo on Jan 1 is 23:00 UTC on Dec 31; 10:00 in Tokyo on Jan 2 is 01:00 UTC on Jan 2.
            "at": pd.to_datetime(["2024-01-01 08:00", "2024-01-02 10:00"]).tz_localize("Asia/Tokyo"),
        }
    )
    summary = rfm_summary(log, "customer", "at", observation_period_end=pd.Timestamp("2024-01-10", tz="UTC"))
    assert summary.loc[1].tolist() == [1, 2.0, 10.0]


def test_reproduces_the_published_cdnow_summary_from_the_raw_log() -> None:
    # The raw CDNOW 1/10th sample (transactions to June 1998) summarised over the 39-week calibration period
    # (to 1997-09-30) gives FHL (2005)'s x, t_x, T (weeks, printed to 2 decimals) and repeat spend; the BG/NBD
    # fitted on it gives the paper's estimates.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import lifetimes.datasets

    raw = pd.read_csv(
        Path(lifetimes.datasets.__file__).with_name("CDNOW_sample.txt"),
        sep=r"\s+",
        header=None,
        names=["master_id", "customer_id", "date", "cds", "dollars"],
        dtype={"date": str},
    )
    summary = rfm_summary(
        raw, "customer_id", "date", "dollars", observation_period_end="1997-09-30", datetime_format="%Y%m%d"
    )
    summary[["recency", "T"]] /= 7
    published = lifetimes.datasets.load_cdnow_summary_data_with_monetary_value()
    assert summary.index.tolist() == published.index.tolist()
    assert (summary["frequency"] == published["frequency"]).all()
    np.testing.assert_allclose(
        summary[["recency", "T", "monetary_value"]], published[["recency", "T", "monetary_value"]], atol=0.0051
    )
    params = BetaGeoNBD().fit(summary).params_
    np.testing.assert_allclose(params.to_numpy(), [0.243, 4.414, 0.793, 2.426], atol=1e-3)


def test_summary_errors_name_the_problem(small_log: pd.DataFrame) -> None:
    with pytest.raises(InvalidInput, match="no column 'when'"):
        rfm_summary(small_log, "customer", "when")
    broken = small_log.copy()
    broken.loc[4, "at"] = "not a date"
    with pytest.raises(InvalidInput, match="'at' has a missing or unreadable time at row 4"):
        rfm_summary(broken, "customer", "at")
    broken = small_log.astype({"customer": object})
    broken.loc[2, "customer"] = None
    with pytest.raises(InvalidInput, match="'customer' is missing at row 2"):
        rfm_summary(broken, "customer", "at")
    with pytest.raises(InvalidInput, match="'amount' must be numeric"):
        rfm_summary(small_log.astype({"amount": str}), "customer", "at", "amount")
    with pytest.raises(InvalidInput, match="period alias"):
        rfm_summary(small_log, "customer", "at", freq="fortnight")


def test_quintile_scores_by_hand() -> None:
    summary = pd.DataFrame(
        {
            "frequency": [0, 0, 0, 0, 0, 0, 1, 2, 3, 4],
            "recency": [0, 0, 0, 0, 0, 0, 10, 20, 30, 40],
            "T": [100, 90, 80, 70, 60, 50, 40, 30, 40, 45],
            "monetary_value": [0, 0, 0, 0, 0, 0, 5, 50, 20, 10],
        },
        index=list("abcdefghij"),
    )
    scores = rfm_scores(summary)
    # Time since last purchase: 100 90 80 70 60 50 30 10 10 5. Score = 1 + floor(5 * worse / 10).
    assert scores["time_since_last_purchase"].tolist() == [100, 90, 80, 70, 60, 50, 30, 10, 10, 5]
    assert scores["r_score"].tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 4, 5]
    # Six customers never came back: all F = 1; then 4, 4, 5, 5.
    assert scores["f_score"].tolist() == [1, 1, 1, 1, 1, 1, 4, 4, 5, 5]
    assert scores["m_score"].tolist() == [1, 1, 1, 1, 1, 1, 4, 5, 5, 4]
    assert scores.loc["j", "rfm_cell"] == "554"
    assert scores.loc["j", "rfm_score"] == 14
    assert scores["segment"].tolist() == [
        "lost",
        "lost",
        "hibernating",
        "hibernating",
        "about to sleep",
        "about to sleep",
        "loyal customers",
        "loyal customers",
        "loyal customers",
        "champions",
    ]
    assert list(scores["segment"].cat.categories) == list(RFM_SEGMENTS)


def test_segment_map_covers_every_cell_once() -> None:
    cells = [cell for segment in RFM_SEGMENTS.values() for cell in segment]
    assert sorted(cells) == [(r, f) for r in range(1, 6) for f in range(1, 6)]
    assert len(RFM_SEGMENTS) == 11
    assert rfm_segment([5, 1, 2], [1, 5, 2]).tolist() == ["new customers", "cannot lose them", "hibernating"]
    with pytest.raises(InvalidInput, match="1 to 5"):
        rfm_segment([0], [3])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 8), min_size=1, max_size=60))
def test_scores_are_monotone_and_ties_share_a_score(frequencies: list[int]) -> None:
    n = len(frequencies)
    summary = pd.DataFrame({"frequency": frequencies, "recency": [0.0] * n, "T": [10.0] * n})
    scores = rfm_scores(summary, monetary_value_col=None)
    f = np.array(frequencies)
    s = scores["f_score"].to_numpy()
    assert s.min() >= 1 and s.max() <= 5
    order = np.argsort(f, kind="stable")
    assert np.all(np.diff(s[order]) >= 0)
    for value in set(frequencies):
        assert len(set(s[f == value])) == 1
    assert "m_score" not in scores.columns
    assert all(len(cell) == 2 for cell in scores["rfm_cell"])


def test_scores_need_the_columns() -> None:
    with pytest.raises(InvalidInput, match="no column 'monetary_value'"):
        rfm_scores(pd.DataFrame({"frequency": [1], "recency": [1.0], "T": [2.0]}))
