"""Lexicon-based sentiment per sentence and per text, with negation, contrast and a separate "request" class.

How a score is made
-------------------
* Each term takes its weight from the polarity lexicon (:mod:`kizuna.analytics.text.lexicon`); a negated term
  (``+NEG``) takes its explicit entry if there is one, else the flipped weight (positive words flip at 0.9,
  negative words at 0.6: 使いやすくない is bad, 不満はない only mildly good).
* Context: 高い is good after 満足度/評価/効果 (満足度が高い) and bad after price words; 低い/安い the other way.
* Contrast: in a sentence with 〜が/〜けど/しかし/but/however, terms before the last contrast weigh 0.5 and
  terms after it 1.5 (the speaker's point comes last). A sentence opening with しかし/ただ/but halves the
  weight of the sentences before it.
* A sentence is ``request`` when it voices a wish (〜が欲しい, 〜があれば, 〜してほしい, 〜していただきたい, 〜と助かる,
  "it would be great if", "please add", "wish"); else positive / negative / neutral by ``threshold``.
* A text is ``request`` when it has a request sentence and its remaining score is not clearly negative
  (> ``-request_tolerance``): a wish wrapped in a complaint stays a complaint.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from kizuna.analytics.text import lexicon as lx
from kizuna.analytics.text.corpus import Corpus
from kizuna.analytics.text.sudachi import gc_paused
from kizuna.analytics.text.tokenize import AnalyzedText, _is_question

__all__ = ["SentimentScorer", "sentence_sentiment", "term_polarity", "text_sentiment"]

LABELS = ("positive", "negative", "neutral", "request")


def term_polarity(term: str, previous: str | None = None, lexicon: Mapping[str, float] | None = None) -> float:
    """Polarity weight of one term in [-1, 1], with negation and the 高い/低い context of ``previous``."""
    lex = lexicon if lexicon is not None else _LEXICON
    w = lex.get(term)
    if w is not None and not term.endswith(lx.NEG):
        if previous is not None and term in _CONTEXT_WORDS:
            return _context_polarity(term, previous, w)
        return w
    if term.endswith(lx.NEG):
        if w is not None:
            return w
        base = term[: -len(lx.NEG)]
        bw = lex.get(base)
        if bw is None:
            bw = _compound_polarity(base, lex)
        if previous is not None and base in _CONTEXT_WORDS:
            bw = _context_polarity(base, previous, bw)
        return -bw * lx.NEGATED_POSITIVE if bw > 0 else -bw * lx.NEGATED_NEGATIVE
    return _compound_polarity(term, lex)


_CONTEXT_WORDS = frozenset(("高い", "低い", "安い", "減る", "下がる", "増える", "上がる", "削減", "向上", "改善"))
#: terms whose polarity depends on the previous term (the context words, negated or not); any other term's
#: polarity is a function of the term and the lexicon alone
_CONTEXT_TERMS = _CONTEXT_WORDS | frozenset(w + lx.NEG for w in _CONTEXT_WORDS)


def _context_polarity(term: str, previous: str, default: float) -> float:
    if term in ("減る", "下がる", "削減", "増える", "上がる", "向上", "改善"):
        bad_high = previous in lx.JA_BAD_WHEN_HIGH or previous.endswith(("工数", "コスト", "解約率", "手間"))
        if term in ("減る", "下がる", "削減"):
            return 0.7 if bad_high else (-0.6 if previous in lx.JA_GOOD_WHEN_HIGH else default)
        return -0.6 if bad_high else (0.6 if previous in lx.JA_GOOD_WHEN_HIGH or previous.endswith("率") else default)
    good_high = previous in lx.JA_GOOD_WHEN_HIGH or previous.endswith(("率", "度", "性"))
    price = previous in lx.JA_PRICE_WORDS or previous.endswith(("料金", "費用", "価格", "コスト", "料"))
    if term == "高い":
        return 0.7 if good_high and not price else (-0.8 if price else default)
    if term == "低い":
        return 0.5 if price else (-0.7 if good_high else default)
    return 0.6 if price else default  # 安い


def _compound_polarity(term: str, lex: Mapping[str, float]) -> float:
    """Japanese compound nouns inherit a polarity word at their end or start (機能不足, 不具合報告)."""
    n = len(term)
    if n < 3 or term.isascii():
        return 0.0
    for k in (3, 2):
        if n > k:
            w = lex.get(term[-k:])
            if w is not None and w < 0:
                return 0.8 * w
            w = lex.get(term[:k])
            if w is not None and w < 0 and term[:k] in _NEGATIVE_PREFIX_NOUNS:
                return 0.8 * w
    return 0.0


_LEXICON: dict[str, float] = {**lx.JA_POLARITY, **lx.EN_POLARITY}
_NEGATIVE_PREFIX_NOUNS = frozenset(("不具合", "不満", "障害", "エラー", "バグ", "解約"))


@dataclass
class SentimentScorer:
    """Scores sentences and texts; the defaults are kizuna's lexicon and thresholds.

    ``lexicon`` replaces or extends the polarity lexicon (use ``{**SentimentScorer().lexicon, "神対応": 1.0}``).
    Term polarities are cached per lexicon: to change it, assign a new mapping rather than editing it in place.
    """

    lexicon: Mapping[str, float] = None  # type: ignore[assignment]
    threshold: float = 0.25
    request_tolerance: float = 0.8
    contrast_before: float = 0.5
    contrast_after: float = 1.5
    question_weight: float = 0.3
    #: results of :meth:`score_text` per analysed text (by identity), so that sentiment and the coding rules'
    #: sentiment flags are computed once per text; texts are immutable once analysed
    _memo: dict[int, tuple[AnalyzedText, Any]] = field(default_factory=dict, init=False, repr=False, compare=False)
    MEMO_SIZE = 200_000
    #: polarity of each term that needs no context (see :data:`_CONTEXT_TERMS`), for the lexicon it was read from:
    #: terms repeat across texts, so each is looked up once
    _polarity: tuple[Mapping[str, float] | None, dict[str, float]] = field(
        default_factory=lambda: (None, {}), init=False, repr=False, compare=False
    )
    POLARITY_SIZE = 500_000

    def __post_init__(self) -> None:
        if self.lexicon is None:
            self.lexicon = dict(_LEXICON)

    def _term_polarities(self) -> dict[str, float]:
        """The per-term polarity cache of the current lexicon (a new one when ``lexicon`` was replaced)."""
        lexicon, cache = self._polarity
        if lexicon is not self.lexicon or len(cache) >= self.POLARITY_SIZE:
            cache = {}
            self._polarity = (self.lexicon, cache)
        return cache

    def sentence_scores(self, doc: AnalyzedText) -> list[float]:
        terms = doc.terms
        lexicon = self.lexicon
        polarity = self._term_polarities()
        scores = []
        for s in doc.sentences:
            total = 0.0
            prev: str | None = None
            contrast_at = s.contrast_at if s.contrast_at > s.term_start else -1
            for k in range(s.term_start, s.term_end):
                term = terms[k]
                w = polarity.get(term)
                if w is None:
                    if term in _CONTEXT_TERMS:
                        w = term_polarity(term, prev, lexicon)
                    else:
                        w = polarity[term] = term_polarity(term, None, lexicon)
                if contrast_at >= 0:
                    w *= self.contrast_before if k < contrast_at else self.contrast_after
                total += w
                prev = term
            if not s.request and _is_question(doc.text, s.start, s.end):
                total *= self.question_weight  # questions ask; they rarely praise or complain
            scores.append(total)
        return scores

    def label_sentence(self, score: float, request: bool) -> str:
        if request:
            return "request"
        if score >= self.threshold:
            return "positive"
        if score <= -self.threshold:
            return "negative"
        return "neutral"

    def score_text(self, doc: AnalyzedText) -> tuple[str, float, list[float]]:
        """(label, score, sentence scores) of one text; the score sums the weighted sentence scores."""
        hit = self._memo.get(id(doc))
        if hit is not None and hit[0] is doc:
            return hit[1]  # type: ignore[no-any-return]
        result = self._score_text(doc)
        if len(self._memo) >= self.MEMO_SIZE:
            self._memo.clear()
        self._memo[id(doc)] = (doc, result)
        return result

    def _score_text(self, doc: AnalyzedText) -> tuple[str, float, list[float]]:
        scores = self.sentence_scores(doc)
        weights = [1.0] * len(scores)
        for i, s in enumerate(doc.sentences):
            if i > 0 and s.contrast_at == s.term_start and s.term_end > s.term_start:
                for j in range(i):  # しかし / but opening a sentence
                    weights[j] *= self.contrast_before
        total = 0.0
        has_request = False
        for w, sc, s in zip(weights, scores, doc.sentences, strict=True):
            if s.request:
                has_request = True
                total += 0.5 * w * min(sc, 0.0)  # a wish's own words (欲しい, 助かる) are not praise
            else:
                total += w * sc
        if has_request and total > -self.request_tolerance:
            return "request", total, scores
        return self.label_sentence(total, False), total, scores


def text_sentiment(corpus: Corpus, scorer: SentimentScorer | None = None) -> pd.DataFrame:
    """Sentiment of each text: ``doc_id``, ``label`` (positive / negative / neutral / request), ``score``,
    ``n_sentences``, ``n_positive``, ``n_negative``, ``n_request`` (sentence counts)."""
    scorer = scorer or SentimentScorer()
    rows = []
    with gc_paused():
        for doc_id, doc in zip(corpus.doc_ids, corpus.texts, strict=True):
            label, score, scores = scorer.score_text(doc)
            sl = [scorer.label_sentence(sc, s.request) for sc, s in zip(scores, doc.sentences, strict=True)]
            rows.append(
                (doc_id, label, float(score), len(sl), sl.count("positive"), sl.count("negative"), sl.count("request"))
            )
    return pd.DataFrame(
        rows, columns=["doc_id", "label", "score", "n_sentences", "n_positive", "n_negative", "n_request"]
    )


def sentence_sentiment(corpus: Corpus, scorer: SentimentScorer | None = None) -> pd.DataFrame:
    """Sentiment of each sentence: ``doc_id``, ``sentence_no`` (from 0), ``sentence``, ``label``, ``score``."""
    scorer = scorer or SentimentScorer()
    rows = []
    for doc_id, doc in zip(corpus.doc_ids, corpus.texts, strict=True):
        for i, (s, sc) in enumerate(zip(doc.sentences, scorer.sentence_scores(doc), strict=True)):
            rows.append((doc_id, i, doc.text[s.start : s.end], scorer.label_sentence(sc, s.request), float(sc)))
    return pd.DataFrame(rows, columns=["doc_id", "sentence_no", "sentence", "label", "score"])
