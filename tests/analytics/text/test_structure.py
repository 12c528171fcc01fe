import pytest

from kizuna.analytics.text.corpus import Corpus
from kizuna.analytics.text.structure import cluster_words, cooccurrence_network, nmf_topics


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    texts = ["料金が高い。予算が厳しい"] * 3 + ["サポートの返信が遅い"] * 3 + ["料金が高い。サポートの返信が遅い"]
    return Corpus.from_texts(texts)


def test_cooccurrence_network(corpus: Corpus) -> None:
    net = cooccurrence_network(corpus, min_df=2, top_n_edges=50)
    edges = net.edges.set_index(["source", "target"])
    # 料金 and 高い always together: Jaccard 1; 料金 and 返信 share 1 of 7 texts
    assert edges.loc[("料金", "高い"), "jaccard"] == 1.0
    assert edges.loc[("料金", "返信"), "jaccard"] == pytest.approx(1 / 7)
    nodes = net.nodes.set_index("term")
    assert nodes.loc["料金", "community"] == nodes.loc["予算", "community"]
    assert nodes.loc["料金", "community"] != nodes.loc["サポート", "community"]
    assert nodes.loc["料金", "betweenness"] > nodes.loc["予算", "betweenness"]
    louvain = cooccurrence_network(corpus, min_df=2, community="louvain")
    assert louvain.nodes["community"].nunique() == 2


def test_nmf_topics_and_clusters(corpus: Corpus) -> None:
    topics = nmf_topics(corpus, 2, top_n=4, min_df=1)
    tops = {frozenset(g["term"]) for _, g in topics.terms.groupby("topic")}
    assert any({"料金", "高い"} <= t for t in tops) and any({"返信", "遅い"} <= t for t in tops)
    assert topics.doc_topics.filter(like="topic_").sum(axis=1).round(6).eq(1).all()
    clusters = cluster_words(corpus, n_clusters=2, min_df=2).labels.set_index("term")["cluster"]
    assert clusters["料金"] == clusters["高い"] and clusters["返信"] == clusters["遅い"]
    assert clusters["料金"] != clusters["返信"]
