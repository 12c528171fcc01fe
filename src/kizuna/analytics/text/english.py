"""English terms: a small rule-based tokenizer and lemmatiser, negation kept as ``+NEG``, ``ADJ to VERB`` fused
(``hard to use``). :class:`kizuna.analytics.text.tokenize.TextAnalyzer` calls it for texts detected as English."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

from kizuna.analytics.text import lexicon as lx

if TYPE_CHECKING:
    from kizuna.analytics.text.analyzed import AnalyzedText

NEG = lx.NEG

_EN_TOKEN_RE = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*|[,;:()]")


@lru_cache(maxsize=65_536)  # a pure function of the word; English words repeat
def lemmatize_en(word: str) -> str:
    """A small rule-based English lemmatiser (plural -s/-es/-ies, -ing, -ed, with an irregular table).

    Consistency matters more than linguistic truth here: the same surface always gives the same lemma.
    """
    w = word.lower()
    irregular = lx.EN_IRREGULAR.get(w)
    if irregular is not None:
        return irregular
    n = len(w)
    if n > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if n > 4 and w.endswith(("sses", "shes", "ches", "xes")):
        return w[:-2]
    if n > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is", "'s")):
        return w[:-1]
    if n > 5 and w.endswith("ing"):
        return _fix_stem(w[:-3])
    if n > 4 and w.endswith("ed"):
        return _fix_stem(w[:-2])
    if w.endswith("'s"):
        return w[:-2]
    return w


def _fix_stem(stem: str) -> str:
    if len(stem) > 3 and stem[-1] == stem[-2] and stem[-1] not in "lsz":
        return stem[:-1]
    if stem.endswith(
        ("at", "iz", "bl", "ut", "is", "ur", "iv", "av", "ov", "uc", "ag", "ng", "rg", "ic", "as")
    ) and not stem.endswith(("ing", "eat")):
        return stem + "e"
    return stem


_EN_REQUEST_RE = re.compile("|".join(lx.EN_REQUEST_PATTERNS))


def english_sentence(
    lower: str,
    s_start: int,
    s_end: int,
    ud_spans: list[tuple[int, int, str]],
    doc: AnalyzedText,
    *,
    stop: frozenset[str],
    ignore: frozenset[str],
    force: frozenset[str],
) -> tuple[int, bool]:
    """Append the terms of the English sentence ``[s_start, s_end)`` of ``doc`` (``lower``: its text lower-cased;
    ``ud_spans``: the sentence's user-dictionary matches) to ``doc``; return where a contrast begins (term index,
    -1 if none) and whether the sentence is a request."""
    terms, starts, ends = doc.terms, doc.starts, doc.ends
    first = len(terms)
    sent = lower[s_start:s_end]
    tokens = [(m.group(0), m.start() + s_start, m.end() + s_start) for m in _EN_TOKEN_RE.finditer(sent)]
    contrast_at = -1
    neg_window = 0
    negated: list[bool] = []
    ud_i = 0
    i = 0
    n = len(tokens)
    while i < n:
        tok, b, e = tokens[i]
        if ud_spans:
            while ud_i < len(ud_spans) and ud_spans[ud_i][1] + s_start <= b:
                ud_i += 1
            if ud_i < len(ud_spans) and ud_spans[ud_i][0] + s_start <= b:
                u_start, u_end, u_term = ud_spans[ud_i]
                terms.append(u_term)
                starts.append(u_start + s_start)
                ends.append(u_end + s_start)
                negated.append(neg_window > 0)
                neg_window = 0
                while i < n and tokens[i][1] < u_end + s_start:
                    i += 1
                ud_i += 1
                continue
        if tok in (",", ";", ":", "(", ")"):
            neg_window = 0
            i += 1
            continue
        if tok in lx.EN_CONTRAST:
            contrast_at = len(terms)
            neg_window = 0
            i += 1
            continue
        nt = tok.endswith("n't")
        if nt or tok in lx.EN_NEGATORS:
            neg_window = 3
            i += 1
            continue
        # ADJ to VERB ("hard to use", "easy to set up")
        if tok in lx.EN_TO_ADJECTIVES and i + 2 < n and tokens[i + 1][0] == "to":
            verb = lemmatize_en(tokens[i + 2][0])
            end = tokens[i + 2][2]
            j = i + 3
            if j < n and tokens[j][0] in ("up", "out", "in"):
                verb += " " + tokens[j][0]
                end = tokens[j][2]
                j += 1
            term = f"{tok} to {verb}"
            if term not in ignore:
                terms.append(term)
                starts.append(b)
                ends.append(end)
                negated.append(neg_window > 0)
            neg_window = 0
            i = j
            continue
        if tok == "user" and i + 1 < n and tokens[i + 1][0] == "friendly":
            term, e, i = "user-friendly", tokens[i + 1][2], i + 2
        else:
            term = lemmatize_en(tok)
            i += 1
        if term in ignore or tok.isdigit() or len(term) < 2:
            continue
        if (term in stop or tok in stop) and term not in force:
            if neg_window:
                neg_window -= 1
            continue
        terms.append(term)
        starts.append(b)
        ends.append(e)
        negated.append(neg_window > 0)
        neg_window = 0
    for k, is_neg in enumerate(negated):
        if is_neg:
            terms[first + k] = terms[first + k] + NEG
    return (contrast_at if contrast_at >= first else -1), bool(_EN_REQUEST_RE.search(sent))
