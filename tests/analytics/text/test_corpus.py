from importlib import resources
from io import StringIO

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from kizuna.analytics.text.corpus import Corpus


def counted_matrix(
    corpus: Corpus, *, min_df: int, binary: bool, strip_neg: bool
) -> tuple[sparse.csr_matrix, list[str]]:
    """The document-term matrix as it was counted before the counts were kept: each call from the terms."""
    docs = corpus.terms(strip_neg=strip_neg)
    df: dict[str, int] = {}
    for d in docs:
        for term in set(d):
            df[term] = df.get(term, 0) + 1
    vocab = sorted(t for t, c in df.items() if c >= min_df)
    index = {t: i for i, t in enumerate(vocab)}
    rows: list[int] = []
    cols: list[int] = []
    vals: list[int] = []
    for r, d in enumerate(docs):
        counts: dict[int, int] = {}
        for term in d:
            j = index.get(term)
            if j is not None:
                counts[j] = counts.get(j, 0) + 1
        for j, c in counts.items():
            rows.append(r)
            cols.append(j)
            vals.append(1 if binary else c)
    matrix = sparse.csr_matrix(
        (np.asarray(vals, dtype=np.int64), (np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64))),
        shape=(len(docs), len(vocab)),
    )
    return matrix, vocab


def assert_same(got: tuple[sparse.csr_matrix, list[str]], want: tuple[sparse.csr_matrix, list[str]]) -> None:
    assert got[1] == want[1]
    a, b = got[0], want[0]
    assert a.shape == b.shape
    assert a.dtype == b.dtype
    # entry for entry, in the same order (what sums over the matrix add up in)
    np.testing.assert_array_equal(a.indptr, b.indptr)
    np.testing.assert_array_equal(a.indices, b.indices)
    np.testing.assert_array_equal(a.data, b.data)


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    raw = resources.files("kizuna.voc.training").joinpath("eval_ja.csv").read_text("utf-8")
    texts = pd.read_csv(StringIO(raw))["text"].tolist()
    english = ["The export is slow and the export fails", "Please add Salesforce integration", "", "great support"]
    frame = pd.DataFrame({"text": texts + english})
    frame["group"] = np.arange(len(frame)) % 3
    return Corpus.from_frame(frame)


@pytest.mark.parametrize("strip_neg", [False, True])
@pytest.mark.parametrize("binary", [True, False])
@pytest.mark.parametrize("min_df", [0, 1, 2, 3, 10])
def test_kept_counts_give_the_counted_matrix(corpus: Corpus, min_df: int, binary: bool, strip_neg: bool) -> None:
    want = counted_matrix(corpus, min_df=min_df, binary=binary, strip_neg=strip_neg)
    assert_same(corpus.document_term_matrix(min_df=min_df, binary=binary, strip_neg=strip_neg), want)
    # again, from the kept counts
    assert_same(corpus.document_term_matrix(min_df=min_df, binary=binary, strip_neg=strip_neg), want)


@pytest.mark.parametrize("min_df", [1, 2, 5])
def test_a_subset_uses_its_parents_counts(corpus: Corpus, min_df: int) -> None:
    corpus.document_term_matrix()  # the parent's counts are kept before the subsets are taken
    rng = np.random.default_rng(3)
    for mask in (rng.random(len(corpus)) < 0.3, corpus.docs["group"].eq(1).to_numpy(), np.zeros(len(corpus), bool)):
        part = corpus.subset(mask)
        assert part._counts, "the subset carries the parent's counts"
        for binary in (True, False):
            want = counted_matrix(part, min_df=min_df, binary=binary, strip_neg=False)
            assert_same(part.document_term_matrix(min_df=min_df, binary=binary), want)
        fresh = Corpus(docs=part.docs, texts=part.texts)
        assert_same(fresh.document_term_matrix(min_df=min_df), part.document_term_matrix(min_df=min_df))


def test_sentence_units_and_a_given_vocabulary_still_count(corpus: Corpus) -> None:
    matrix, vocab = corpus.document_term_matrix(unit="sentence", min_df=2)
    assert matrix.shape == (len(corpus.terms(unit="sentence")), len(vocab))
    given, terms = corpus.document_term_matrix(vocabulary=["export", "サポート"])
    assert terms == ["export", "サポート"]
    assert given[:, 0].sum() == 1  # "export" twice in one text: binary


def counted_term_frequency(corpus: Corpus, *, by: object, min_df: int, strip_neg: bool) -> pd.DataFrame:
    """term_frequency as it was before the counts were kept: Counters over every group's texts."""
    from collections import Counter

    groups = corpus.group_values(by) if by is not None else pd.Series(["all"] * len(corpus))  # type: ignore[arg-type]
    docs = corpus.terms(strip_neg=strip_neg)
    rows = []
    for g, idx in groups.groupby(groups, sort=True, dropna=False).groups.items():
        tf: Counter[str] = Counter()
        df: Counter[str] = Counter()
        for i in idx:
            tf.update(docs[i])
            df.update(set(docs[i]))
        for term, d in df.items():
            if d >= min_df:
                rows.append((g, term, tf[term], d, d / len(idx)))
    out = pd.DataFrame(rows, columns=["group", "term", "tf", "df", "df_share"])
    out = out.sort_values(["group", "df", "tf", "term"], ascending=[True, False, False, True]).reset_index(drop=True)
    return out if by is not None else out.drop(columns=["group"])


@pytest.mark.parametrize("strip_neg", [False, True])
@pytest.mark.parametrize("min_df", [1, 3])
def test_term_frequency_from_the_kept_counts(corpus: Corpus, min_df: int, strip_neg: bool) -> None:
    from kizuna.analytics.text.frequency import term_frequency

    with_gaps = corpus.docs["group"].where(corpus.docs["group"] != 2)  # a group of missing values
    for by in (None, "group", with_gaps.tolist()):
        want = counted_term_frequency(corpus, by=by, min_df=min_df, strip_neg=strip_neg)
        got = term_frequency(corpus, by=by, min_df=min_df, strip_neg=strip_neg)
        pd.testing.assert_frame_equal(got, want, check_exact=True)
    part = corpus.subset(corpus.docs["group"].eq(0).to_numpy())
    pd.testing.assert_frame_equal(
        term_frequency(part, min_df=min_df, strip_neg=strip_neg),
        counted_term_frequency(part, by=None, min_df=min_df, strip_neg=strip_neg),
        check_exact=True,
    )
