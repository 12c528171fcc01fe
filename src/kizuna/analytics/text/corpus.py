"""A corpus: analysed texts plus their metadata (channel, segment, plan, period, account, ...)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from kizuna.analytics.text._errors import InvalidInput
from kizuna.analytics.text.lexicon import NEG
from kizuna.analytics.text.tokenize import AnalyzedText, TextAnalyzer

__all__ = ["Corpus", "TermCounts", "require_columns"]


def require_columns(frame: pd.DataFrame, columns: Iterable[str], *, what: str = "frame") -> None:
    """Raise :class:`InvalidInput` naming every column of ``columns`` missing from ``frame``."""
    if not isinstance(frame, pd.DataFrame):
        raise InvalidInput(f"{what} must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InvalidInput(
            f"{what} is missing column(s) {', '.join(map(repr, missing))}; it has {list(frame.columns)}",
            missing=missing,
        )


@dataclass
class Corpus:
    """Analysed texts and their metadata, row for row.

    ``docs`` has one row per text: ``doc_id``, ``language`` and every metadata column of the input frame
    (channel, segment, plan, period, account_id, date, ...); ``texts[i]`` is the :class:`AnalyzedText` of
    ``docs.iloc[i]``. Build one with :meth:`from_frame` or :meth:`from_texts`.
    """

    docs: pd.DataFrame
    texts: list[AnalyzedText]
    #: each document's term counts, by ``strip_neg``, counted once for every document-term matrix of the corpus
    #: and of its subsets (the VoC refresh builds eight over the same texts); ``texts`` is not to be changed after
    _counts: dict[bool, TermCounts] = field(default_factory=dict, init=False, repr=False, compare=False)

    # ------------------------------------------------------------------------------------------- build
    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        *,
        text: str = "text",
        doc_id: str | None = None,
        analyzer: TextAnalyzer | None = None,
        language: str | None = None,
    ) -> Corpus:
        """Analyse ``frame[text]``; ``frame[doc_id]`` (default: ``doc_id`` or ``text_id`` if present, else the
        row number) identifies each text. Other columns are kept as metadata."""
        require_columns(frame, [text], what="texts frame")
        if doc_id is None:
            doc_id = next((c for c in ("doc_id", "text_id", "id") if c in frame.columns), None)
        elif doc_id not in frame.columns:
            require_columns(frame, [doc_id], what="texts frame")
        analyzer = analyzer or TextAnalyzer()
        raw = frame[text].astype("string").fillna("").tolist()
        analysed = analyzer.analyze_many(raw, language=language)
        docs = frame.drop(columns=[text]).reset_index(drop=True).copy()
        ids = frame[doc_id].to_numpy() if doc_id is not None else np.arange(len(frame))
        if doc_id is not None:
            docs = docs.drop(columns=[doc_id])
        if pd.Series(ids).duplicated().any():
            dup = pd.Series(ids)[pd.Series(ids).duplicated()].iloc[0]
            raise InvalidInput(f"column {doc_id!r} must identify each text; {dup!r} occurs more than once", value=dup)
        docs.insert(0, "doc_id", ids)
        docs.insert(1, "language", [a.language for a in analysed])
        return cls(docs=docs, texts=analysed)

    @classmethod
    def from_texts(
        cls,
        texts: Sequence[str],
        *,
        doc_ids: Sequence[Any] | None = None,
        analyzer: TextAnalyzer | None = None,
        language: str | None = None,
    ) -> Corpus:
        frame = pd.DataFrame({"text": list(texts)})
        if doc_ids is not None:
            frame.insert(0, "doc_id", list(doc_ids))
        return cls.from_frame(frame, analyzer=analyzer, language=language)

    # ------------------------------------------------------------------------------------------ access
    def __len__(self) -> int:
        return len(self.texts)

    @property
    def doc_ids(self) -> np.ndarray:
        ids: np.ndarray = self.docs["doc_id"].to_numpy()
        return ids

    def subset(self, mask: Sequence[bool] | np.ndarray | pd.Series) -> Corpus:
        """The texts where ``mask`` is true (a boolean array aligned with :attr:`docs`)."""
        m = np.asarray(mask, dtype=bool)
        if len(m) != len(self):
            raise InvalidInput(f"mask has {len(m)} values for {len(self)} texts")
        idx = np.flatnonzero(m)
        part = Corpus(docs=self.docs.iloc[idx].reset_index(drop=True), texts=[self.texts[i] for i in idx])
        for strip_neg, counts in self._counts.items():
            part._counts[strip_neg] = counts.rows(idx, len(self))
        return part

    def group_values(self, by: str | Sequence[Any] | pd.Series) -> pd.Series:
        """The group of each text: a metadata column name, or values aligned with the texts."""
        if isinstance(by, str):
            require_columns(self.docs, [by], what="corpus metadata")
            return self.docs[by].reset_index(drop=True)
        values = pd.Series(list(by))
        if len(values) != len(self):
            raise InvalidInput(f"group values have {len(values)} entries for {len(self)} texts")
        return values

    def terms(self, *, unit: str = "document", strip_neg: bool = False) -> list[list[str]]:
        """Term lists per ``unit`` ("document" or "sentence"), in text order.

        With ``strip_neg`` the ``+NEG`` marker is dropped (使いやすい+NEG counts as 使いやすい) — for views that
        ask what a text is *about* rather than what it says.
        """
        if unit not in ("document", "sentence"):
            raise InvalidInput(f"unit must be 'document' or 'sentence', got {unit!r}")
        out: list[list[str]] = []
        for t in self.texts:
            terms = [x[: -len(NEG)] if x.endswith(NEG) else x for x in t.terms] if strip_neg else t.terms
            if unit == "document":
                out.append(list(terms))
            else:
                out.extend(list(terms[s.term_start : s.term_end]) for s in t.sentences)
        return out

    def sentence_doc_index(self) -> np.ndarray:
        """For ``terms(unit="sentence")``: the document row of each sentence."""
        return np.repeat(np.arange(len(self)), [len(t.sentences) for t in self.texts])

    def term_counts(self, *, strip_neg: bool = False) -> TermCounts:
        """Each document's term counts (see :class:`TermCounts`), counted once and kept with the corpus."""
        counted = self._counts.get(strip_neg)
        if counted is None:
            counted = self._counts[strip_neg] = TermCounts.of(self.terms(strip_neg=strip_neg))
        return counted

    def document_term_matrix(
        self,
        *,
        unit: str = "document",
        min_df: int = 1,
        binary: bool = True,
        strip_neg: bool = False,
        vocabulary: Sequence[str] | None = None,
    ) -> tuple[sparse.csr_matrix, list[str]]:
        """Sparse unit × term matrix (binary presence by default) and its vocabulary (sorted by term).

        Terms found in fewer than ``min_df`` units are dropped unless ``vocabulary`` is given.
        """
        if vocabulary is None and unit == "document":
            return self.term_counts(strip_neg=strip_neg).matrix(min_df=min_df, binary=binary)
        docs = self.terms(unit=unit, strip_neg=strip_neg)
        if vocabulary is None:
            df: dict[str, int] = {}
            for d in docs:
                for term in set(d):
                    df[term] = df.get(term, 0) + 1
            vocab = sorted(t for t, c in df.items() if c >= min_df)
        else:
            vocab = list(vocabulary)
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


@dataclass(frozen=True)
class TermCounts:
    """The term counts of ``n_docs`` documents as entries (``doc``, ``term``: an index into ``vocabulary``, sorted,
    of every term found; ``count``), by document and, within one, in the order the terms first occur: the order
    :meth:`Corpus.document_term_matrix` enters them, so that a matrix made from these is the same, entry for
    entry, as one counted from the terms."""

    vocabulary: list[str]
    doc: np.ndarray
    term: np.ndarray
    count: np.ndarray
    n_docs: int

    @classmethod
    def of(cls, docs: list[list[str]]) -> TermCounts:
        per_doc = [Counter(d) for d in docs]  # (a Counter keeps the order of first occurrence)
        vocabulary = sorted(set().union(*per_doc))
        index = {t: i for i, t in enumerate(vocabulary)}
        sizes = np.fromiter((len(c) for c in per_doc), dtype=np.int64, count=len(per_doc))
        terms = [index[t] for c in per_doc for t in c]
        counts = [n for c in per_doc for n in c.values()]
        return cls(
            vocabulary=vocabulary,
            doc=np.repeat(np.arange(len(per_doc), dtype=np.int64), sizes),
            term=np.asarray(terms, dtype=np.int64),
            count=np.asarray(counts, dtype=np.int64),
            n_docs=len(per_doc),
        )

    def rows(self, idx: np.ndarray, n_docs: int) -> TermCounts:
        """The counts of documents ``idx`` (ascending) of the ``n_docs``, renumbered from 0."""
        at = np.full(n_docs, -1, dtype=np.int64)
        at[idx] = np.arange(len(idx), dtype=np.int64)
        new_doc = at[self.doc]
        keep = new_doc >= 0
        return TermCounts(self.vocabulary, new_doc[keep], self.term[keep], self.count[keep], len(idx))

    def matrix(self, *, min_df: int, binary: bool) -> tuple[sparse.csr_matrix, list[str]]:
        """:meth:`Corpus.document_term_matrix` of these documents (no ``vocabulary`` given)."""
        df = np.bincount(self.term, minlength=len(self.vocabulary))
        kept = (df >= min_df) & (df > 0)
        column = np.cumsum(kept) - 1
        entry = kept[self.term]
        vals = np.ones(int(entry.sum()), dtype=np.int64) if binary else self.count[entry]
        matrix = sparse.csr_matrix(
            (vals, (self.doc[entry], column[self.term[entry]])), shape=(self.n_docs, int(kept.sum()))
        )
        return matrix, [self.vocabulary[j] for j in np.flatnonzero(kept)]
