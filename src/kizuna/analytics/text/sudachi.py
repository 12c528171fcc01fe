"""Sudachi for kizuna: one tokenizer per thread (created lazily, never at import time, again after a fork), chunking
under Sudachi's 49 KB input limit, and part-of-speech tables that turn a morpheme's POS id into kizuna's term class.
"""

from __future__ import annotations

import gc
import os
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

#: Sudachi refuses input above 49,149 bytes; chunks stay below this
MAX_CHUNK_BYTES = 48_000
#: sentences of many texts are joined into chunks of about this size: Sudachi's cost per byte grows with the
#: input's length (~4 KB measured about 20 % cheaper than 48 KB chunks; on 5,000 bench texts 1 KB is another ~20 %
#: cheaper in Sudachi than 4 KB, ~5 % of the whole analysis; below 1 KB nothing more is gained)
CHUNK_TARGET_BYTES = 1_000

_local = threading.local()


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for a batch.

    A batch over many texts allocates millions of small acyclic objects (terms, spans, rows) and frees none;
    the collector's passes over a heap that holds a large corpus find nothing and cost about 10 % of the CPU
    time, growing with the corpus. Reference counting still frees everything as usual.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def _sudachi() -> tuple[Any, _PosCache]:
    """This thread's (tokenizer, part-of-speech cache), created on first use and again after a fork."""
    state = getattr(_local, "state", None)
    if state is None or state[0] != os.getpid():
        from sudachipy import Dictionary, SplitMode

        dictionary = Dictionary(dict="core")
        tokenizer = dictionary.tokenizer(mode=SplitMode.C)
        pos_cache = _PosCache(dictionary)
        state = (os.getpid(), tokenizer, pos_cache, dictionary)
        _local.state = state
    return state[1], state[2]


class _PosCache(dict):  # type: ignore[type-arg]
    """part_of_speech_id -> POS tuple, filled on demand (one dictionary look-up per id per thread).

    ``kinds`` maps the same ids to ``(kind, pos[0], pos)``: the term-extraction class of the part of speech
    (``_K_*``), so that the per-morpheme loop of :meth:`TextAnalyzer._ja_chunk` makes one look-up and compares
    small integers instead of reading and comparing POS strings.
    """

    def __init__(self, dictionary: Any) -> None:
        super().__init__()
        self._dictionary = dictionary
        self.kinds = _PosKinds(self)

    def __missing__(self, key: int) -> tuple[str, ...]:
        value = tuple(self._dictionary.pos_of(key))
        self[key] = value
        return value


# term-extraction classes of parts of speech (see _pos_kind); the first four build noun compounds
_K_NOUN, _K_NOUN_BREAK, _K_PREFIX, _K_SUFFIX_NOUN = 0, 1, 2, 3
_K_VERB, _K_ADJ, _K_ADJ_NOUN, _K_AUX_NEG, _K_AUX_TA = 4, 5, 6, 7, 8
_K_CONJ_PARTICLE, _K_CASE_PARTICLE, _K_PARTICLE, _K_CONJUNCTION, _K_COMMA, _K_INTERJECTION = 9, 10, 11, 12, 13, 14
_K_SUFFIX_ADJ, _K_OTHER = 15, 16


def _pos_kind(pos: tuple[str, ...]) -> int:
    p0, p1 = pos[0], pos[1]
    if p0 == "名詞":
        return _K_NOUN_BREAK if p1 in ("数詞", "代名詞") else _K_NOUN
    if p0 == "接頭辞":
        return _K_PREFIX
    if p0 == "接尾辞":
        return _K_SUFFIX_NOUN if p1 == "名詞的" else _K_SUFFIX_ADJ if p1 == "形容詞的" else _K_OTHER
    if p0 == "動詞":
        return _K_VERB
    if p0 == "形容詞":
        return _K_ADJ
    if p0 == "形状詞":
        return _K_ADJ_NOUN if p1 == "一般" else _K_OTHER
    if p0 == "助動詞":
        if pos[4] in ("助動詞-ナイ", "助動詞-ヌ"):
            return _K_AUX_NEG
        return _K_AUX_TA if pos[4] == "助動詞-タ" else _K_OTHER
    if p0 == "助詞":
        return _K_CONJ_PARTICLE if p1 == "接続助詞" else _K_CASE_PARTICLE if p1 == "格助詞" else _K_PARTICLE
    if p0 == "接続詞":
        return _K_CONJUNCTION
    if p0 == "補助記号":
        return _K_COMMA if p1 == "読点" else _K_OTHER
    if p0 == "感動詞":
        return _K_INTERJECTION
    return _K_OTHER


class _PosKinds(dict):  # type: ignore[type-arg]
    """part_of_speech_id -> (term-extraction kind, pos[0], POS tuple), filled on demand."""

    def __init__(self, pos_cache: _PosCache) -> None:
        super().__init__()
        self._pos_cache = pos_cache

    def __missing__(self, key: int) -> tuple[int, str, tuple[str, ...]]:
        pos = self._pos_cache[key]
        value = (_pos_kind(pos), pos[0], pos)
        self[key] = value
        return value


def raw_sudachi_tokenize(texts: Iterable[str]) -> int:
    """Tokenise ``texts`` with Sudachi alone (mode C, surfaces and normalized forms read) and return the number of
    morphemes: the baseline that ``bench/voc_pipeline.py`` compares the whole pipeline against."""
    tokenizer, _ = _sudachi()
    n = 0
    for text in texts:
        for chunk in _byte_chunks(text):
            for m in tokenizer.tokenize(chunk):
                m.normalized_form()
                n += 1
    return n


def _byte_chunks(text: str, limit: int = MAX_CHUNK_BYTES) -> list[str]:
    if len(text) * 3 <= limit or len(text.encode("utf-8")) <= limit:
        return [text]
    step = limit // 3
    return [text[i : i + step] for i in range(0, len(text), step)]


def synonym_groups(term: str) -> tuple[int, ...]:
    """The Sudachi synonym-group ids of ``term`` (a kizuna term, without its ``+NEG`` marker): the ids of every
    morpheme of the term in split mode C, in order, each once.

    SudachiDict gives each word the ids of its groups in Sudachi's synonym dictionary, so 料金, 値段 and 価格 share
    group 702 and サポート and "support" share 310: folding terms to their groups lets a classifier that learned
    one word recognise its synonyms. Cached per thread (terms repeat across texts).
    """
    cache: dict[str, tuple[int, ...]] | None = getattr(_local, "synonyms", None)
    if cache is None or getattr(_local, "synonyms_pid", None) != os.getpid():
        cache = {}
        _local.synonyms, _local.synonyms_pid = cache, os.getpid()
    hit = cache.get(term)
    if hit is not None:
        return hit
    tokenizer, _ = _sudachi()
    ids: list[int] = []
    for chunk in _byte_chunks(term):
        for m in tokenizer.tokenize(chunk):
            for g in m.synonym_group_ids():
                if g not in ids:
                    ids.append(int(g))
    value = tuple(ids)
    if len(cache) < 500_000:
        cache[term] = value
    return value
