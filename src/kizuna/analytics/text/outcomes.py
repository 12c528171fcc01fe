"""VoC tied to revenue and churn: feature-request themes ranked by ARR, churn lift of reasons and terms, and a
per-account VoC sentiment measure for health scores."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.cluster import AgglomerativeClustering
from sklearn.feature_extraction.text import TfidfVectorizer

from kizuna.analytics.text._errors import InvalidInput
from kizuna.analytics.text.corpus import Corpus, require_columns
from kizuna.analytics.text.lexicon import NEG

__all__ = ["Themes", "account_voc_sentiment", "churn_lift", "feature_request_themes", "rank_themes"]

REQUEST_CATEGORIES = ("feature_request", "missing_features")
_THEME_STOP = frozenset(
    (
        "欲しい",
        "出来る",
        "機能",
        "追加",
        "良い",
        "助かる",
        "嬉しい",
        "有り難い",
        "便利",
        "要望",
        "希望",
        "願う",
        "思う",
        "欲しい+NEG",
        "出来る+NEG",
        "add",
        "wish",
        "love",
        "great",
        "feature",
        "nice",
        "would",
        "please",
        "helpful",
        "able",
        "way",
        "使う",
        "見る",
        "別",
        "対応",
    )
)


def _identity(x: Any) -> Any:
    return x


@dataclass
class Themes:
    """``themes``: theme, label (top terms joined by " / "), n_texts, top_terms (list);
    ``assignments``: doc_id, theme."""

    themes: pd.DataFrame
    assignments: pd.DataFrame


#: above this many requests, :func:`feature_request_themes` clusters an evenly spaced sample of this size and
#: gives every other request the theme nearest to it (the pairwise distances grow with the square of the requests:
#: 20,000 requests would need 1.6 GB for them alone)
MAX_CLUSTERED_REQUESTS = 5000


def feature_request_themes(
    corpus: Corpus,
    categories: Sequence[str] | pd.Series | None = None,
    *,
    n_themes: int | None = None,
    distance_threshold: float | None = None,
    top_n_terms: int = 3,
    max_clustered: int = MAX_CLUSTERED_REQUESTS,
) -> Themes:
    """Group the feature requests and missing-feature complaints into themes.

    ``categories`` (aligned with the texts, e.g. ``VocClassifier.predict(corpus)["category"]``) selects texts in
    :data:`REQUEST_CATEGORIES`; ``None`` takes every text. Texts are TF-IDF vectors of their terms (with
    wish words such as 欲しい/機能 removed, and ``+NEG`` dropped: "no Salesforce integration" and "please add
    Salesforce integration" are one theme), clustered by average-linkage agglomerative clustering on cosine
    distance: ``n_themes`` clusters, or by default a cut at ``distance_threshold`` (0.9). Each theme is labelled
    by its ``top_n_terms`` highest mean-TF-IDF terms.

    More than ``max_clustered`` requests: average linkage is quadratic in time and memory, so it clusters an evenly
    spaced sample of ``max_clustered`` of them (in corpus order) and gives each other request the theme whose
    texts are nearest on average (the average-linkage distance); a request no theme is within the threshold of
    waits for the next round, which clusters a sample of those left the same way. Texts without terms are one
    theme of their own. Deterministic; up to ``max_clustered`` requests the clustering is the exact one.
    """
    if categories is not None:
        cats = pd.Series(list(categories))
        if len(cats) != len(corpus):
            raise InvalidInput(f"got {len(cats)} categories for {len(corpus)} texts")
        corpus = corpus.subset(cats.isin(REQUEST_CATEGORIES).to_numpy())
    docs = [[t[: -len(NEG)] if t.endswith(NEG) else t for t in d] for d in corpus.terms()]
    docs = [[t for t in d if t not in _THEME_STOP] for d in docs]
    if not docs:
        return Themes(
            pd.DataFrame(columns=["theme", "label", "n_texts", "top_terms"]), pd.DataFrame(columns=["doc_id", "theme"])
        )
    if max_clustered < 2:
        raise InvalidInput(f"max_clustered must be at least 2, got {max_clustered}")
    if n_themes is None and distance_threshold is None:
        distance_threshold = 0.9
    vec = TfidfVectorizer(analyzer=_identity, token_pattern=None, sublinear_tf=True)
    tfidf = vec.fit_transform(docs)
    x: Any
    if len(docs) > max_clustered:
        x = sparse.csr_matrix(tfidf)
        labels = _sampled_average_linkage_labels(
            x, max_clustered=max_clustered, n_themes=n_themes, distance_threshold=distance_threshold
        )
    else:
        x = tfidf.toarray()
        empty = x.sum(axis=1) == 0
        if len(docs) == 1:
            labels = np.zeros(1, dtype=int)
        else:
            n_clusters = None if n_themes is None else min(n_themes, len(docs))
            threshold = distance_threshold if n_themes is None else None
            if not empty.any():
                labels = _average_linkage_labels(x, n_clusters=n_clusters, distance_threshold=threshold)
            else:  # a text without terms: euclidean on unit rows (rare; pdist's euclidean is kept, see below)
                model = AgglomerativeClustering(
                    n_clusters=n_clusters, distance_threshold=threshold, metric="euclidean", linkage="average"
                )
                labels = model.fit_predict(_unit_rows(x))
    vocab = np.array(vec.get_feature_names_out(), dtype=object)
    rows = []
    label_of: dict[int, int] = {}
    clusters = sorted(set(labels), key=lambda k: (-(labels == k).sum(), k))
    for rank, k in enumerate(clusters, start=1):
        label_of[k] = rank
        members = labels == k
        mean = np.asarray(x[members].mean(axis=0)).ravel()
        order = np.lexsort((vocab, -mean))[:top_n_terms]
        top = [str(vocab[j]) for j in order if mean[j] > 0]
        rows.append((rank, " / ".join(top) if top else "(no terms)", int(members.sum()), top))
    themes = pd.DataFrame(rows, columns=["theme", "label", "n_texts", "top_terms"])
    assignments = pd.DataFrame({"doc_id": corpus.doc_ids, "theme": [label_of[k] for k in labels]})
    return Themes(themes=themes, assignments=assignments)


def _sampled_average_linkage_labels(
    x: sparse.csr_matrix, *, max_clustered: int, n_themes: int | None, distance_threshold: float | None
) -> np.ndarray:
    """Cluster labels of the rows of ``x`` (TF-IDF, more rows than ``max_clustered``), rounds of a sample clustered
    exactly and the rest given their nearest cluster (see :func:`feature_request_themes`)."""
    n = x.shape[0]
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    unit = sparse.csr_matrix(sparse.diags(np.divide(1.0, norms, out=np.zeros(n), where=norms > 0)) @ x)
    labels = np.full(n, -1, dtype=np.int64)
    labels[norms == 0] = 0  # the texts without terms: one theme
    todo = np.flatnonzero(norms > 0)
    next_label = 1
    while len(todo):
        if len(todo) > max_clustered:
            sample = todo[np.linspace(0, len(todo) - 1, max_clustered).round().astype(np.int64)]
        else:
            sample = todo
        rows = unit[sample].toarray()
        if len(sample) == 1:
            sample_labels = np.zeros(1, dtype=np.int64)
        else:
            n_clusters = None if n_themes is None else min(n_themes, len(sample))
            threshold = distance_threshold if n_themes is None else None
            sample_labels = _average_linkage_labels(rows, n_clusters=n_clusters, distance_threshold=threshold)
        base = next_label
        labels[sample] = sample_labels + base
        ks = np.unique(sample_labels)
        next_label = base + int(ks.max()) + 1
        rest = np.setdiff1d(todo, sample, assume_unique=True)
        if not len(rest):
            break
        # the mean cosine distance of each remaining text to each cluster's texts: 1 - u . sum(v) / |C|
        sums = np.vstack([rows[sample_labels == k].sum(axis=0) for k in ks])
        sizes = np.array([np.count_nonzero(sample_labels == k) for k in ks], dtype=float)
        distance = 1.0 - np.asarray(unit[rest] @ sums.T) / sizes
        nearest = distance.argmin(axis=1)
        near = np.ones(len(rest), dtype=bool)
        if n_themes is None and distance_threshold is not None:
            near = distance[np.arange(len(rest)), nearest] < distance_threshold
        labels[rest[near]] = ks[nearest[near]] + base
        todo = rest[~near]
    return labels


def _average_linkage_labels(x: np.ndarray, *, n_clusters: int | None, distance_threshold: float | None) -> np.ndarray:
    """The labels of :class:`sklearn.cluster.AgglomerativeClustering` (average linkage, cosine ``metric``,
    ``n_clusters`` or ``distance_threshold``) on the rows of ``x`` (none all zero), with the pairwise distances
    computed by matrix products (:func:`_cosine_distances`) instead of ``scipy.spatial.distance.pdist``'s loop over
    pairs and terms: the same tree (scipy's ``linkage``, as scikit-learn calls it) and the same cut (scikit-learn's
    ``_hc_cut``). On the 50,000-account demo's feature requests ``pdist`` was most of the VoC step's time, growing
    with the square of the texts times the vocabulary. (Euclidean distances from products differ from ``pdist``'s
    in the last bits, enough to break ties otherwise; cosine ones on TF-IDF rows gave the same labels.)"""
    from scipy.cluster.hierarchy import linkage
    from sklearn.cluster._agglomerative import _hc_cut

    tree = linkage(_cosine_distances(x), method="average")
    children = tree[:, :2].astype(np.intp, copy=False)
    if n_clusters is None:
        n_clusters = int(np.count_nonzero(tree[:, 2] >= distance_threshold)) + 1
    return np.asarray(_hc_cut(n_clusters, children, len(x)))


def _cosine_distances(x: np.ndarray, *, block: int = 512) -> np.ndarray:
    """Pairwise cosine distances ``1 - u.v / (|u| |v|)`` of the rows of ``x`` in ``pdist``'s condensed order (row
    ``i`` against every ``j > i``), from Gram-matrix blocks; rounding's negatives cut to 0."""
    n = len(x)
    unit = x / np.sqrt(np.einsum("ij,ij->i", x, x))[:, None]
    out = np.empty(n * (n - 1) // 2, dtype=float)
    at = 0
    for start in range(0, n, block):
        stop = min(n, start + block)
        dist = np.maximum(1.0 - unit[start:stop] @ unit[start:].T, 0.0)
        for row in range(stop - start):
            width = n - (start + row) - 1
            out[at : at + width] = dist[row, row + 1 :]
            at += width
    return out


def _unit_rows(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    unit: np.ndarray = np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)
    return unit


def rank_themes(themes: Themes, texts: pd.DataFrame, accounts: pd.DataFrame) -> pd.DataFrame:
    """Rank themes by the accounts that ask and their ARR: the feedback CS hands to product.

    ``texts`` has ``text_id`` (the corpus ``doc_id``) and ``account_id``; ``accounts`` has ``account_id`` and
    ``arr`` (integer minor units, as everywhere in kizuna). Returns ``theme, label, n_texts, n_accounts, arr,
    text_ids`` (the texts behind the theme) sorted by n_accounts, then ARR; each account's ARR counts once
    per theme however many times it asks.
    """
    require_columns(texts, ["text_id", "account_id"], what="texts frame")
    require_columns(accounts, ["account_id", "arr"], what="accounts frame")
    if accounts["account_id"].duplicated().any():
        dup = accounts.loc[accounts["account_id"].duplicated(), "account_id"].iloc[0]
        raise InvalidInput(f"accounts frame lists account_id {dup!r} more than once", value=dup)
    joined = themes.assignments.merge(
        texts[["text_id", "account_id"]], left_on="doc_id", right_on="text_id", how="left"
    )
    rows = []
    arr_by_account = accounts.set_index("account_id")["arr"]
    for theme, grp in joined.groupby("theme", sort=True):
        acc = grp["account_id"].dropna().unique()
        arr = arr_by_account.reindex(acc).fillna(0).sum()
        rows.append((theme, len(grp), len(acc), int(arr), list(grp["doc_id"])))
    ranked = pd.DataFrame(rows, columns=["theme", "n_texts", "n_accounts", "arr", "text_ids"])
    ranked = themes.themes[["theme", "label"]].merge(ranked, on="theme", how="right")
    return ranked.sort_values(["n_accounts", "arr", "theme"], ascending=[False, False, True]).reset_index(drop=True)


def churn_lift(
    mentions: pd.DataFrame,
    outcomes: pd.DataFrame,
    *,
    window_days: int = 180,
    min_accounts: int = 3,
) -> pd.DataFrame:
    """Which reasons and terms precede churn.

    ``mentions`` has ``account_id``, ``date`` and ``feature`` (a category such as ``price_not_worth_it`` or a
    term; one row per text and feature); ``outcomes`` has ``account_id`` and ``churned_at`` (null if retained).
    An account *mentions X* when one of its texts has feature X; it *churns after X* when it churned within
    ``window_days`` after such a text. Over the accounts with at least one text:

    * base rate P(churn) = accounts that churned within ``window_days`` of any of their texts / accounts;
    * P(churn | X) = accounts that churned within ``window_days`` after mentioning X / accounts mentioning X;
    * ``lift`` = P(churn | X) / P(churn).

    Features mentioned by fewer than ``min_accounts`` accounts are dropped. Returns ``feature, n_accounts,
    n_churned, churn_rate, base_rate, lift`` sorted by lift then support.
    """
    require_columns(mentions, ["account_id", "date", "feature"], what="mentions frame")
    require_columns(outcomes, ["account_id", "churned_at"], what="outcomes frame")
    m = mentions[["account_id", "date", "feature"]].copy()
    m["date"] = pd.to_datetime(m["date"], utc=True)
    o = outcomes[["account_id", "churned_at"]].drop_duplicates("account_id").copy()
    o["churned_at"] = pd.to_datetime(o["churned_at"], utc=True)
    m = m.merge(o, on="account_id", how="left")
    delta = (m["churned_at"] - m["date"]).dt.total_seconds() / 86400.0
    m["churn_after"] = delta.between(0, window_days).fillna(False).astype(bool)
    per_account = m.groupby("account_id")["churn_after"].any()
    n_accounts = len(per_account)
    if n_accounts == 0:
        raise InvalidInput("mentions frame has no rows")
    base = float(per_account.mean())
    f = m.groupby(["feature", "account_id"])["churn_after"].any().reset_index()
    agg = f.groupby("feature")["churn_after"].agg(n_accounts="size", n_churned="sum").reset_index()
    agg = agg[agg["n_accounts"] >= min_accounts].copy()
    agg["n_churned"] = agg["n_churned"].astype(int)
    agg["churn_rate"] = agg["n_churned"] / agg["n_accounts"]
    agg["base_rate"] = base
    agg["lift"] = agg["churn_rate"] / base if base > 0 else np.nan
    return agg.sort_values(["lift", "n_accounts", "feature"], ascending=[False, False, True]).reset_index(drop=True)


def account_voc_sentiment(
    scores: pd.DataFrame,
    *,
    as_of: Any,
    window_days: int = 180,
    half_life_days: float = 60.0,
    inclusive: bool = True,
) -> pd.DataFrame:
    """Per-account VoC sentiment as of a date, for health scores and churn-risk features.

    The one point-in-time definition of the measure: the VoC refresh step stores it for the refresh date and
    the health backtest / churn-risk training call it at many past dates on the same per-text scores. Texts dated
    after ``as_of`` never count.

    ``scores`` has ``account_id``, ``date`` and ``score`` (e.g. :func:`text_sentiment` scores joined to the
    texts' accounts; optionally ``label``). Texts dated in (as_of − window_days, as_of] count (in
    (as_of − window_days, as_of) with ``inclusive=False``: "known at the start of the day", the convention of the
    health measures), each weighted by 0.5^(age_days / half_life_days). Returns ``account_id, voc_sentiment``
    (weighted mean score), ``n_texts``, ``share_negative`` (if ``label`` is given, else NaN), ``last_date``.
    """
    require_columns(scores, ["account_id", "date", "score"], what="scores frame")
    as_of_ts = pd.Timestamp(as_of)
    as_of_ts = as_of_ts.tz_localize("UTC") if as_of_ts.tzinfo is None else as_of_ts.tz_convert("UTC")
    s = scores.reset_index(drop=True)  # a copy; a non-unique index would break the weights' alignment
    s["date"] = pd.to_datetime(s["date"], utc=True)
    age = (as_of_ts - s["date"]).dt.total_seconds() / 86400.0
    known = age >= 0 if inclusive else age > 0
    s = s[known & (age < window_days)].copy()
    s["w"] = 0.5 ** (age[s.index] / half_life_days)
    s["ws"] = s["w"] * s["score"].astype(float)
    has_label = "label" in s.columns
    s["neg"] = (s["label"] == "negative").astype(float) if has_label else np.nan
    out = s.groupby("account_id").agg(
        w=("w", "sum"),
        ws=("ws", "sum"),
        n_texts=("score", "size"),
        share_negative=("neg", "mean"),
        last_date=("date", "max"),
    )
    out["voc_sentiment"] = out["ws"] / out["w"]
    return out.reset_index()[["account_id", "voc_sentiment", "n_texts", "share_negative", "last_date"]]
