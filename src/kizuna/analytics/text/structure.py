"""Structure in the vocabulary: co-occurrence network, NMF topics and hierarchical clustering of words."""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np
import pandas as pd
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import pdist
from sklearn.decomposition import NMF
from sklearn.feature_extraction.text import TfidfTransformer

from kizuna.analytics.text._errors import InvalidInput
from kizuna.analytics.text.corpus import Corpus

__all__ = ["CooccurrenceNetwork", "Topics", "WordClusters", "cluster_words", "cooccurrence_network", "nmf_topics"]


@dataclass
class CooccurrenceNetwork:
    """``nodes``: term, df, community, degree, weighted_degree, degree_centrality, betweenness;
    ``edges``: source, target, cooccurrence (units with both), jaccard. ``graph`` is the networkx graph."""

    nodes: pd.DataFrame
    edges: pd.DataFrame
    graph: nx.Graph


def cooccurrence_network(
    corpus: Corpus,
    *,
    min_df: int = 3,
    top_n_edges: int = 60,
    min_jaccard: float = 0.0,
    unit: str = "document",
    community: str = "greedy",
    strip_neg: bool = False,
    random_state: int = 0,
) -> CooccurrenceNetwork:
    """KH Coder's 共起ネットワーク: terms as nodes, the ``top_n_edges`` strongest Jaccard co-occurrences as edges.

    Jaccard(a, b) = |units with a and b| / |units with a or b| over ``unit`` ("document" or "sentence"),
    for terms in at least ``min_df`` units. Communities by greedy modularity (Clauset, Newman & Moore 2004)
    or ``community="louvain"`` (Blondel et al. 2008, seeded by ``random_state``); centralities by networkx
    (degree centrality, betweenness on the unweighted graph).
    """
    if community not in ("greedy", "louvain"):
        raise InvalidInput(f"community must be 'greedy' or 'louvain', got {community!r}")
    matrix, vocab = corpus.document_term_matrix(unit=unit, min_df=min_df, strip_neg=strip_neg)
    node_cols = ["term", "df", "community", "degree", "weighted_degree", "degree_centrality", "betweenness"]
    edge_cols = ["source", "target", "cooccurrence", "jaccard"]
    if len(vocab) < 2:
        return CooccurrenceNetwork(pd.DataFrame(columns=node_cols), pd.DataFrame(columns=edge_cols), nx.Graph())
    x = matrix.astype(np.float64).tocsc()
    co = (x.T @ x).toarray()
    df = np.diag(co).copy()
    union = df[:, None] + df[None, :] - co
    with np.errstate(divide="ignore", invalid="ignore"):
        jac = np.where(union > 0, co / union, 0.0)
    iu = np.triu_indices(len(vocab), k=1)
    weights = jac[iu]
    co_upper = co[iu]
    keep = (co_upper > 0) & (weights > min_jaccard)
    cand = np.flatnonzero(keep)
    if len(cand) > top_n_edges:
        # only pairs as strong as the top_n_edges-th strongest can be kept (ties included): sort those alone
        cut = len(cand) - top_n_edges
        cand = cand[weights[cand] >= np.partition(weights[cand], cut)[cut]]
    # strongest first; ties broken by co-occurrence count, then by term names for a stable result
    names = np.array(vocab, dtype=object)
    order = sorted(cand, key=lambda k: (-weights[k], -co_upper[k], names[iu[0][k]], names[iu[1][k]]))[:top_n_edges]
    edges = pd.DataFrame(
        {
            "source": names[iu[0][order]],
            "target": names[iu[1][order]],
            "cooccurrence": co_upper[order].astype(int),
            "jaccard": weights[order],
        },
        columns=edge_cols,
    )
    graph = nx.Graph()
    for row in edges.itertuples(index=False):
        graph.add_edge(row.source, row.target, weight=row.jaccard, cooccurrence=row.cooccurrence)
    if graph.number_of_nodes() == 0:
        return CooccurrenceNetwork(pd.DataFrame(columns=node_cols), edges, graph)
    if community == "greedy":
        comms = nx.community.greedy_modularity_communities(graph, weight="weight")
    else:
        comms = nx.community.louvain_communities(graph, weight="weight", seed=random_state)
    comms = sorted((sorted(c) for c in comms), key=lambda c: (-len(c), c[0]))
    membership = {t: i + 1 for i, c in enumerate(comms) for t in c}
    deg_c = nx.degree_centrality(graph)
    betw = nx.betweenness_centrality(graph)
    df_by_term = dict(zip(vocab, df.astype(int), strict=True))
    nodes = (
        pd.DataFrame(
            [
                (t, df_by_term[t], membership[t], graph.degree(t), graph.degree(t, weight="weight"), deg_c[t], betw[t])
                for t in graph.nodes
            ],
            columns=node_cols,
        )
        .sort_values(["community", "df", "term"], ascending=[True, False, True])
        .reset_index(drop=True)
    )
    return CooccurrenceNetwork(nodes=nodes, edges=edges, graph=graph)


@dataclass
class Topics:
    """``terms``: topic, rank, term, weight (top words per topic); ``doc_topics``: doc_id, topic_1..topic_K
    (row-normalised weights) and ``topic`` (the dominant one, 0 for texts with no known term)."""

    terms: pd.DataFrame
    doc_topics: pd.DataFrame
    model: NMF
    vocabulary: list[str]


def nmf_topics(
    corpus: Corpus,
    n_topics: int,
    *,
    top_n: int = 10,
    min_df: int = 2,
    strip_neg: bool = False,
    random_state: int = 0,
    max_iter: int = 500,
) -> Topics:
    """Topics by non-negative matrix factorisation of the TF-IDF document-term matrix (``n_topics`` chosen by
    the user). Lee & Seung (1999); scikit-learn's NMF with NNDSVDa initialisation, seeded by ``random_state``."""
    if n_topics < 1:
        raise InvalidInput(f"n_topics must be at least 1, got {n_topics}")
    counts, vocab = corpus.document_term_matrix(min_df=min_df, binary=False, strip_neg=strip_neg)
    if len(vocab) < n_topics:
        raise InvalidInput(f"only {len(vocab)} terms reach min_df={min_df}; too few for {n_topics} topics")
    x = TfidfTransformer(sublinear_tf=True).fit_transform(counts)
    model = NMF(n_components=n_topics, init="nndsvda", random_state=random_state, max_iter=max_iter)
    w = model.fit_transform(x)
    rows: list[tuple[int, int, str, float]] = []
    for k, comp in enumerate(model.components_):
        order = np.lexsort((np.array(vocab), -comp))[:top_n]
        rows.extend((k + 1, r + 1, vocab[j], float(comp[j])) for r, j in enumerate(order) if comp[j] > 0)
    terms = pd.DataFrame(rows, columns=["topic", "rank", "term", "weight"])
    sums = w.sum(axis=1, keepdims=True)
    share = np.divide(w, sums, out=np.zeros_like(w), where=sums > 0)
    doc_topics = pd.DataFrame(share, columns=[f"topic_{k + 1}" for k in range(n_topics)])
    doc_topics.insert(0, "doc_id", corpus.doc_ids)
    doc_topics["topic"] = np.where(sums.ravel() > 0, share.argmax(axis=1) + 1, 0)
    return Topics(terms=terms, doc_topics=doc_topics, model=model, vocabulary=vocab)


@dataclass
class WordClusters:
    """``labels``: term, df, cluster; ``linkage``: the scipy linkage matrix over ``terms`` (for a dendrogram)."""

    labels: pd.DataFrame
    linkage: np.ndarray
    terms: list[str]


def cluster_words(
    corpus: Corpus,
    *,
    n_clusters: int = 8,
    top_terms: int = 60,
    min_df: int = 3,
    method: str = "average",
    unit: str = "document",
    strip_neg: bool = False,
) -> WordClusters:
    """Hierarchical clustering of the ``top_terms`` most frequent terms with Jaccard distance between their
    document sets (KH Coder's 階層的クラスター分析), cut into ``n_clusters`` clusters (scipy ``fcluster``,
    criterion "maxclust"). ``method`` is a scipy linkage method ("average", "complete", "single"; Ward needs
    Euclidean distances and is refused)."""
    if method not in ("average", "complete", "single", "weighted"):
        raise InvalidInput(f"method must be average, complete, single or weighted; got {method!r}")
    matrix, vocab = corpus.document_term_matrix(unit=unit, min_df=min_df, strip_neg=strip_neg)
    df = np.asarray(matrix.sum(axis=0)).ravel()
    order = np.lexsort((np.array(vocab), -df))[:top_terms]
    if len(order) < 2:
        raise InvalidInput(f"only {len(order)} terms reach min_df={min_df}; need at least 2 to cluster")
    x = matrix[:, order].T.toarray().astype(bool)
    dist = pdist(x, metric="jaccard")
    z = linkage(dist, method=method)
    labels = fcluster(z, t=min(n_clusters, len(order)), criterion="maxclust")
    terms = [vocab[i] for i in order]
    out = pd.DataFrame({"term": terms, "df": df[order].astype(int), "cluster": labels.astype(int)})
    return WordClusters(
        labels=out.sort_values(["cluster", "df", "term"], ascending=[True, False, True]).reset_index(drop=True),
        linkage=z,
        terms=terms,
    )
