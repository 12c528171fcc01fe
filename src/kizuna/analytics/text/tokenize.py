"""Tokenisation into kizuna terms: Sudachi (split mode C, ``normalized_form``) for Japanese, a small rule-based
tokenizer for English (:mod:`kizuna.analytics.text.english`).

A *term* is the unit every analysis counts:

* Japanese: nouns with their compounds joined (``問い合わせ対応``), verbs, adjectives and adjectival nouns as
  Sudachi ``normalized_form`` lemmas; a verb fused with its suffix (``使いにくい``, ``分かりやすい``,
  ``設定しづらい``) so that ease and difficulty stay apart; product and feature names from the user dictionary
  kept whole.
* English: lower-cased lemmas, stopwords dropped, ``ADJ to VERB`` fused (``hard to use``).
* Negation is kept as a marker: the negated term carries ``+NEG`` (``使いやすくない`` gives ``使いやすい+NEG``,
  ``不満はない`` gives ``不満+NEG``, ``doesn't work`` gives ``work+NEG``). Double negation cancels.

Sudachi tokenizers are not thread-safe and cannot be pickled, so each thread of each process lazily creates its
own; nothing is created at import time. Input is tokenised in chunks of whole sentences below Sudachi's 49 KB
limit, and results are cached per text.
"""

from __future__ import annotations

import hashlib
import re
import threading
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from kizuna.analytics.text import lexicon as lx
from kizuna.analytics.text.analyzed import AnalyzedText, Sentence
from kizuna.analytics.text.english import english_sentence, lemmatize_en
from kizuna.analytics.text.normalize import detect_language, normalize_text, split_sentences
from kizuna.analytics.text.sudachi import (
    CHUNK_TARGET_BYTES,
    MAX_CHUNK_BYTES,
    _PosCache,
    _sudachi,
    gc_paused,
    raw_sudachi_tokenize,
)

__all__ = [
    "AnalyzedText",
    "Sentence",
    "TextAnalyzer",
    "UserDictionary",
    "lemmatize_en",
    "raw_sudachi_tokenize",
]

NEG = lx.NEG


# ------------------------------------------------------------------------------------------ user dictionary
class UserDictionary:
    """Product and feature names kept as one term, found by longest match over the normalised text.

    ``entries`` is an iterable of names, or a mapping of written form to canonical term
    (``{"kizunaアナリティクス": "kizuna Analytics"}``); names are NFKC-normalised like the text and matched
    case-insensitively; Latin names only match whole words. A match overrides Sudachi's split and the stopword
    list, so ``ヘルススコア設定画面`` stays one term if it is listed.
    """

    def __init__(self, entries: Iterable[str] | Mapping[str, str] = ()) -> None:
        mapping = dict(entries) if isinstance(entries, Mapping) else {e: e for e in entries}
        self.entries: dict[str, str] = {}
        for written, canonical in mapping.items():
            key = normalize_text(str(written)).lower()
            if key:
                self.entries[key] = normalize_text(str(canonical)).lower()
        self._pattern: re.Pattern[str] | None = None
        if self.entries:
            parts = []
            for key in sorted(self.entries, key=len, reverse=True):
                body = re.escape(key)
                if key[0].isascii() and key[0].isalnum():
                    body = r"(?<![A-Za-z0-9])" + body
                if key[-1].isascii() and key[-1].isalnum():
                    body = body + r"(?![A-Za-z0-9])"
                parts.append(body)
            self._pattern = re.compile("|".join(parts), re.IGNORECASE)
        # whether some name could occur in pure-ASCII text (English sentences are mostly ASCII, names mostly not)
        self._matches_ascii = any(all(_ascii_alike(ch) for ch in key) for key in self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def __bool__(self) -> bool:
        return bool(self.entries)

    def find(self, text: str) -> list[tuple[int, int, str]]:
        """Non-overlapping ``(start, end, term)`` matches in ``text``, longest first at each position."""
        if self._pattern is None or (not self._matches_ascii and text.isascii()):
            return []
        return [(m.start(), m.end(), self._term(m.group(0))) for m in self._pattern.finditer(text)]

    def _term(self, matched: str) -> str:
        """The canonical term of a matched name. A case-insensitive match need not lower-case back to the name
        (``ID`` matches the name ``ıd``): then the name is the first, longest first, that the match spells."""
        term = self.entries.get(matched.lower())
        if term is not None:
            return term
        for key in sorted(self.entries, key=len, reverse=True):
            if re.fullmatch(re.escape(key), matched, re.IGNORECASE):
                return self.entries[key]
        raise AssertionError(f"{matched!r} matched no name")  # the pattern only matches names


def _ascii_alike(ch: str) -> bool:
    """Whether ``ch`` can match an ASCII character case-insensitively (itself ASCII, or one of the few letters such
    as the Kelvin sign that ``re.IGNORECASE`` folds to one)."""
    return ch.isascii() or ch.lower().isascii() or ch.upper().isascii() or ch in "\u0130\u0131\u017f\u212a"


# ------------------------------------------------------------------------------------------------ analyser
_SUFFIX_CANON = {
    "や": "やすい",
    "易": "やすい",
    "に": "にくい",
    "難": "にくい",
    "づ": "づらい",
    "辛": "づらい",
    "が": "がたい",
}
_IROW = dict(zip("うくぐすつぬぶむる", "いきぎしちにびみり", strict=True))
_CLAUSE_PARTICLES = frozenset(
    ["ので", "から", "し", "ば", "ながら", "たり", "つつ", "のに", "けど", "けれど", "けれども", "が", "ものの"]
)
_REQUEST_GIVERS = frozenset(("頂く", "貰う", "下さる", "呉れる"))


class TextAnalyzer:
    """Turns raw texts into :class:`AnalyzedText` (normalised text, language, terms, sentences).

    Parameters
    ----------
    user_dictionary
        Product and feature names kept whole (:class:`UserDictionary` or an iterable / mapping of names).
    force_pick
        Terms always kept, even when they are stopwords; strings listed here are also matched as whole terms
        like user-dictionary entries (KH Coder's 強制抽出).
    ignore
        Terms never emitted (KH Coder's 使用しない語); matched on the term without ``+NEG``.
    stopwords_ja, stopwords_en
        Replace the default stopword sets (:data:`lexicon.JA_STOPWORDS`, :data:`lexicon.EN_STOPWORDS`).
    variants
        Spelling-variant table for :func:`normalize_text` (default: :data:`normalize.SPELLING_VARIANTS`).
    cache_size
        How many analysed texts are kept (by raw text); identical texts are tokenised once.

    One analyser may be shared by threads: the Sudachi tokenizer underneath is per thread.
    """

    def __init__(
        self,
        *,
        user_dictionary: UserDictionary | Iterable[str] | Mapping[str, str] | None = None,
        force_pick: Iterable[str] = (),
        ignore: Iterable[str] = (),
        stopwords_ja: Iterable[str] | None = None,
        stopwords_en: Iterable[str] | None = None,
        variants: Mapping[str, str] | None = None,
        cache_size: int = 200_000,
    ) -> None:
        force = [normalize_text(t) for t in force_pick if str(t).strip()]
        if isinstance(user_dictionary, UserDictionary):
            entries = dict(user_dictionary.entries)
        elif user_dictionary is None:
            entries = {}
        elif isinstance(user_dictionary, Mapping):
            entries = dict(user_dictionary)
        else:
            entries = {e: e for e in user_dictionary}
        for t in force:
            entries.setdefault(t, t)
        for t in lx.JA_BUILTIN_TERMS:
            entries.setdefault(t, t)
        self.user_dictionary = UserDictionary(entries)
        self.force_pick = frozenset(t.lower() for t in force)
        self.ignore = frozenset(normalize_text(t).lower() for t in ignore)
        self.stopwords_ja = frozenset(stopwords_ja) if stopwords_ja is not None else lx.JA_STOPWORDS
        self.stopwords_en = frozenset(stopwords_en) if stopwords_en is not None else lx.EN_STOPWORDS
        self.variants = variants
        self.cache_size = cache_size
        self._cache: dict[str, AnalyzedText] = {}
        self._lock = threading.Lock()
        #: how many distinct texts this analyser has tokenised (not found in its cache)
        self.tokenised = 0

    # -------------------------------------------------------------------------------------- public
    def fingerprint(self) -> str:
        """A digest of everything that decides this analyser's terms besides the code (user dictionary, forced and
        ignored terms, stopwords, spelling variants): two analysers with one fingerprint give the same terms."""
        h = hashlib.sha256()
        parts: list[Iterable[Any]] = [
            sorted(self.user_dictionary.entries.items()),
            sorted(self.force_pick),
            sorted(self.ignore),
            sorted(self.stopwords_ja),
            sorted(self.stopwords_en),
            [] if self.variants is None else sorted(self.variants.items()),
        ]
        for part in parts:
            h.update(repr(list(part)).encode("utf-8"))
            h.update(b"\x1e")
        h.update(b"default-variants" if self.variants is None else b"own-variants")
        return h.hexdigest()

    def analyze(self, text: str) -> AnalyzedText:
        """Analyse one text (see :meth:`analyze_many` for batches)."""
        return self.analyze_many([text])[0]

    def analyze_many(self, texts: Iterable[str], *, language: str | None = None) -> list[AnalyzedText]:
        """Analyse many texts at once: Japanese sentences are batched into chunks under Sudachi's 49 KB limit
        and each distinct text is tokenised once (cached across calls).

        ``language`` forces ``"ja"`` or ``"en"`` for every text instead of detecting it per text.
        """
        texts = [("" if t is None else str(t)) for t in texts]
        out: list[AnalyzedText | None] = [None] * len(texts)
        pending: dict[str, list[int]] = {}
        for i, raw in enumerate(texts):
            hit = self._cache.get(raw) if language is None else None
            if hit is not None:
                out[i] = hit
            else:
                pending.setdefault(raw, []).append(i)
        if pending:
            raws = list(pending)
            with gc_paused():
                results = self._analyze_uncached(raws, language)
            with self._lock:
                self.tokenised += len(raws)
                if len(self._cache) + len(raws) > self.cache_size:
                    self._cache.clear()
                for raw, res in zip(raws, results, strict=True):
                    if language is None and len(raws) <= self.cache_size:
                        self._cache[raw] = res
                    for i in pending[raw]:
                        out[i] = res
        return out  # type: ignore[return-value]

    def cached(self, texts: Iterable[str]) -> dict[str, AnalyzedText]:
        """The analyses this analyser holds of ``texts`` (raw texts as given to :meth:`analyze_many`), by text;
        texts it has not analysed (or no longer holds) are left out."""
        with self._lock:
            return {raw: hit for raw in texts if (hit := self._cache.get(raw)) is not None}

    def preload(self, analysed: Mapping[str, AnalyzedText]) -> int:
        """Take analyses made earlier by an analyser of the same :meth:`fingerprint` and code (from
        :meth:`cached`, e.g. kept on disk between runs): those texts are not tokenised again. Returns how many
        were taken (up to ``cache_size``)."""
        with self._lock:
            room = max(0, self.cache_size - len(self._cache))
            taken = 0
            for raw, doc in analysed.items():
                if taken >= room:
                    break
                if isinstance(raw, str) and isinstance(doc, AnalyzedText):
                    self._cache[raw] = doc
                    taken += 1
            return taken

    def clear_cache(self) -> None:
        with self._lock:
            self._cache.clear()

    # ------------------------------------------------------------------------------------- internals
    def _analyze_uncached(self, raws: Sequence[str], language: str | None) -> list[AnalyzedText]:
        results: list[AnalyzedText] = []
        ja_jobs: list[tuple[AnalyzedText, list[tuple[int, int]]]] = []
        for raw in raws:
            text = normalize_text(raw, variants=self.variants)
            lang = language or detect_language(text)
            doc = AnalyzedText(text=text, language=lang)
            spans = split_sentences(text)
            if lang == "ja":
                ja_jobs.append((doc, spans))
            else:
                self._english(doc, spans)
            results.append(doc)
        if ja_jobs:
            self._japanese(ja_jobs)
        return results

    def _japanese(self, jobs: list[tuple[AnalyzedText, list[tuple[int, int]]]]) -> None:
        tokenizer, pos_cache = _sudachi()
        # sentences of many texts joined by newlines into chunks below the byte limit; Sudachi is called once
        # per chunk and morphemes are routed back to their sentence by offset
        ud = self.user_dictionary
        ud_per_chunk = bool(ud) and not any("\n" in key for key in ud.entries)
        parts: list[str] = []
        sentences: list[tuple[AnalyzedText, int, int, int]] = []  # doc, sentence start/end in doc, offset in chunk
        size = 0
        offset = 0
        for doc, spans in jobs:
            text = doc.text
            if len(text) * 3 >= _PIECE_BYTES:  # only then can a sentence be too long for one chunk
                spans = [piece for s_start, s_end in spans for piece in _pieces(text, s_start, s_end)]
            for p_start, p_end in spans:
                width = p_end - p_start
                n_bytes = width * 3 if width * 3 < MAX_CHUNK_BYTES // 2 else len(text[p_start:p_end].encode("utf-8"))
                if size + n_bytes + 1 > CHUNK_TARGET_BYTES and parts:
                    self._ja_chunk(tokenizer, pos_cache, parts, sentences, ud_per_chunk)
                    parts, sentences, size, offset = [], [], 0, 0
                parts.append(text[p_start:p_end])
                sentences.append((doc, p_start, p_end, offset))
                offset += width + 1
                size += n_bytes + 1
        if parts:
            self._ja_chunk(tokenizer, pos_cache, parts, sentences, ud_per_chunk)

    def _ja_chunk(
        self,
        tokenizer: Any,
        pos_cache: _PosCache,
        parts: list[str],
        sentences: list[tuple[AnalyzedText, int, int, int]],
        ud_per_chunk: bool,
    ) -> None:
        """Tokenise one chunk (``parts`` joined by line breaks) and extract the terms of each of its sentences (or
        pieces of long ones). The helpers below (emit, flush_compound, negate) are defined once per chunk and work
        on the current sentence's state."""
        chunk = "\n".join(parts)
        chunk_morphs = list(tokenizer.tokenize(chunk))
        # user-dictionary names are searched once per chunk: the pieces are joined by line breaks, which no
        # name contains and which end a Latin word like the piece's own ends, so the matches are the same
        found = self.user_dictionary.find(chunk) if ud_per_chunk else []
        f = 0
        n_found = len(found)
        # a sentence's morphemes are those that begin before the next sentence's offset: found by bisection
        # over the morphemes' offsets, read once in a list (bisect's key= calls cost several times more)
        last = len(sentences) - 1
        begins = [m.begin() for m in chunk_morphs] if last else []
        lo = 0
        stop = self.stopwords_ja
        ignore = self.ignore
        force = self.force_pick
        kinds = pos_cache.kinds

        # the current sentence's state that the helpers read or change (set for each sentence below)
        terms: list[str]  # the document's terms, starts and ends
        starts: list[int]
        ends: list[int]
        first: int  # index of the sentence's first term in the document
        negated: list[bool]  # per term of the sentence
        linked: dict[int, int]  # できる term -> the noun it makes potential (連携できない: both negated)
        shift: int  # chunk offset -> document offset
        compound: list[str]
        comp_first: Any  # first and last morpheme of the compound; their offsets are read only if it is kept
        comp_last: Any
        comp_content: bool
        clause_first: int
        shika: bool  # 〜しか〜ない means "only", not negation
        skip_negations: int
        quote_at: int  # term before a quoting と (使いにくいと感じたことはない negates 使いにくい)
        last_noun_at: int
        request: bool

        def emit(term: str, b: int, e: int) -> bool:
            if term in ignore or (term in stop and term not in force):
                return False
            terms.append(term)
            starts.append(b)
            ends.append(e)
            negated.append(False)
            return True

        def flush_compound() -> None:
            nonlocal compound, comp_content, last_noun_at
            if compound and comp_content:
                b, e = comp_first.begin() + shift, comp_last.end() + shift
                if emit("".join(compound), b, e):
                    last_noun_at = len(terms) - 1 - first
            compound = []
            comp_content = False

        def negate() -> None:
            nonlocal shika, skip_negations, request
            if shika:
                shika = False
                return
            if skip_negations:
                skip_negations -= 1
                return
            target = len(negated) - 1
            if target < 0 or target + first < clause_first:
                return
            if terms[first + target] in lx.JA_COGNITION_VERBS and quote_at >= 0 and quote_at + first >= clause_first:
                target = quote_at
            negated[target] = not negated[target]
            other = linked.get(target)
            if other is not None:
                negated[other] = not negated[other]

        for s_no, (doc, s_start, s_end, s_off) in enumerate(sentences):
            s_stop = s_off + (s_end - s_start)
            hi = len(chunk_morphs) if s_no == last else bisect_left(begins, s_stop, lo)
            morphs = chunk_morphs[lo:hi]
            lo = hi
            ud_spans: Sequence[tuple[int, int, str]]
            if not ud_per_chunk:
                ud_spans = self.user_dictionary.find(doc.text[s_start:s_end]) if self.user_dictionary else ()
            elif f < n_found and found[f][0] < s_stop:
                ud_spans = []
                while f < n_found and found[f][0] < s_stop:
                    ud_spans.append((found[f][0] - s_off, found[f][1] - s_off, found[f][2]))
                    f += 1
            else:
                ud_spans = ()
            ud_i = 0

            terms, starts, ends = doc.terms, doc.starts, doc.ends
            first = len(terms)
            negated = []
            linked = {}
            shift = s_start - s_off
            compound = []
            comp_first = comp_last = None
            comp_content = False
            clause_first = first
            contrast_at = -1
            request = False
            conditional = False  # a 〜ば / 〜たら / 〜と / 〜なら clause was seen (〜があれば助かる)
            text = doc.text  # a question (read only when a rule needs it): _is_question(text, s_start, s_end)
            wish_at = -1  # index of a 欲しい term that makes the sentence a request (undone if negated)
            shika = False
            skip_negations = 0
            quote_at = -1
            last_noun_at = -1
            last_noun = ""  # the noun compound that ended at morpheme noun_ended_at
            noun_ended_at = -1
            prev_m: Any = None  # the previous morpheme, its surface read only when needed (None: "")
            prev_p0 = ""

            n = len(morphs)
            i = 0
            while i < n:
                m = morphs[i]
                if ud_spans:
                    b = m.begin() + shift
                    while ud_i < len(ud_spans) and ud_spans[ud_i][1] + s_start <= b:
                        ud_i += 1
                    if ud_i < len(ud_spans) and ud_spans[ud_i][0] + s_start <= b < ud_spans[ud_i][1] + s_start:
                        flush_compound()
                        u_start, u_end, u_term = ud_spans[ud_i]
                        terms.append(u_term)
                        starts.append(u_start + s_start)
                        ends.append(u_end + s_start)
                        negated.append(False)
                        last_noun_at = len(terms) - 1 - first
                        while i < n and morphs[i].begin() + shift < u_end + s_start:
                            i += 1
                        ud_i += 1
                        prev_m, prev_p0 = None, "名詞"
                        continue
                # one look-up per morpheme: its class (the _K_* constants, written as literals below), pos[0], POS
                kind, p0, pos = kinds[m.part_of_speech_id()]
                # ---- nouns and their compounds (kinds 0-3)
                if kind <= 3:
                    if kind == 0:  # _K_NOUN
                        surface = m.surface()
                        if surface.isdigit():
                            if compound:
                                flush_compound()
                        else:
                            if not compound:
                                comp_first = m
                            compound.append(surface.lower() if surface.isascii() else m.normalized_form())
                            comp_last = m
                            comp_content = True
                    elif kind == 1:  # _K_NOUN_BREAK: numerals, pronouns
                        if compound:
                            flush_compound()
                    elif kind == 2:  # _K_PREFIX
                        if compound:
                            flush_compound()
                        comp_first = comp_last = m
                        compound.append(m.normalized_form())
                    elif compound:  # _K_SUFFIX_NOUN
                        compound.append(m.normalized_form())
                        comp_last = m
                    prev_m, prev_p0 = m, p0
                    i += 1
                    continue
                # anything else ends a compound (flush_compound inlined: its joined text is the verb rules' last noun,
                # read by them only when the compound ended at this very morpheme, noun_ended_at == i)
                if compound:
                    if comp_content:
                        last_noun = "".join(compound)
                        noun_ended_at = i
                        if last_noun not in ignore and (last_noun not in stop or last_noun in force):  # emit(), inlined
                            terms.append(last_noun)
                            starts.append(comp_first.begin() + shift)
                            ends.append(comp_last.end() + shift)
                            negated.append(False)
                            last_noun_at = len(terms) - 1 - first
                    compound = []
                    comp_content = False

                if kind == 16:  # _K_OTHER
                    pass
                elif kind == 10:  # _K_CASE_PARTICLE
                    surface = m.surface()
                    if surface == "と":
                        if prev_p0 in ("動詞", "助動詞", "形容詞", "接尾辞") and negated:
                            quote_at = len(negated) - 1
                        if prev_p0 in ("動詞", "助動詞"):
                            conditional = True  # あると助かる
                    elif surface == "しか":
                        shika = True
                elif kind == 4:  # _K_VERB
                    if noun_ended_at != i:
                        last_noun = ""
                    b = m.begin() + shift
                    norm = m.normalized_form()
                    nxt = morphs[i + 1] if i + 1 < n else None
                    if nxt is not None:
                        nkind, _, npos = kinds[nxt.part_of_speech_id()]
                        if nkind == 15:  # _K_SUFFIX_ADJ
                            nsurf = nxt.surface()
                            suffix = _SUFFIX_CANON.get(nsurf[:1])
                            if suffix is not None:
                                if norm == "為る" and last_noun:
                                    stem = last_noun + "し"
                                else:
                                    stem = _renyou(m.surface(), norm, pos)
                                end = nxt.end() + shift
                                j = i + 2
                                term = stem + suffix
                                if npos[5].startswith("語幹") and j < n and morphs[j].surface() == "さ":
                                    term = stem + suffix[:-1] + "さ"
                                    end = morphs[j].end() + shift
                                    j += 1
                                emit(term, b, end)
                                prev_m, prev_p0 = nxt, "接尾辞"
                                i = j
                                continue
                    # the neighbours' surfaces are read only by the rules that need them
                    if norm in lx.JA_AUX_VERBS:
                        prev_surface = prev_m.surface() if prev_m is not None else ""
                        nsurf = nxt.surface() if nxt is not None else ""
                        if (norm == "下さる" and pos[5].startswith("命令") and prev_surface in ("て", "で")) or (
                            norm == "有る"
                            and pos[5].startswith("仮定")
                            and prev_surface in ("が", "も")
                            and nsurf == "ば"
                        ):
                            request = True
                        elif norm in _REQUEST_GIVERS and prev_surface in ("て", "で"):
                            if nsurf in ("たい", "たく", "たら", "ば", "れば"):
                                request = True
                            elif nsurf in ("ない", "ませ", "ん") and _is_question(text, s_start, s_end):
                                request = True  # 〜していただけないでしょうか: a polite request, not a negation
                                skip_negations = 2 if nsurf == "ませ" else 1
                        elif norm == "為る" and last_noun in lx.JA_REQUEST_NOUNS:
                            request = True
                        elif norm == "成る" and prev_surface == "ば" and prev_p0 == "助詞":
                            pass
                    elif norm in lx.JA_AFTER_TE_AUX and prev_m is not None and prev_m.surface() in ("て", "で"):
                        pass
                    elif norm in lx.JA_COMPOUND_AUX and prev_p0 == "動詞":
                        pass  # 活用しきれない, 使い続ける: the head verb carries the meaning
                    elif norm == "出来る" and (
                        last_noun or (prev_m is not None and prev_m.surface() == "が" and last_noun_at >= 0)
                    ):
                        if emit(norm, b, m.end() + shift) and last_noun_at >= 0:
                            linked[len(terms) - 1 - first] = last_noun_at
                    elif norm == "願う" and any(t in lx.JA_REQUEST_OBJECTS for t in terms[first:]):
                        request = True
                        emit(norm, b, m.end() + shift)
                    else:
                        if norm in lx.JA_REQUEST_GOOD and conditional and (nxt is None or nxt.surface() != "た"):
                            request = True
                        if norm not in ignore and (norm not in stop or norm in force):  # emit(), inlined
                            terms.append(norm)
                            starts.append(b)
                            ends.append(m.end() + shift)
                            negated.append(False)
                elif kind == 9:  # _K_CONJ_PARTICLE
                    surface = m.surface()
                    if surface in lx.JA_CONTRAST:
                        contrast_at = len(terms)
                    if surface in ("ば", "なら", "たら") or (
                        surface == "と" and prev_p0 in ("動詞", "助動詞", "形容詞")
                    ):
                        conditional = True
                    if surface in _CLAUSE_PARTICLES:
                        clause_first = len(terms)
                elif kind == 13:  # _K_COMMA
                    clause_first = len(terms)
                elif kind == 7:  # _K_AUX_NEG
                    negate()
                    # 〜しなければならない / 〜しないといけない: obligation, not negation
                    nxt = morphs[i + 1] if i + 1 < n else None
                    if (
                        nxt is not None
                        and nsurf_in(nxt, ("ば", "と", "ちゃ", "くては", "ては"))
                        and i + 2 < n
                        and morphs[i + 2].normalized_form() in ("成る", "行ける", "駄目")
                    ):
                        negate()
                        skip_negations = 1
                elif kind == 8:  # _K_AUX_TA
                    if m.surface() == "たら":
                        conditional = True
                elif kind == 11:  # _K_PARTICLE
                    if m.surface() == "しか":
                        shika = True
                elif kind == 5:  # _K_ADJ
                    b = m.begin() + shift
                    norm = m.normalized_form()
                    nxt = morphs[i + 1] if i + 1 < n else None
                    if norm == "無い":
                        negate()
                    elif norm == "欲しい":
                        emit(norm, b, m.end() + shift)
                        request = True
                        wish_at = len(terms) - 1
                    elif (
                        norm == "良い"
                        and pos[5].startswith("連用")
                        and nxt is not None
                        and kinds[nxt.part_of_speech_id()][1] in ("動詞", "名詞")
                    ):
                        pass  # よく使う / よくキャンセルされる: "often", not "good"
                    else:
                        if (
                            norm in lx.JA_REQUEST_GOOD
                            and conditional
                            and nsurf_is_not_past(nxt)
                            and not _is_question(text, s_start, s_end)
                        ):
                            request = True
                        emit(norm, b, m.end() + shift)
                elif kind == 6:  # _K_ADJ_NOUN
                    b = m.begin() + shift
                    norm = m.normalized_form()
                    nxt = morphs[i + 1] if i + 1 < n else None
                    if (
                        norm in lx.JA_REQUEST_GOOD
                        and conditional
                        and nsurf_is_not_past(nxt)
                        and not _is_question(text, s_start, s_end)
                    ):
                        request = True
                    emit(norm, b, m.end() + shift)
                elif kind == 12:  # _K_CONJUNCTION
                    surface = m.surface()
                    if surface in lx.JA_CONTRAST or m.normalized_form() in lx.JA_CONTRAST:
                        contrast_at = len(terms)
                    clause_first = len(terms)
                elif kind == 14:  # _K_INTERJECTION
                    norm = m.normalized_form()
                    if norm in lx.JA_POLARITY:
                        emit(norm, m.begin() + shift, m.end() + shift)
                prev_m, prev_p0 = m, p0
                i += 1
            flush_compound()
            if True in negated:
                for k, is_neg in enumerate(negated):
                    if is_neg:
                        terms[first + k] = terms[first + k] + NEG
            if wish_at >= 0 and negated[wish_at - first]:
                request = False
            doc.sentences.append(
                Sentence(s_start, s_end, first, len(terms), contrast_at if contrast_at >= first else -1, request)
            )

    def _english(self, doc: AnalyzedText, spans: list[tuple[int, int]]) -> None:
        text = doc.text
        lower = text.lower()
        for s_start, s_end in spans:
            first = len(doc.terms)
            ud_spans = self.user_dictionary.find(text[s_start:s_end]) if self.user_dictionary else []
            contrast_at, request = english_sentence(
                lower,
                s_start,
                s_end,
                ud_spans,
                doc,
                stop=self.stopwords_en,
                ignore=self.ignore,
                force=self.force_pick,
            )
            doc.sentences.append(Sentence(s_start, s_end, first, len(doc.terms), contrast_at, request))


def _is_question(text: str, start: int, end: int) -> bool:
    tail = text[start:end].rstrip("。.!！ ")
    return tail.endswith(("?", "？", "か", "かね", "でしょうか"))


def nsurf_is_not_past(m: Any) -> bool:
    return m is None or m.surface() not in ("た", "かっ")


def nsurf_in(m: Any, values: tuple[str, ...]) -> bool:
    return m.surface() in values


def _negate(negated: list[bool], first: int, clause_first: int) -> None:
    """Toggle negation on the sentence's last term if it lies in the current clause (double negation cancels).

    ``negated`` is sentence-local; ``first`` is the document index of its first term, ``clause_first`` the
    document index where the current clause starts.
    """
    target = len(negated) - 1
    if target >= 0 and target + first >= clause_first:
        negated[target] = not negated[target]


#: a sentence of fewer characters than a third of this always fits in one chunk
_PIECE_BYTES = MAX_CHUNK_BYTES - 16


def _pieces(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Split a sentence longer than the chunk limit at commas or, failing that, at fixed widths."""
    if (end - start) * 3 < _PIECE_BYTES:
        return [(start, end)]
    width = _PIECE_BYTES // 3
    out = []
    pos = start
    while pos < end:
        stop = min(end, pos + width)
        if stop < end:
            cut = max(text.rfind("、", pos, stop), text.rfind(",", pos, stop))
            if cut > pos:
                stop = cut + 1
        out.append((pos, stop))
        pos = stop
    return out


def _renyou(surface: str, norm: str, pos: tuple[str, ...]) -> str:
    """The 連用形 stem of a verb in its normalised spelling (わかり -> 分かり), for fusing with やすい/にくい."""
    ctype = pos[4]
    if ctype.startswith("五段") and norm and norm[-1] in _IROW:
        return norm[:-1] + _IROW[norm[-1]]
    if "一段" in ctype and norm.endswith("る"):
        return norm[:-1]
    if ctype.startswith("サ行変格"):
        return norm[:-2] + "し" if norm.endswith(("する", "為る")) else surface
    return surface
