"""The result of analysing a text: the normalised text with its terms (in order), their character spans and its
sentences. :class:`kizuna.analytics.text.tokenize.TextAnalyzer` fills it; the English and Japanese term rules append
to it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Sentence:
    """One sentence of an analysed text.

    ``start``/``end`` are character offsets in :attr:`AnalyzedText.text`; ``term_start``/``term_end`` index
    :attr:`AnalyzedText.terms`; ``contrast_at`` is the term index where the last contrastive clause
    (〜が, 〜けど, しかし, but, however) begins, or -1; ``request`` says the sentence voices a wish.
    """

    start: int
    end: int
    term_start: int
    term_end: int
    contrast_at: int = -1
    request: bool = False


@dataclass(slots=True)
class AnalyzedText:
    """A normalised text with its terms (in order), their character spans and its sentences."""

    text: str
    language: str
    terms: list[str] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)
    sentences: list[Sentence] = field(default_factory=list)

    def sentence_terms(self, i: int) -> list[str]:
        s = self.sentences[i]
        return self.terms[s.term_start : s.term_end]

    @property
    def is_request(self) -> bool:
        return any(s.request for s in self.sentences)
