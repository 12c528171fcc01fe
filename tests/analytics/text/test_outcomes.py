from typing import Any

import numpy as np
import pandas as pd
import pytest

from kizuna.analytics.text.corpus import Corpus
from kizuna.analytics.text.outcomes import account_voc_sentiment, churn_lift, feature_request_themes, rank_themes


def test_themes_ranked_by_accounts_and_arr() -> None:
    texts = [
        "Salesforce連携が欲しい",
        "Salesforce連携ができるようにしてほしい",
        "Salesforce連携がないので不便",
        "スマホアプリが欲しい",
        "スマホアプリがあれば嬉しい",
        "料金が高い",
    ]
    corpus = Corpus.from_texts(texts, doc_ids=["t1", "t2", "t3", "t4", "t5", "t6"])
    cats = ["feature_request"] * 2 + ["missing_features"] + ["feature_request"] * 2 + ["price_not_worth_it"]
    themes = feature_request_themes(corpus, cats, n_themes=2)
    assert "t6" not in set(themes.assignments["doc_id"])
    by_doc = themes.assignments.set_index("doc_id")["theme"]
    assert by_doc["t1"] == by_doc["t2"] == by_doc["t3"] != by_doc["t4"] == by_doc["t5"]
    links = pd.DataFrame({"text_id": ["t1", "t2", "t3", "t4", "t5"], "account_id": ["a", "a", "b", "c", "d"]})
    arr = pd.DataFrame({"account_id": ["a", "b", "c", "d"], "arr": [100, 200, 5000, 10]})
    ranked = rank_themes(themes, links, arr)
    assert ranked["n_accounts"].tolist() == [2, 2]
    assert ranked["arr"].tolist() == [5010, 300]  # ties on accounts broken by ARR; account a counted once
    assert sorted(ranked["text_ids"].iloc[1]) == ["t1", "t2", "t3"]
    assert "salesforce連携" in ranked["label"].iloc[1]


def test_churn_lift() -> None:
    mentions = pd.DataFrame(
        {
            "account_id": ["a", "b", "c", "d", "a", "c"],
            "date": pd.to_datetime(["2024-01-01"] * 4 + ["2024-02-01", "2024-02-01"], utc=True),
            "feature": ["price", "price", "praise", "praise", "support", "support"],
        }
    )
    outcomes = pd.DataFrame(
        {
            "account_id": ["a", "b", "c", "d"],
            "churned_at": pd.to_datetime(["2024-03-01", "2025-06-01", None, None], utc=True),
        }
    )
    out = churn_lift(mentions, outcomes, window_days=180, min_accounts=1).set_index("feature")
    # only a churns within 180 days of a text: base rate 1/4
    assert out.loc["price", "churn_rate"] == 0.5 and out.loc["price", "lift"] == pytest.approx(2.0)
    assert out.loc["praise", "lift"] == 0.0
    assert out["base_rate"].eq(0.25).all()


def test_account_voc_sentiment_recency_weighted() -> None:
    scores = pd.DataFrame(
        {
            "account_id": ["a", "a", "b", "b"],
            "date": pd.to_datetime(["2024-06-30", "2024-05-01", "2024-06-01", "2023-01-01"], utc=True),
            "score": [1.0, -1.0, -0.5, 5.0],
            "label": ["positive", "negative", "negative", "positive"],
        }
    )
    out = account_voc_sentiment(scores, as_of="2024-06-30", half_life_days=60).set_index("account_id")
    w = 0.5 ** (60 / 60)  # the 2024-05-01 text is 60 days old
    assert out.loc["a", "voc_sentiment"] == pytest.approx((1.0 - w) / (1.0 + w))
    assert out.loc["b", "n_texts"] == 1 and out.loc["b", "voc_sentiment"] == -0.5  # 2023 text out of window
    assert out.loc["a", "share_negative"] == 0.5


@pytest.mark.parametrize(
    "cut", [{"n_clusters": 7, "distance_threshold": None}, {"n_clusters": None, "distance_threshold": 0.9}]
)
def test_themes_are_scikit_learns_average_linkage_clusters(cut: dict[str, Any]) -> None:
    """The cosine distances from matrix products give scikit-learn's labels (pdist's loop was the VoC step's cost),
    ties included."""
    from sklearn.cluster import AgglomerativeClustering

    from kizuna.analytics.text.outcomes import _average_linkage_labels

    rng = np.random.default_rng(5)
    # sparse TF-IDF-like rows over 300 terms, a third of them repeated exactly (templated texts)
    rows = rng.random((240, 300)) * (rng.random((240, 300)) < 0.03)
    rows[rows.sum(axis=1) == 0, 0] = 1.0
    rows[160:] = rows[rng.integers(0, 160, size=80)]
    expected = AgglomerativeClustering(metric="cosine", linkage="average", **cut).fit_predict(rows)
    got = _average_linkage_labels(rows, **cut)
    assert len(set(expected)) > 3
    np.testing.assert_array_equal(got, expected)


def _request_corpus(n_per_topic: int) -> tuple[Corpus, list[str]]:
    """Feature requests about four things, worded in a few ways each (ids ``t0``..)."""
    topics = (
        (
            "Salesforce連携",
            ("{}が欲しい", "{}ができるようにしてほしい", "{}がないので不便です", "{}を早く実装してください"),
        ),
        ("スマホアプリ", ("{}が欲しい", "{}があれば嬉しい", "{}がないので外出先で困る", "{}の提供を希望します")),
        (
            "シングルサインオン",
            ("{}に対応してほしい", "{}が必要です", "{}がないと導入できない", "{}を検討してください"),
        ),
        ("CSV出力", ("{}が欲しい", "{}をもっと柔軟にしてほしい", "{}がないので手作業です", "{}を追加してください")),
    )
    texts = [forms[i % len(forms)].format(name) for i in range(n_per_topic) for name, forms in topics]
    return Corpus.from_texts(texts, doc_ids=[f"t{i}" for i in range(len(texts))]), texts


def test_many_requests_cluster_a_sample_and_join_the_rest_to_the_nearest_theme() -> None:
    """Above ``max_clustered`` requests a sample is clustered and every other request joins the theme nearest on
    average: the same themes as clustering them all where the topics are apart, and the same answer every run."""
    from sklearn.metrics import adjusted_rand_score

    corpus, texts = _request_corpus(30)  # 120 requests
    exact = feature_request_themes(corpus, max_clustered=len(texts))
    sampled = feature_request_themes(corpus, max_clustered=25)
    assert set(sampled.assignments["doc_id"]) == set(corpus.doc_ids)
    assert sampled.themes["n_texts"].sum() == len(texts)
    assert adjusted_rand_score(exact.assignments["theme"], sampled.assignments["theme"]) == 1.0
    assert sorted(sampled.themes["label"]) == sorted(exact.themes["label"])  # ties in size ranked apart
    again = feature_request_themes(corpus, max_clustered=25)
    pd.testing.assert_frame_equal(again.assignments, sampled.assignments)
    pd.testing.assert_frame_equal(again.themes, sampled.themes)
    fixed = feature_request_themes(corpus, n_themes=4, max_clustered=25)
    assert len(fixed.themes) == 4 and fixed.themes["n_texts"].sum() == len(texts)


def test_up_to_the_cap_the_clustering_is_the_exact_one() -> None:
    corpus, texts = _request_corpus(10)
    exact = feature_request_themes(corpus, max_clustered=10_000)
    at_cap = feature_request_themes(corpus, max_clustered=len(texts))
    pd.testing.assert_frame_equal(exact.assignments, at_cap.assignments)
    pd.testing.assert_frame_equal(exact.themes, at_cap.themes)
