"""VoC text mining, Japanese first: a pure library (data frames in, tidy frames out). See docs/voc.md.

Typical use::

    from kizuna.analytics.text import Corpus, TextAnalyzer, VocClassifier, term_frequency, text_sentiment

    corpus = Corpus.from_frame(notes, text="text", doc_id="text_id",
                               analyzer=TextAnalyzer(user_dictionary=["kizunaアナリティクス"]))
    term_frequency(corpus, by="channel")
    text_sentiment(corpus)
    VocClassifier().fit(labelled_corpus, labels).predict(corpus)
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kizuna.analytics.text.classify import CATEGORIES, VocClassifier, cross_validate_classifier, per_class_report
    from kizuna.analytics.text.coding import CodingRules, apply_rules, default_rules, parse_rule
    from kizuna.analytics.text.corpus import Corpus
    from kizuna.analytics.text.frequency import (
        CorrespondenceAnalysis,
        characteristic_words,
        collocations,
        correspondence_analysis,
        correspondence_analysis_table,
        emerging_terms,
        kwic,
        log_likelihood_2x2,
        term_frequency,
    )
    from kizuna.analytics.text.normalize import detect_language, normalize_text, split_sentences
    from kizuna.analytics.text.outcomes import (
        Themes,
        account_voc_sentiment,
        churn_lift,
        feature_request_themes,
        rank_themes,
    )
    from kizuna.analytics.text.sentiment import SentimentScorer, sentence_sentiment, term_polarity, text_sentiment
    from kizuna.analytics.text.structure import (
        CooccurrenceNetwork,
        Topics,
        WordClusters,
        cluster_words,
        cooccurrence_network,
        nmf_topics,
    )
    from kizuna.analytics.text.tokenize import AnalyzedText, Sentence, TextAnalyzer, UserDictionary

# Each name is imported from its module when first used: a page that only tokenises (knowledge-base search) or
# searches in context (KWIC) need not load scikit-learn, networkx and SciPy's statistics with the classifier and
# the network, seconds on a busy machine.
_MODULE_OF = {
    "AnalyzedText": "tokenize",
    "CATEGORIES": "classify",
    "CodingRules": "coding",
    "CooccurrenceNetwork": "structure",
    "Corpus": "corpus",
    "CorrespondenceAnalysis": "frequency",
    "Sentence": "tokenize",
    "SentimentScorer": "sentiment",
    "TextAnalyzer": "tokenize",
    "Themes": "outcomes",
    "Topics": "structure",
    "UserDictionary": "tokenize",
    "VocClassifier": "classify",
    "WordClusters": "structure",
    "account_voc_sentiment": "outcomes",
    "apply_rules": "coding",
    "characteristic_words": "frequency",
    "churn_lift": "outcomes",
    "cluster_words": "structure",
    "collocations": "frequency",
    "cooccurrence_network": "structure",
    "correspondence_analysis": "frequency",
    "correspondence_analysis_table": "frequency",
    "cross_validate_classifier": "classify",
    "default_rules": "coding",
    "detect_language": "normalize",
    "emerging_terms": "frequency",
    "feature_request_themes": "outcomes",
    "kwic": "frequency",
    "log_likelihood_2x2": "frequency",
    "nmf_topics": "structure",
    "normalize_text": "normalize",
    "parse_rule": "coding",
    "per_class_report": "classify",
    "rank_themes": "outcomes",
    "sentence_sentiment": "sentiment",
    "split_sentences": "normalize",
    "term_frequency": "frequency",
    "term_polarity": "sentiment",
    "text_sentiment": "sentiment",
}


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "CATEGORIES",
    "AnalyzedText",
    "CodingRules",
    "CooccurrenceNetwork",
    "Corpus",
    "CorrespondenceAnalysis",
    "Sentence",
    "SentimentScorer",
    "TextAnalyzer",
    "Themes",
    "Topics",
    "UserDictionary",
    "VocClassifier",
    "WordClusters",
    "account_voc_sentiment",
    "apply_rules",
    "characteristic_words",
    "churn_lift",
    "cluster_words",
    "collocations",
    "cooccurrence_network",
    "correspondence_analysis",
    "correspondence_analysis_table",
    "cross_validate_classifier",
    "default_rules",
    "detect_language",
    "emerging_terms",
    "feature_request_themes",
    "kwic",
    "log_likelihood_2x2",
    "nmf_topics",
    "normalize_text",
    "parse_rule",
    "per_class_report",
    "rank_themes",
    "sentence_sentiment",
    "split_sentences",
    "term_frequency",
    "term_polarity",
    "text_sentiment",
]
