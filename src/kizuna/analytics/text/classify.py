"""Classification of VoC texts into churn reasons, feature requests, praise and other.

Two parts, one policy:

* **Coding rules** (:mod:`kizuna.analytics.text.coding`): editable YAML, shipped for ja and en. They work
  without any labels.
* **A supervised model** that learns from the labels the team gives: TF-IDF over kizuna terms (with ``+NEG``
  markers, so 使いやすい and 使いやすい+NEG are different features) plus one feature per rule code that fired
  plus the sentence-sentiment flags, into a class-balanced logistic regression (its probabilities are
  calibrated by construction of the log-loss; see the per-class figures in docs/voc.md).

Combination policy (``VocClassifier.predict``):

1. No model fitted (no labels yet): the rule label.
2. Model fitted: the rules are *features* of the model, so it learns how far to trust each code; its
   top class is the answer, unless its probability is below ``min_confidence`` and a rule fired — then the
   first matching rule code wins (a confident rule beats an unsure model).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from kizuna.analytics.text._errors import InvalidInput
from kizuna.analytics.text.coding import CodingRules, _rules_for, apply_rules, rule_rows
from kizuna.analytics.text.corpus import Corpus
from kizuna.analytics.text.lexicon import NEG
from kizuna.analytics.text.sentiment import SentimentScorer
from kizuna.analytics.text.sudachi import gc_paused, synonym_groups

__all__ = ["CATEGORIES", "SENTIMENT_LABELS", "VocClassifier", "cross_validate_classifier", "per_class_report"]

#: the classes of the shipped rules and evaluation set, churn reasons first
CATEGORIES = (
    "results_not_achieved",
    "hard_to_use",
    "insufficient_support",
    "price_not_worth_it",
    "missing_features",
    "feature_request",
    "praise",
    "other",
)
#: the sentiment labels a text can have
SENTIMENT_LABELS = ("positive", "negative", "neutral", "request")


def _identity(x: Any) -> Any:
    return x


class VocClassifier:
    """Rules + supervised model for VoC categories (scikit-learn shape: ``fit`` returns self).

    Parameters
    ----------
    rules
        :class:`CodingRules`, a mapping of language to rules, or ``None`` for the shipped ja/en defaults.
    use_rules
        Give rule hits to the model as features and use them as fallback (``False`` for model-only).
    min_confidence
        Below this top-class probability a fired rule overrides the model (``policy="model_first"``).
    policy
        ``"model_first"``: the model decides unless unsure and a rule fired. ``"rules_first"``: a fired rule
        always decides and the model labels only what no rule covers (better while labels are few).
    C
        Inverse regularisation strength of the logistic regression.
    synonyms
        Add each term's Sudachi synonym groups as features (``syn:<id>``, ``syn:<id>+NEG`` when negated), a block of
        their own weighed by ``synonym_weight`` against the terms.
    char_ngrams
        ``(min, max)`` lengths of the character n-grams of the normalised text, or ``None`` for none.
    char_weight
        Weight of the character n-gram block against the term block (both are L2-normalised per text).
    random_state
        Seed for the solver (kept explicit for reproducibility).

    Fitted attributes: ``classes_``, ``vectorizer_``, ``synonym_vectorizer_``, ``char_vectorizer_``, ``model_``,
    ``rule_codes_``, and after a fit with sentiment labels ``sentiment_model_`` and ``sentiment_classes_``.
    """

    def __init__(
        self,
        *,
        rules: CodingRules | Mapping[str, CodingRules] | None = None,
        use_rules: bool = True,
        min_confidence: float = 0.5,
        C: float = 10.0,
        rule_weight: float = 1.0,
        policy: str = "model_first",
        synonyms: bool = True,
        synonym_weight: float = 0.5,
        char_ngrams: tuple[int, int] | None = (2, 3),
        char_weight: float = 1.0,
        random_state: int | None = 0,
    ) -> None:
        if policy not in ("model_first", "rules_first"):
            raise InvalidInput(f"policy must be 'model_first' or 'rules_first', got {policy!r}")
        self.policy = policy
        self.rules = _rules_for(rules)
        self.use_rules = use_rules
        self.min_confidence = min_confidence
        self.C = C
        self.rule_weight = rule_weight
        self.synonyms = synonyms
        self.synonym_weight = synonym_weight
        self.char_ngrams = char_ngrams
        self.char_weight = char_weight
        self.random_state = random_state
        self.scorer = SentimentScorer()
        self._synonym_features: dict[str, tuple[str, ...]] = {}

    # ------------------------------------------------------------------------------------------ features
    def _rule_table(self, corpus: Corpus) -> list[tuple[str, tuple[str, ...], frozenset[str]]]:
        """(rule label, codes, sentence labels) per text, as :func:`apply_rules` gives them (without its frame)."""
        return rule_rows(corpus, self.rules, self.scorer)

    def _features(
        self, corpus: Corpus, rule_table: list[tuple[str, tuple[str, ...], frozenset[str]]], *, fit: bool
    ) -> sparse.csr_matrix:
        with gc_paused():  # many small acyclic objects (see tokenize.gc_paused)
            return self._feature_matrix(corpus, rule_table, fit=fit)

    def _feature_matrix(
        self, corpus: Corpus, rule_table: list[tuple[str, tuple[str, ...], frozenset[str]]], *, fit: bool
    ) -> sparse.csr_matrix:
        docs = [t.terms for t in corpus.texts]  # read, not copied
        if fit:
            self.vectorizer_ = TfidfVectorizer(
                analyzer=_identity, sublinear_tf=True, min_df=1, norm="l2", token_pattern=None
            )
            x_terms = self.vectorizer_.fit_transform(docs)
        else:
            x_terms = self.vectorizer_.transform(docs)
        blocks = [x_terms]
        if self.synonyms:
            groups = [_synonym_features(t.terms, self._synonym_features) for t in corpus.texts]
            if fit:
                self.synonym_vectorizer_ = TfidfVectorizer(
                    analyzer=_identity, sublinear_tf=True, min_df=2, norm="l2", token_pattern=None
                )
                x_groups = self.synonym_vectorizer_.fit_transform(groups)
            else:
                x_groups = self.synonym_vectorizer_.transform(groups)
            blocks.append(x_groups * self.synonym_weight)
        if self.char_ngrams is not None:
            texts = [t.text.lower() for t in corpus.texts]
            if fit:
                self.char_vectorizer_ = TfidfVectorizer(
                    analyzer="char_wb", ngram_range=self.char_ngrams, sublinear_tf=True, min_df=2, norm="l2"
                )
                x_chars = self.char_vectorizer_.fit_transform(texts)
            else:
                x_chars = self.char_vectorizer_.transform(texts)
            blocks.append(x_chars * self.char_weight)
        if self.use_rules:
            # 0/1 per (text, rule code) and per (text, sentence label): set only where a code fired / a label occurs
            column = {c: j for j, c in enumerate(self.rule_codes_)}
            hits = np.zeros((len(corpus), len(column)))
            for i, (_, fired, _) in enumerate(rule_table):
                for c in fired:
                    j = column.get(c)
                    if j is not None:
                        hits[i, j] = 1.0
            flag_column = {"positive": 0, "negative": 1, "request": 2}
            flags = np.zeros((len(corpus), 3))
            for i, (_, _, labels) in enumerate(rule_table):
                for lab in labels:
                    j = flag_column.get(lab)
                    if j is not None:
                        flags[i, j] = 1.0
            blocks.append(sparse.csr_matrix(hits * self.rule_weight))
            blocks.append(sparse.csr_matrix(flags * 0.5))
        # the lexicon's polarity of the whole text (over Sudachi lemmas), squashed into [-1, 1], and its label
        polarity = np.zeros((len(corpus), 5))
        text_label = {"positive": 1, "negative": 2, "neutral": 3, "request": 4}
        for i, doc in enumerate(corpus.texts):
            label, score, _ = self.scorer.score_text(doc)
            polarity[i, 0] = np.tanh(score)
            polarity[i, text_label[label]] = 1.0
        blocks.append(sparse.csr_matrix(polarity * 0.5))
        return sparse.hstack(blocks).tocsr()

    # ------------------------------------------------------------------------------------------- fit
    def fit(
        self,
        corpus: Corpus,
        labels: Sequence[str] | pd.Series,
        sentiment: Sequence[str | None] | pd.Series | None = None,
    ) -> VocClassifier:
        """Learn from ``labels`` (one category per text of ``corpus``; missing labels are skipped) and, when
        ``sentiment`` is given (one of positive / negative / neutral / request per text, or missing), learn the
        texts' sentiment too."""
        y = pd.Series(list(labels), dtype="object")
        if len(y) != len(corpus):
            raise InvalidInput(f"got {len(y)} labels for {len(corpus)} texts")
        s = pd.Series([None] * len(y) if sentiment is None else list(sentiment), dtype="object")
        if len(s) != len(y):
            raise InvalidInput(f"got {len(s)} sentiment labels for {len(corpus)} texts")
        bad = sorted({str(v) for v in s.dropna() if v not in SENTIMENT_LABELS})
        if bad:
            raise InvalidInput(
                f"unknown sentiment label(s) {bad}; use one of {', '.join(SENTIMENT_LABELS)}", value=bad[0]
            )
        known = y.notna().to_numpy()
        if known.sum() < 2 or y[known].nunique() < 2:
            raise InvalidInput("the model needs labelled texts of at least two categories")
        if not known.all():
            corpus = corpus.subset(known)
            y = y[known].reset_index(drop=True)
            s = s[known].reset_index(drop=True)
        self.rule_codes_ = sorted({c for r in self.rules.values() for c in r.names})
        table = self._rule_table(corpus)
        x = self._features(corpus, table, fit=True)
        self.model_ = LogisticRegression(
            C=self.C, class_weight="balanced", max_iter=2000, random_state=self.random_state
        )
        self.model_.fit(x, y.astype(str).to_numpy())
        self.classes_ = list(self.model_.classes_)
        has_sentiment = s.notna().to_numpy()
        for stale in ("sentiment_model_", "sentiment_classes_"):  # a refit without sentiment labels forgets them
            self.__dict__.pop(stale, None)
        if has_sentiment.sum() >= 2 and s[has_sentiment].nunique() >= 2:
            self.sentiment_model_ = LogisticRegression(
                C=self.C, class_weight="balanced", max_iter=2000, random_state=self.random_state
            )
            self.sentiment_model_.fit(x[has_sentiment], s[has_sentiment].astype(str).to_numpy())
            self.sentiment_classes_ = list(self.sentiment_model_.classes_)
        return self

    @property
    def is_fitted(self) -> bool:
        return hasattr(self, "model_")

    # ------------------------------------------------------------------------------------ fitted state
    #: what :meth:`fitted_state` leaves out: the rules are callables (not picklable) and the rest are memos
    _NOT_STATE = ("rules", "scorer", "_synonym_features")

    def fitted_state(self) -> dict[str, Any]:
        """The parameters and fitted attributes (vectorisers, models), without the coding rules and the per-text
        memos: a picklable dict from which :meth:`from_fitted_state` rebuilds a classifier that predicts exactly
        as this one, given the same rules. For keeping a fitted model between processes."""
        if not self.is_fitted:
            raise InvalidInput("fitted_state needs a fitted model; call fit(corpus, labels) first")
        return {k: v for k, v in self.__dict__.items() if k not in self._NOT_STATE}

    @classmethod
    def from_fitted_state(
        cls, state: Mapping[str, Any], *, rules: CodingRules | Mapping[str, CodingRules] | None = None
    ) -> VocClassifier:
        """A classifier from :meth:`fitted_state` and the ``rules`` it was fitted with (``None``: the shipped ones)."""
        missing = [k for k in ("policy", "rule_codes_", "vectorizer_", "model_", "classes_") if k not in state]
        if missing:
            raise InvalidInput(f"not a fitted classifier's state: missing {', '.join(missing)}", missing=missing)
        clf = cls(rules=rules, policy=str(state["policy"]))
        clf.__dict__.update({k: v for k, v in state.items() if k not in cls._NOT_STATE})
        return clf

    # --------------------------------------------------------------------------------------- predict
    def predict_proba(self, corpus: Corpus) -> pd.DataFrame:
        """Class probabilities of the model: ``doc_id`` and one column per class."""
        if not self.is_fitted:
            raise InvalidInput("predict_proba needs a fitted model; call fit(corpus, labels) first")
        table = self._rule_table(corpus)
        proba = self.model_.predict_proba(self._features(corpus, table, fit=False))
        out = pd.DataFrame(proba, columns=self.classes_)
        out.insert(0, "doc_id", corpus.doc_ids)
        return out

    def predict_sentiment(self, corpus: Corpus) -> pd.DataFrame:
        """The sentiment of each text: ``doc_id``, ``label`` (positive / negative / neutral / request), ``score``
        (the lexicon's text score, whatever decided the label), ``confidence`` (the sentiment model's probability
        of ``label``; NaN when the lexicon decided) and ``source`` ("model", or "lexicon" when the classifier was
        fitted without sentiment labels)."""
        lexicon = [self.scorer.score_text(doc) for doc in corpus.texts]
        out = pd.DataFrame({"doc_id": corpus.doc_ids})
        out["score"] = [float(score) for _, score, _ in lexicon]
        if hasattr(self, "sentiment_model_"):
            table = self._rule_table(corpus)
            proba = self.sentiment_model_.predict_proba(self._features(corpus, table, fit=False))
            best = proba.argmax(axis=1)
            out.insert(1, "label", np.array(self.sentiment_classes_, dtype=object)[best])
            out["confidence"] = proba[np.arange(len(best)), best]
            out["source"] = "model"
        else:
            out.insert(1, "label", [label for label, _, _ in lexicon])
            out["confidence"] = np.nan
            out["source"] = "lexicon"
        return out

    def predict(self, corpus: Corpus) -> pd.DataFrame:
        """One row per text: ``doc_id``, ``category``, ``confidence`` (model probability, NaN for rules),
        ``source`` ("rule", "model" or "rule_override"), ``rule_label`` and ``codes`` (all rule codes that fired).
        """
        table = self._rule_table(corpus)
        rule_label = _objects([label for label, _, _ in table])
        codes = _objects([fired for _, fired, _ in table])
        out = pd.DataFrame({"doc_id": corpus.doc_ids})
        if not self.is_fitted:
            out["category"] = rule_label
            out["confidence"] = np.nan
            out["source"] = "rule"
        else:
            proba = self.model_.predict_proba(self._features(corpus, table, fit=False))
            best = proba.argmax(axis=1)
            category = np.array(self.classes_, dtype=object)[best]
            confidence = proba[np.arange(len(best)), best]
            source = np.full(len(best), "model", dtype=object)
            if self.use_rules:
                fired = np.array([len(c) > 0 for c in codes], dtype=bool)
                override = fired & (confidence < self.min_confidence if self.policy == "model_first" else True)
                category = np.where(override, rule_label, category)
                source = np.where(override, "rule_override", source)
            out["category"] = category
            out["confidence"] = confidence
            out["source"] = source
        out["rule_label"] = rule_label
        out["codes"] = codes
        return out


def _synonym_features(terms: list[str], cache: dict[str, tuple[str, ...]]) -> list[str]:
    """The Sudachi synonym groups of ``terms`` (``syn:<id>``, ``+NEG`` kept), one per group and term; ``cache``
    keeps each term's features (terms repeat across texts)."""
    out: list[str] = []
    for term in terms:
        features = cache.get(term)
        if features is None:
            negated = term.endswith(NEG)
            base = term[: -len(NEG)] if negated else term
            features = tuple(f"syn:{g}{NEG}" if negated else f"syn:{g}" for g in synonym_groups(base))
            if len(cache) < 500_000:
                cache[term] = features
        out.extend(features)
    return out


def _objects(values: list[Any]) -> np.ndarray:
    """A 1-d object array of ``values`` (tuples stay elements, as in a frame's object column)."""
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        out[i] = v
    return out


def per_class_report(
    y_true: Sequence[str] | np.ndarray, y_pred: Sequence[str] | np.ndarray, classes: Sequence[str] = CATEGORIES
) -> pd.DataFrame:
    """Precision, recall, F1 and support per class, plus ``macro`` and ``accuracy`` rows."""
    t = np.asarray(list(y_true), dtype=object)
    p = np.asarray(list(y_pred), dtype=object)
    rows = []
    for c in classes:
        tp = int(((t == c) & (p == c)).sum())
        fp = int(((t != c) & (p == c)).sum())
        fn = int(((t == c) & (p != c)).sum())
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        rows.append((c, prec, rec, f1, int((t == c).sum())))
    df = pd.DataFrame(rows, columns=["class", "precision", "recall", "f1", "support"])
    present = df[df["support"] > 0]
    macro = ("macro", present["precision"].mean(), present["recall"].mean(), present["f1"].mean(), len(t))
    acc = ("accuracy", np.nan, np.nan, float((t == p).mean()) if len(t) else 0.0, len(t))
    return pd.concat([df, pd.DataFrame([macro, acc], columns=df.columns)], ignore_index=True)


def cross_validate_classifier(
    corpus: Corpus,
    labels: Sequence[str],
    *,
    n_splits: int = 5,
    random_state: int = 0,
    rules: CodingRules | Mapping[str, CodingRules] | None = None,
    **params: Any,
) -> dict[str, pd.DataFrame]:
    """Stratified k-fold evaluation of ``rules`` only, ``model`` only and ``combined``.

    Returns a report frame (:func:`per_class_report`) per variant, and under ``"predictions"`` the out-of-fold
    predictions of each variant next to the true label.
    """
    y = np.asarray(list(labels), dtype=object)
    rule_pred = apply_rules(corpus, rules)["rule_label"].to_numpy()
    model_pred = np.empty(len(y), dtype=object)
    comb_pred = np.empty(len(y), dtype=object)
    folds = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=random_state)
    for train, test in folds.split(np.zeros(len(y)), y):
        c_train, c_test = corpus.subset(_mask(train, len(y))), corpus.subset(_mask(test, len(y)))
        model_only = VocClassifier(rules=rules, use_rules=False, random_state=random_state, **params)
        model_pred[test] = model_only.fit(c_train, y[train]).predict(c_test)["category"].to_numpy()
        combined = VocClassifier(rules=rules, use_rules=True, random_state=random_state, **params)
        comb_pred[test] = combined.fit(c_train, y[train]).predict(c_test)["category"].to_numpy()
    preds = pd.DataFrame(
        {"doc_id": corpus.doc_ids, "true": y, "rules": rule_pred, "model": model_pred, "combined": comb_pred}
    )
    return {
        "rules": per_class_report(y, rule_pred),
        "model": per_class_report(y, model_pred),
        "combined": per_class_report(y, comb_pred),
        "predictions": preds,
    }


def _mask(index: np.ndarray, n: int) -> np.ndarray:
    m = np.zeros(n, dtype=bool)
    m[index] = True
    return m
