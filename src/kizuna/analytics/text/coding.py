"""Coding rules (KH Coder style): named codes defined by boolean expressions over terms, kept in YAML.

Rule file
---------
.. code-block:: yaml

    language: ja            # which texts the file applies to (ja / en)
    codes:                  # in priority order: the first code that matches is a text's rule label
      - name: hard_to_use
        label: 使いにくい
        rule: (使いにくい | 分かりづらい | 使いやすい+NEG) & !@request

Expression syntax
-----------------
``a | b`` / ``a or b``, ``a & b`` / ``a and b``, ``!a`` / ``not a``, parentheses, and these atoms:

* ``使いにくい`` — the term occurs *not negated*; ``使いやすい+NEG`` — it occurs negated; ``使いやすい+ANY`` either.
* ``*サポート*`` — glob over terms (``*`` any characters, ``?`` one); ``"hard to use"`` — quoted term with spaces.
* ``/料金|価格/`` — regular expression searched in each term.
* ``near(a, b)`` / ``near(a, b, 5)`` — both in one sentence within 5 terms (default 5) of each other;
  ``seq(a, b)`` / ``seq(a, b, 3)`` — ``a`` then ``b`` within 3 terms (default 3) in one sentence.
* ``NEG`` — some term of the text is negated.
* ``@request``, ``@positive``, ``@negative``, ``@neutral`` — some sentence has that sentiment label;
  ``@text_positive`` etc. — the whole text's label; ``@ja`` / ``@en`` — the text's language.
"""

from __future__ import annotations

import fnmatch
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from kizuna.analytics.text._errors import InvalidInput
from kizuna.analytics.text.corpus import Corpus
from kizuna.analytics.text.lexicon import NEG
from kizuna.analytics.text.sentiment import SentimentScorer
from kizuna.analytics.text.sudachi import gc_paused
from kizuna.analytics.text.tokenize import AnalyzedText

__all__ = ["Code", "CodingRules", "RuleContext", "apply_rules", "default_rules", "parse_rule"]


# --------------------------------------------------------------------------------------------- context
@dataclass
class RuleContext:
    """What a rule sees of one text."""

    doc: AnalyzedText
    terms: frozenset[str]
    sentence_labels: frozenset[str]
    text_label: str
    #: ids of the glob/regex atoms of the rule set being applied that some term matches (see :class:`_AtomTable`)
    atom_hits: set[int] = field(default_factory=set)

    @classmethod
    def of(cls, doc: AnalyzedText, scorer: SentimentScorer) -> RuleContext:
        label, _, scores = scorer.score_text(doc)
        labels = frozenset(map(scorer.label_sentence, scores, [s.request for s in doc.sentences]))
        return cls(doc, frozenset(doc.terms), labels, label)


Predicate = Callable[[RuleContext], bool]
#: what a rule needs to be true at all: one of these keys (an exact term, or the id of a glob/regex atom) must
#: occur in the text; ``None`` when nothing narrows it (``!a``, ``NEG``, ``@request`` …)
Required = frozenset[str | int] | None


class _AtomTable:
    """The glob / regex / ``+ANY`` atoms of one rule set, matched once per distinct term.

    Terms repeat across texts, so a term's matching atoms are memoised: a text then costs one dictionary
    look-up per distinct term, however many atoms the rules hold.
    """

    MAX_MEMO = 500_000

    def __init__(self) -> None:
        self.matchers: list[Callable[[str], bool]] = []
        self.memo: dict[str, tuple[int, ...]] = {}

    def add(self, matcher: Callable[[str], bool]) -> int:
        self.matchers.append(matcher)
        self.memo.clear()
        return len(self.matchers) - 1

    def hits(self, terms: Iterable[str]) -> set[int]:
        memo = self.memo
        out: set[int] = set()
        for t in terms:
            h = memo.get(t)
            if h is None:
                if len(memo) >= self.MAX_MEMO:
                    memo.clear()
                h = memo[t] = tuple(i for i, m in enumerate(self.matchers) if m(t))
            if h:
                out.update(h)
        return out


def _union(parts: Sequence[Required]) -> Required:
    out: set[str | int] = set()
    for r in parts:
        if r is None:
            return None
        out |= r
    return frozenset(out)


def _narrowest(parts: Sequence[Required]) -> Required:
    known = [r for r in parts if r is not None]
    return min(known, key=len) if known else None


# ---------------------------------------------------------------------------------------------- parser
_TOKEN_RE = re.compile(
    r"\s*(?:(?P<op>[()|&!,])|(?P<quoted>\"[^\"]*\"(?:\+NEG|\+ANY)?)|(?P<regex>/(?:[^/\\]|\\.)+/)|(?P<word>[^\s()|&!,]+))"
)


class _Parser:
    """Recursive descent over a rule; every production returns ``(predicate, required)``.

    With an :class:`_AtomTable`, glob / regex atoms test ``ctx.atom_hits`` (filled once per text by
    :meth:`CodingRules.matches`) instead of scanning the text's terms themselves.
    """

    def __init__(self, source: str, table: _AtomTable | None = None) -> None:
        self.source = source
        self.table = table
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        source = source.strip()
        while pos < len(source):
            m = _TOKEN_RE.match(source, pos)
            if m is None or m.end() == pos:
                raise InvalidInput(f"cannot read rule {self.source!r} at {source[pos : pos + 20]!r}")
            pos = m.end()
            kind = m.lastgroup or ""
            value = m.group(kind)
            if kind == "word" and value.lower() in ("and", "or", "not"):
                kind, value = "op", {"and": "&", "or": "|", "not": "!"}[value.lower()]
            self.tokens.append((kind, value))
            while pos < len(source) and source[pos].isspace():
                pos += 1
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if tok is None or (value is not None and tok[1] != value):
            want = value or "a term"
            raise InvalidInput(f"rule {self.source!r}: expected {want!r} at token {self.i + 1}")
        self.i += 1
        return tok

    def parse(self) -> tuple[Predicate, Required]:
        if not self.tokens:
            raise InvalidInput("empty rule")
        pred = self.or_expr()
        if self.peek() is not None:
            raise InvalidInput(f"rule {self.source!r}: unexpected {self.peek()[1]!r}")  # type: ignore[index]
        return pred

    def alternatives(self) -> list[tuple[Predicate, Required]]:
        """The rule's top-level ``|`` parts, each compiled on its own (the rule holds when one of them does), so
        that an index can evaluate only the parts whose terms occur."""
        if not self.tokens:
            raise InvalidInput("empty rule")
        parts = [self.and_expr()]
        while self.peek() == ("op", "|"):
            self.take()
            parts.append(self.and_expr())
        if self.peek() is not None:
            raise InvalidInput(f"rule {self.source!r}: unexpected {self.peek()[1]!r}")  # type: ignore[index]
        return parts

    def or_expr(self) -> tuple[Predicate, Required]:
        parts = [self.and_expr()]
        while self.peek() == ("op", "|"):
            self.take()
            parts.append(self.and_expr())
        if len(parts) == 1:
            return parts[0]
        required = _union([r for _, r in parts])
        # the OR-lists of terms and globs become two set intersections; other parts are tried after them
        terms = frozenset(p.term for p, _ in parts if isinstance(p, _ExactTerm))
        atoms = frozenset(p.atom for p, _ in parts if isinstance(p, _AtomHit))
        rest = [p for p, _ in parts if not isinstance(p, (_ExactTerm, _AtomHit))]
        head: Predicate | None = None
        if terms and atoms:
            head = lambda c: not terms.isdisjoint(c.terms) or not atoms.isdisjoint(c.atom_hits)  # noqa: E731
        elif terms:
            head = lambda c: not terms.isdisjoint(c.terms)  # noqa: E731
        elif atoms:
            head = lambda c: not atoms.isdisjoint(c.atom_hits)  # noqa: E731
        return _any_of([head, *rest] if head is not None else rest), required

    def and_expr(self) -> tuple[Predicate, Required]:
        parts = [self.not_expr()]
        while self.peek() == ("op", "&"):
            self.take()
            parts.append(self.not_expr())
        if len(parts) == 1:
            return parts[0]
        return _all_of([p for p, _ in parts]), _narrowest([r for _, r in parts])

    def not_expr(self) -> tuple[Predicate, Required]:
        if self.peek() == ("op", "!"):
            self.take()
            inner, _ = self.not_expr()
            return (lambda c: not inner(c)), None
        return self.atom()

    def atom(self) -> tuple[Predicate, Required]:
        tok = self.take()
        kind, value = tok
        if kind == "op" and value == "(":
            inner = self.or_expr()
            self.take(")")
            return inner
        if kind == "op":
            raise InvalidInput(f"rule {self.source!r}: unexpected {value!r}")
        if kind == "word" and value.lower() in ("near", "seq") and self.peek() == ("op", "("):
            return self.proximity(value.lower())
        return _term_predicate(kind, value, self.table)

    def proximity(self, fn: str) -> tuple[Predicate, Required]:
        self.take("(")
        a_kind, a_value = self.take()
        a = _term_matcher(a_kind, a_value)
        required = _atom_key(a_kind, a_value, a, self.table)
        self.take(",")
        b = _term_matcher(*self.take())
        distance = 5 if fn == "near" else 3
        if self.peek() == ("op", ","):
            self.take()
            _, num = self.take()
            if not num.isdigit():
                raise InvalidInput(f"rule {self.source!r}: {fn}() distance must be a whole number, got {num!r}")
            distance = int(num)
        self.take(")")
        ordered = fn == "seq"

        def pred(c: RuleContext) -> bool:
            terms = c.doc.terms
            for s in c.doc.sentences:
                pa = [k for k in range(s.term_start, s.term_end) if a(terms[k])]
                if not pa:
                    continue
                pb = [k for k in range(s.term_start, s.term_end) if b(terms[k])]
                for i in pa:
                    for j in pb:
                        if i != j and (0 < j - i <= distance if ordered else abs(j - i) <= distance):
                            return True
            return False

        return pred, required


def _all_of(preds: Sequence[Predicate]) -> Predicate:
    """``a & b & ...`` as nested two-way ``and`` (a rule is evaluated per text: no generator per call)."""
    pred = preds[0]
    for other in preds[1:]:
        pred = _both(pred, other)
    return pred


def _any_of(preds: Sequence[Predicate]) -> Predicate:
    pred = preds[0]
    for other in preds[1:]:
        pred = _either(pred, other)
    return pred


def _both(a: Predicate, b: Predicate) -> Predicate:
    return lambda c: a(c) and b(c)


def _either(a: Predicate, b: Predicate) -> Predicate:
    return lambda c: a(c) or b(c)


def _term_matcher(kind: str, value: str) -> Callable[[str], bool]:
    """A test on one term string for a term atom (exact, +NEG, +ANY, glob, regex, quoted)."""
    if kind == "regex":
        rx = re.compile(value[1:-1])
        return lambda t: rx.search(t) is not None
    if kind == "quoted":
        q_end = value.rindex('"')
        value = value[1:q_end] + value[q_end + 1 :]
    elif kind != "word":
        raise InvalidInput(f"expected a term, got {value!r}")
    any_neg = value.endswith("+ANY")
    if any_neg:
        value = value[:-4]
    want_neg = value.endswith(NEG)
    if want_neg:
        value = value[: -len(NEG)]
    value = _nfkc(value)
    if value.isascii():
        value = value.lower()
    if any(ch in value for ch in "*?["):
        rx = re.compile(fnmatch.translate(value))
        if any_neg:
            return lambda t: rx.match(t[: -len(NEG)] if t.endswith(NEG) else t) is not None
        if want_neg:
            return lambda t: t.endswith(NEG) and rx.match(t[: -len(NEG)]) is not None
        return lambda t: not t.endswith(NEG) and rx.match(t) is not None
    if any_neg:
        return lambda t: t == value or t == value + NEG
    target = value + NEG if want_neg else value
    return lambda t: t == target


def _exact_term(kind: str, value: str) -> str | None:
    """The kizuna term an atom names exactly (``使いやすい``, ``使いやすい+NEG``), or None for globs etc."""
    if kind != "word" or any(ch in value for ch in "*?[") or value.endswith("+ANY"):
        return None
    term = _nfkc(value)
    if term.endswith(NEG):
        return (term[: -len(NEG)].lower() if term.isascii() else term[: -len(NEG)]) + NEG
    return term.lower() if term.isascii() else term


def _atom_key(kind: str, value: str, matcher: Callable[[str], bool], table: _AtomTable | None) -> Required:
    exact = _exact_term(kind, value)
    if exact is not None:
        return frozenset((exact,))
    return frozenset((table.add(matcher),)) if table is not None else None


class _ExactTerm:
    """Predicate: the exact term occurs (kept as a class so that OR-lists of terms can be fused)."""

    __slots__ = ("term",)

    def __init__(self, term: str) -> None:
        self.term = term

    def __call__(self, c: RuleContext) -> bool:
        return self.term in c.terms


class _AtomHit:
    """Predicate: some term matches glob/regex atom ``atom`` of the rule set's :class:`_AtomTable`."""

    __slots__ = ("atom",)

    def __init__(self, atom: int) -> None:
        self.atom = atom

    def __call__(self, c: RuleContext) -> bool:
        return self.atom in c.atom_hits


def _term_predicate(kind: str, value: str, table: _AtomTable | None = None) -> tuple[Predicate, Required]:
    if kind == "word":
        if value == "NEG":
            return (lambda c: any(t.endswith(NEG) for t in c.terms)), None
        if value.startswith("@"):
            flag = value[1:].lower()
            if flag in ("ja", "en"):
                return (lambda c: c.doc.language == flag), None
            if flag.startswith("text_"):
                label = flag[5:]
                return (lambda c: c.text_label == label), None
            if flag not in ("request", "positive", "negative", "neutral"):
                raise InvalidInput(f"unknown flag {value!r}; use @request, @positive, @negative, @neutral, @ja, @en")
            return (lambda c: flag in c.sentence_labels), None
        exact = _exact_term(kind, value)
        if exact is not None:
            return _ExactTerm(exact), frozenset((exact,))
    raw = _term_matcher(kind, value)
    if table is not None:
        atom = table.add(raw)
        return _AtomHit(atom), frozenset((atom,))
    memo: dict[str, bool] = {}  # terms repeat across texts: each glob/regex runs once per distinct term

    def match(t: str) -> bool:
        hit = memo.get(t)
        if hit is None:
            hit = memo[t] = raw(t)
        return hit

    return (lambda c: any(match(t) for t in c.terms)), None


def _nfkc(value: str) -> str:
    # rule terms are written as kizuna terms (Sudachi lemmas such as 出来る), so only NFKC applies, not the
    # spelling-variant table of the text normaliser
    return unicodedata.normalize("NFKC", value).strip()


def parse_rule(expression: str) -> Predicate:
    """Compile one rule expression into a predicate over :class:`RuleContext` (raises :class:`InvalidInput`)."""
    return _Parser(str(expression)).parse()[0]


# ----------------------------------------------------------------------------------------------- codes
@dataclass
class Code:
    """One code: ``name`` (machine name), ``label`` (for people), ``rule`` (expression) and its predicate."""

    name: str
    rule: str
    label: str = ""
    predicate: Predicate = field(init=False, repr=False)

    def __post_init__(self) -> None:
        try:
            self.predicate = parse_rule(self.rule)
        except InvalidInput as exc:
            raise InvalidInput(f"code {self.name!r}: {exc}", code=self.name) from exc


@dataclass
class CodingRules:
    """An ordered list of codes for one language; the first matching code is a text's rule label."""

    codes: list[Code]
    language: str | None = None
    default: str = "other"

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> CodingRules:
        codes_data = data.get("codes")
        if not isinstance(codes_data, (list, dict)):
            raise InvalidInput("a rules file needs a 'codes' list of {name, rule[, label]}")
        items = (
            [{"name": k, **(v if isinstance(v, dict) else {"rule": v})} for k, v in codes_data.items()]
            if isinstance(codes_data, dict)
            else codes_data
        )
        codes = []
        for i, item in enumerate(items):
            if not isinstance(item, dict) or "name" not in item or "rule" not in item:
                raise InvalidInput(f"code #{i + 1} needs 'name' and 'rule'", row=i + 1)
            rule = item["rule"]
            if isinstance(rule, list):  # a list of alternatives reads as OR
                rule = " | ".join(f"({r})" for r in rule)
            codes.append(Code(name=str(item["name"]), rule=str(rule), label=str(item.get("label", ""))))
        return cls(codes=codes, language=data.get("language"), default=str(data.get("default", "other")))

    @classmethod
    def from_yaml(cls, source: str | Path) -> CodingRules:
        """Load rules from a YAML file path, or from YAML text if ``source`` contains a newline."""
        text = source if isinstance(source, str) and "\n" in source else Path(source).read_text(encoding="utf-8")
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise InvalidInput(f"rules YAML cannot be read: {exc}") from exc
        if not isinstance(data, dict):
            raise InvalidInput("a rules file must be a mapping with a 'codes' list")
        return cls.from_mapping(data)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.codes]

    def matches(self, ctx: RuleContext) -> list[str]:
        """Names of the codes whose rule holds for ``ctx``, in priority order.

        Only what can fire is evaluated: each code's rule is compiled once against an atom table, split into its
        top-level alternatives, and each alternative is indexed by the terms (or glob atoms) it needs, so a text
        looks up its own terms and runs only the alternatives they can make true.
        """
        return self._index().matches(ctx)

    def _index(self) -> _RuleIndex:
        key = tuple((c.name, c.rule) for c in self.codes)
        cached: _RuleIndex | None = self.__dict__.get("_rule_index")
        if cached is None or cached.key != key:
            cached = _RuleIndex.build(key)
            self.__dict__["_rule_index"] = cached
        return cached


_NO_KEYS: tuple[tuple[int, ...], tuple[int, ...]] = ((), ())


@dataclass
class _RuleIndex:
    """Codes compiled against one atom table as their top-level alternatives (``a | b | ...``, numbered in code
    order), and which alternatives each term / atom can make true."""

    key: tuple[tuple[str, str], ...]
    table: _AtomTable
    names: list[str]
    alternatives: list[tuple[int, Predicate]]  # (code number, predicate)
    by_key: dict[str | int, list[int]]
    always: list[int]  # alternatives no term narrows (evaluated for every text)
    #: term -> (the glob/regex atoms it matches, the alternatives it or those atoms can make true), memoised
    by_term: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = field(default_factory=dict)
    MAX_TERMS = 500_000

    def matches(self, ctx: RuleContext) -> list[str]:
        """See :meth:`CodingRules.matches`; fills ``ctx.atom_hits``."""
        by_term = self.by_term
        atom_hits: set[int] = set()
        candidates = set(self.always)
        for t in ctx.terms:
            hit = by_term.get(t)
            if hit is None:
                hit = self._term_keys(t)
            if hit is not _NO_KEYS:
                atom_hits.update(hit[0])
                candidates.update(hit[1])
        ctx.atom_hits = atom_hits
        alternatives = self.alternatives
        matched: list[str] = []
        last = -1  # the code that matched last: its remaining alternatives need no evaluation
        for a in sorted(candidates):
            code, pred = alternatives[a]
            if code != last and pred(ctx):
                matched.append(self.names[code])
                last = code
        return matched

    def _term_keys(self, term: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
        if len(self.by_term) >= self.MAX_TERMS:
            self.by_term.clear()
        atoms = self.table.hits((term,))
        fired: set[int] = set(self.by_key.get(term, ()))
        for a in atoms:
            fired.update(self.by_key.get(a, ()))
        keys = (tuple(sorted(atoms)), tuple(sorted(fired))) if atoms or fired else _NO_KEYS
        self.by_term[term] = keys
        return keys

    @classmethod
    def build(cls, key: tuple[tuple[str, str], ...]) -> _RuleIndex:
        table = _AtomTable()
        alternatives: list[tuple[int, Predicate]] = []
        by_key: dict[str | int, list[int]] = {}
        always: list[int] = []
        for code, (_, rule) in enumerate(key):
            for pred, required in _Parser(rule, table).alternatives():
                a = len(alternatives)
                alternatives.append((code, pred))
                if required is None:
                    always.append(a)
                else:
                    for k in required:
                        by_key.setdefault(k, []).append(a)
        names = [name for name, _ in key]
        return cls(key=key, table=table, names=names, alternatives=alternatives, by_key=by_key, always=always)


def default_rules(language: str = "ja") -> CodingRules:
    """kizuna's shipped coding rules for ``"ja"`` or ``"en"`` (``rules/default_<language>.yaml``)."""
    if language not in ("ja", "en"):
        raise InvalidInput(f"no default rules for language {language!r}; use 'ja' or 'en'")
    text = resources.files("kizuna.analytics.text").joinpath(f"rules/default_{language}.yaml").read_text("utf-8")
    return CodingRules.from_yaml(text)


def _rules_for(rules: CodingRules | Mapping[str, CodingRules] | None) -> Mapping[str, CodingRules]:
    if rules is None:
        return {"ja": default_rules("ja"), "en": default_rules("en")}
    if isinstance(rules, CodingRules):
        return {rules.language or "*": rules}
    return rules


def rule_rows(
    corpus: Corpus, by_lang: Mapping[str, CodingRules], scorer: SentimentScorer
) -> list[tuple[str, tuple[str, ...], frozenset[str]]]:
    """``(rule_label, codes, sentence_labels)`` of each text (see :func:`apply_rules`), without building a frame:
    the classifier reads them directly."""
    # each language's rules, compiled once for the whole corpus: (index or None, default label)
    rules_of: dict[str, tuple[_RuleIndex | None, str]] = {}
    rows: list[tuple[str, tuple[str, ...], frozenset[str]]] = []
    with gc_paused():
        for doc in corpus.texts:
            found = rules_of.get(doc.language)
            if found is None:
                chosen = by_lang.get(doc.language) or by_lang.get("*")
                if chosen is None and doc.language == "und":
                    chosen = by_lang.get("en")
                found = (chosen._index(), chosen.default) if chosen is not None else (None, "other")
                rules_of[doc.language] = found
            index, default = found
            ctx = RuleContext.of(doc, scorer)
            hits = index.matches(ctx) if index is not None else []
            rows.append((hits[0] if hits else default, tuple(hits), ctx.sentence_labels))
    return rows


def apply_rules(
    corpus: Corpus,
    rules: CodingRules | Mapping[str, CodingRules] | None = None,
    *,
    scorer: SentimentScorer | None = None,
) -> pd.DataFrame:
    """Apply coding rules to every text.

    ``rules`` is one :class:`CodingRules` (applied to texts of its ``language``, or to all if it has none), a
    mapping of language to rules, or ``None`` for the shipped ja and en defaults. Returns one row per text:
    ``doc_id``, ``rule_label`` (first matching code, else the rules' ``default``), ``codes`` (all matching
    codes, a tuple), ``sentence_labels`` (the set of sentence sentiment labels) and one boolean column per code.
    """
    by_lang = _rules_for(rules)
    all_codes: list[str] = []
    for r in by_lang.values():
        for name in r.names:
            if name not in all_codes:
                all_codes.append(name)
    rows = rule_rows(corpus, by_lang, scorer or SentimentScorer())
    out = pd.DataFrame(rows, columns=["rule_label", "codes", "sentence_labels"])
    out.insert(0, "doc_id", corpus.doc_ids)
    codes = [row[1] for row in rows]
    for name in all_codes:
        out[name] = [name in h for h in codes]
    return out


def rule_hit_matrix(table: pd.DataFrame, names: Sequence[str]) -> Iterable[list[float]]:
    """Rows of 0/1 per code name (for the supervised model's rule features)."""
    for codes in table["codes"]:
        yield [1.0 if n in codes else 0.0 for n in names]
