"""VoC text mining, Japanese first: a pure library (data frames in, tidy frames out). See docs/voc.md.

Typical use::

    from kizuna.analytics.text import Corpus, TextAnalyzer, VocClassifier, term_frequency, text_sentiment

    corpus = Corpus.from_frame(notes, text="text", doc_id="text_id",
                               analyzer=TextAnalyzer(user_dictionary=["kizunaアナリティクス"]))
    term_frequency(corpus, by="channel")
    text_sentiment(corpus)
    VocClassifier().fit(labelled_corpus, labels).predict(corpus)
"""

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
