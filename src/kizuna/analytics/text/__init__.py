"""VoC text mining, Japanese first: a pure library (data frames in, tidy frames out). See docs/voc.md.

Typical use::

    from kizuna.analytics.text.classify import VocClassifier
    from kizuna.analytics.text.corpus import Corpus
    from kizuna.analytics.text.frequency import term_frequency
    from kizuna.analytics.text.sentiment import text_sentiment
    from kizuna.analytics.text.tokenize import TextAnalyzer

    corpus = Corpus.from_frame(notes, text="text", doc_id="text_id",
                               analyzer=TextAnalyzer(user_dictionary=["kizunaアナリティクス"]))
    term_frequency(corpus, by="channel")
    text_sentiment(corpus)
    VocClassifier().fit(labelled_corpus, labels).predict(corpus)

Each piece is imported from its own module (``kizuna.analytics.text.tokenize``, ``.frequency``, ``.classify``, ...):
the package re-exports nothing, so a page that only tokenises (knowledge-base search) or searches in context (KWIC)
loads neither scikit-learn nor networkx, and no name is resolved from a string.
"""
