"""The VoC analyses of the demo company or your own: each reads the filtered entries and returns a frame.

Every function takes ``session`` first and keyword arguments after it (``where`` is a
:class:`kizuna.voc.service.VocFilter`); the CLI (``kizuna voc …``) and the web app call these.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd
from sqlalchemy.orm import Session

from kizuna.errors import InvalidInput
from kizuna.voc.service import VocFilter, account_facts, fit_classifier, load_corpus

if TYPE_CHECKING:
    from kizuna.analytics.text.classify import VocClassifier
    from kizuna.analytics.text.corpus import Corpus

#: group columns accepted by ``by=`` (metadata of the corpus)
GROUPS = ("channel", "segment", "plan", "period", "month", "industry", "churned", "nps_group", "language")
#: ``chars --by`` names and the corpus column they read
CHAR_GROUPS = {
    "churned": "churned",
    "nps": "nps_group",
    "plan": "plan",
    "industry": "industry",
    "segment": "segment",
    "channel": "channel",
}


def _by(by: str | None) -> str | None:
    if by is not None and by not in GROUPS:
        raise InvalidInput(f"cannot group by {by!r}; use one of {', '.join(GROUPS)}", value=by)
    return by


def _nonempty(corpus: Any) -> Any:
    if len(corpus) == 0:
        raise InvalidInput("no VoC entries match the filters")
    return corpus


def word_frequency(
    session: Session, *, where: VocFilter | None = None, by: str | None = None, min_df: int = 2, top: int | None = 50
) -> pd.DataFrame:
    """Term and document frequency, overall or ``by`` channel / segment / plan / period …: ``[group,] term, tf,
    df, df_share`` (top ``top`` per group)."""
    from kizuna.analytics.text.frequency import term_frequency

    corpus = _nonempty(load_corpus(session, where=where))
    out = term_frequency(corpus, by=_by(by), min_df=min_df)
    if top is not None:
        out = out.groupby("group", sort=True).head(top) if by is not None else out.head(top)
    return out.reset_index(drop=True)


def emerging(
    session: Session,
    *,
    where: VocFilter | None = None,
    period: str = "period",
    min_df: int = 3,
    current: str | None = None,
    previous: str | None = None,
) -> pd.DataFrame:
    """Terms rising in the last period (quarter by default; ``period="month"``) against the one before."""
    from kizuna.analytics.text.frequency import emerging_terms

    corpus = _nonempty(load_corpus(session, where=where))
    return emerging_terms(corpus, period=period, current=current, previous=previous, min_df=min_df)


def concordance(
    session: Session, *, term: str, where: VocFilter | None = None, width: int = 20, collocates: bool = False
) -> pd.DataFrame:
    """KWIC lines of ``term`` (``doc_id, sentence_no, left, keyword, right, negated, term``), or with
    ``collocates`` its collocations."""
    from kizuna.analytics.text.frequency import collocations, kwic

    corpus = _nonempty(load_corpus(session, where=where))
    if collocates:
        return collocations(corpus, term)
    return kwic(corpus, term, width=width)


def network(
    session: Session, *, where: VocFilter | None = None, min_df: int = 3, top_n_edges: int = 60, part: str = "edges"
) -> pd.DataFrame:
    """Co-occurrence network: its ``edges`` (source, target, cooccurrence, jaccard) or ``nodes`` (term, df,
    community, degree, centralities)."""
    from kizuna.analytics.text.structure import cooccurrence_network

    net = cooccurrence_network(_nonempty(load_corpus(session, where=where)), min_df=min_df, top_n_edges=top_n_edges)
    if part not in ("edges", "nodes"):
        raise InvalidInput(f"part must be 'edges' or 'nodes', got {part!r}")
    return net.edges if part == "edges" else net.nodes


def characteristic(
    session: Session,
    *,
    by: str,
    where: VocFilter | None = None,
    top_n: int = 15,
    min_df: int = 2,
    statistic: str = "log_likelihood",
) -> pd.DataFrame:
    """Characteristic words per group: ``by`` is churned, nps, plan, industry, segment or channel."""
    from kizuna.analytics.text.frequency import characteristic_words

    column = CHAR_GROUPS.get(by)
    if column is None:
        raise InvalidInput(f"chars --by must be one of {', '.join(CHAR_GROUPS)}, got {by!r}", value=by)
    corpus = _nonempty(load_corpus(session, where=where))
    keep = corpus.docs[column].notna().to_numpy()
    corpus = _nonempty(corpus.subset(keep))
    groups = corpus.docs[column].map(lambda v: ("churned" if v else "retained") if column == "churned" else v)
    return characteristic_words(corpus, by=groups.astype(str), top_n=top_n, min_df=min_df, statistic=statistic)


def correspondence(
    session: Session, *, by: str = "channel", where: VocFilter | None = None, top_terms: int = 40, min_df: int = 3
) -> pd.DataFrame:
    """Correspondence analysis of terms × groups: ``kind`` (term / group), ``label``, principal coordinates
    ``dim1, dim2``, ``mass`` and each dimension's share of the inertia (``dim1_share``, ``dim2_share``)."""
    from kizuna.analytics.text.frequency import correspondence_analysis

    corpus = _nonempty(load_corpus(session, where=where))
    column = CHAR_GROUPS.get(by, by)
    _by(column)
    keep = corpus.docs[column].notna().to_numpy()
    corpus = corpus.subset(keep)
    ca = correspondence_analysis(corpus, by=corpus.docs[column].astype(str), top_terms=top_terms, min_df=min_df)
    rows = ca.rows.rename_axis("label").reset_index().assign(kind="term")
    cols = ca.columns.rename_axis("label").reset_index().assign(kind="group")
    out = pd.concat([rows, cols], ignore_index=True)
    out["label"] = out["label"].astype(str)
    for dim, share in zip(ca.inertia["dimension"], ca.inertia["share"], strict=True):
        if dim in out.columns:
            out[f"{dim}_share"] = float(share)
    return out[["kind", "label", *[c for c in out.columns if c not in ("kind", "label")]]]
    return out


def topics(session: Session, *, n_topics: int, where: VocFilter | None = None, top_n: int = 8) -> pd.DataFrame:
    """NMF topics: ``topic, rank, term, weight`` for ``n_topics`` topics."""
    from kizuna.analytics.text.structure import nmf_topics

    return nmf_topics(_nonempty(load_corpus(session, where=where)), n_topics, top_n=top_n).terms


def word_clusters(
    session: Session, *, n_clusters: int = 8, where: VocFilter | None = None, top_terms: int = 60
) -> pd.DataFrame:
    """Hierarchical clustering of frequent words: ``term, df, cluster``."""
    from kizuna.analytics.text.structure import cluster_words

    return cluster_words(
        _nonempty(load_corpus(session, where=where)), n_clusters=n_clusters, top_terms=top_terms
    ).labels


def sentiment(session: Session, *, where: VocFilter | None = None, per: str = "text") -> pd.DataFrame:
    """Sentiment per text (``doc_id, label, score, …`` with channel, account and date; ``label`` is the sentiment
    model's, as stored by the refresh, ``lexicon_label`` the lexicon's) or per sentence (the lexicon's)."""
    from kizuna.analytics.text.sentiment import sentence_sentiment, text_sentiment

    corpus = _nonempty(load_corpus(session, where=where))
    if per == "sentence":
        return sentence_sentiment(corpus)
    if per != "text":
        raise InvalidInput(f"per must be 'text' or 'sentence', got {per!r}")
    classifier, _ = fit_classifier(session)
    lexicon = text_sentiment(corpus, scorer=classifier.scorer).rename(columns={"label": "lexicon_label"})
    model = classifier.predict_sentiment(corpus)[["doc_id", "label", "confidence"]]
    meta = corpus.docs[["doc_id", "channel", "account_id", "date"]]
    return meta.merge(model, on="doc_id").merge(lexicon, on="doc_id")


def classify(session: Session, *, where: VocFilter | None = None, policy: str = "model_first") -> pd.DataFrame:
    """Category of every text (rules + the model trained on shipped texts and the team's labels):
    ``doc_id, category, confidence, source, rule_label, codes`` plus channel, account and date."""
    corpus = _nonempty(load_corpus(session, where=where))
    classifier, _ = fit_classifier(session, policy=policy)
    meta = corpus.docs[["doc_id", "channel", "account_id", "date"]]
    return meta.merge(classifier.predict(corpus), on="doc_id")


def requests(
    session: Session, *, where: VocFilter | None = None, n_themes: int | None = None, examples: int = 2
) -> pd.DataFrame:
    """Feature-request themes ranked by the accounts that ask and their ARR (integer minor units):
    ``theme, label, n_texts, n_accounts, arr_minor, currency, examples`` (a few texts behind the theme) and
    ``text_ids`` (all of them)."""
    from kizuna.analytics.text.outcomes import feature_request_themes, rank_themes

    corpus = _nonempty(load_corpus(session, where=where))
    classifier, _ = fit_classifier(session)
    categories = classifier.predict(corpus)["category"]
    themes = feature_request_themes(corpus, categories, n_themes=n_themes)
    texts = corpus.docs[["doc_id", "account_id"]].rename(columns={"doc_id": "text_id"})
    facts = account_facts(session)
    ranked = rank_themes(themes, texts, facts[["account_id", "arr_minor"]].rename(columns={"arr_minor": "arr"}))
    text_of = dict(zip(corpus.doc_ids, (t.text for t in corpus.texts), strict=True))
    ranked["examples"] = [[text_of[i] for i in ids[:examples]] for ids in ranked["text_ids"]]
    currencies = facts["currency"].dropna().unique()
    ranked = ranked.rename(columns={"arr": "arr_minor"})
    ranked.insert(
        ranked.columns.get_loc("arr_minor") + 1,
        "currency",
        currencies[0] if len(currencies) == 1 else ",".join(sorted(currencies)),
    )
    return ranked


def lift(
    session: Session,
    *,
    where: VocFilter | None = None,
    window_days: int = 180,
    min_accounts: int = 3,
    terms: bool = True,
    top_terms: int = 200,
) -> pd.DataFrame:
    """Which reasons (``category:…``) and terms (``term:…``) precede churn: ``feature, n_accounts, n_churned,
    churn_rate, base_rate, lift``."""
    from kizuna.analytics.text.outcomes import churn_lift

    corpus = _nonempty(load_corpus(session, where=where))
    classifier, _ = fit_classifier(session)
    categories = classifier.predict(corpus)["category"].to_numpy()
    docs = corpus.docs
    rows = []
    frequent: set[str] | None = None
    if terms:
        from kizuna.analytics.text.frequency import term_frequency

        frequent = set(term_frequency(corpus, min_df=min_accounts)["term"].head(top_terms))
    for i, doc in enumerate(corpus.texts):
        account = docs["account_id"].iat[i]
        if pd.isna(account):
            continue
        date = docs["recorded_at"].iat[i]
        rows.append((int(account), date, f"category:{categories[i]}"))
        if frequent is not None:
            rows.extend((int(account), date, f"term:{t}") for t in set(doc.terms) if t in frequent)
    mentions = pd.DataFrame(rows, columns=["account_id", "date", "feature"])
    if mentions.empty:
        raise InvalidInput("no VoC entries tied to accounts match the filters")
    facts = account_facts(session)
    return churn_lift(mentions, facts[["account_id", "churned_at"]], window_days=window_days, min_accounts=min_accounts)


def _sentiment_reports(classifier: VocClassifier, corpus: Corpus, labelled: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Per-class reports of the sentiment model and of the lexicon alone, where ``labelled`` has sentiment."""
    from kizuna.analytics.text.classify import SENTIMENT_LABELS, per_class_report

    if "sentiment" not in labelled.columns:
        return {}
    known = labelled["sentiment"].notna().to_numpy()
    truth = labelled["sentiment"][known].astype(str).tolist()
    predicted = classifier.predict_sentiment(corpus)
    lexicon = [classifier.scorer.score_text(doc)[0] for doc in corpus.texts]
    return {
        "sentiment": per_class_report(truth, predicted["label"][known], classes=SENTIMENT_LABELS),
        "sentiment_lexicon": per_class_report(
            truth, [p for p, k in zip(lexicon, known, strict=True) if k], classes=SENTIMENT_LABELS
        ),
    }


def evaluate(session: Session, *, labelled: pd.DataFrame | None = None, n_splits: int = 3) -> pd.DataFrame:
    """Per-class precision / recall / F1 of the classifier.

    With ``labelled`` (``text, category`` and optionally ``sentiment``): the classifier trained on the shipped texts
    and the team's labels, measured on those texts (rules, combined; with a sentiment column also ``sentiment``,
    the sentiment model, and ``sentiment_lexicon``, the lexicon alone, per sentiment class). Without: stratified
    cross-validation over the training set (shipped texts + team labels).
    Returns ``variant, class, precision, recall, f1, support``.
    """
    from kizuna.analytics.text.classify import cross_validate_classifier, per_class_report
    from kizuna.analytics.text.coding import apply_rules
    from kizuna.analytics.text.corpus import Corpus
    from kizuna.voc.service import training_set

    if labelled is not None:
        missing = [c for c in ("text", "category") if c not in labelled.columns]
        if missing:
            raise InvalidInput(f"labelled file is missing column(s) {missing}", missing=missing)
        corpus = Corpus.from_frame(labelled[["text"]].reset_index(drop=True))
        classifier, _ = fit_classifier(session)
        y = labelled["category"].astype(str).tolist()
        reports = {
            "rules": per_class_report(y, apply_rules(corpus)["rule_label"]),
            "combined": per_class_report(y, classifier.predict(corpus)["category"]),
            **_sentiment_reports(classifier, corpus, labelled),
        }
    else:
        training = training_set(session)
        corpus = Corpus.from_frame(training[["text"]])
        counts = training["category"].value_counts()
        folds = max(2, min(n_splits, int(counts.min())))
        result = cross_validate_classifier(corpus, training["category"].tolist(), n_splits=folds)
        reports = {k: result[k] for k in ("rules", "model", "combined")}
    return pd.concat([r.assign(variant=k) for k, r in reports.items()], ignore_index=True)[
        ["variant", "class", "precision", "recall", "f1", "support"]
    ]
