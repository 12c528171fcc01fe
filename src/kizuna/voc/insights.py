"""The VoC analyses the pages show, computed once per ``kizuna refresh`` and stored in ``voc_analyses``.

Reading and analysing every text (Sudachi, the document-term matrix, NMF, the network) takes seconds on a large
corpus; ``/voc/analytics`` did it per request (5-21 s on the 2,000-account demo). The refresh step calls
:func:`refresh_insights`, which analyses the corpus once and stores one JSON result per analysis; pages read them
with :func:`stored_insights`. Categories come from the stored per-entry analysis (``voc_text_analysis``), so a
label a person gave an entry (``voc_labels``) is what every analysis counts after the next refresh.

Only keyword-in-context search runs per request (:func:`keyword_in_context`): it analyses only the texts that
contain the word.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections import Counter
from typing import Any

import pandas as pd
from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from kizuna.accounts.models import Account
from kizuna.billing.models import Subscription
from kizuna.db import utcnow
from kizuna.errors import InvalidInput
from kizuna.voc.models import VocAnalysis, VocEntry, VocLabel, VocTextAnalysis
from kizuna.voc.service import account_facts, account_rows, load_corpus

log = logging.getLogger(__name__)

#: the groups characteristic words are stored for (``by=`` on the page) and the corpus column each reads
CHARACTERISTIC_GROUPS = {
    "churned": "churned",
    "nps": "nps_group",
    "plan": "plan",
    "industry": "industry",
    "segment": "segment",
    "channel": "channel",
}
#: categories that are reasons to leave (the classifier's other categories are praise, requests and other)
REASON_CATEGORIES = (
    "results_not_achieved",
    "hard_to_use",
    "insufficient_support",
    "price_not_worth_it",
    "missing_features",
)
#: a churned account's texts in this many days before its churn date say why it left
REASON_WINDOW_DAYS = 180
N_TOPICS = 6
#: about this many of the most frequent terms make the co-occurrence network (ties at the cut stay in)
NETWORK_TERMS = 400
SENTIMENT_MONTHS = 12


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-safe rows: numpy scalars as Python values, NaN as None."""
    rows: list[dict[str, Any]] = []
    for row in frame.to_dict("records"):
        clean: dict[str, Any] = {}
        for key, value in row.items():
            if hasattr(value, "item") and not isinstance(value, list | tuple):
                value = value.item()
            if isinstance(value, float) and not math.isfinite(value):
                value = None
            clean[str(key)] = value
        rows.append(clean)
    return rows


# ------------------------------------------------------------------------------------------------ computing
def compute_insights(session: Session, *, as_of: dt.date, analyzer: Any = None) -> dict[str, dict[str, Any]]:
    """Every stored analysis of the VoC page, by name: ``frequency``, ``network``, ``topics``, ``sentiment``,
    ``churn_reasons``, ``requests``, ``lift`` and ``characteristic`` (per group). Empty when there are no texts."""
    from kizuna.analytics.text.frequency import characteristic_words, term_frequency
    from kizuna.analytics.text.outcomes import churn_lift, feature_request_themes, rank_themes
    from kizuna.analytics.text.structure import cooccurrence_network, nmf_topics

    rows = account_rows(session)  # read once for the facts of today (the corpus's metadata) and of as_of
    corpus = load_corpus(session, analyzer=analyzer, rows=rows)
    if len(corpus) == 0:
        return {}
    stored = _stored_labels(session)
    category_of = dict(zip(stored["entry_id"], stored["category"], strict=True))
    categories = pd.Series([category_of.get(int(i), "other") for i in corpus.doc_ids])
    facts = account_facts(session, today=as_of, rows=rows)
    out: dict[str, dict[str, Any]] = {}

    frequency = term_frequency(corpus, min_df=2)
    out["frequency"] = {"rows": _records(frequency.head(60))}

    # the network's matrices are vocabulary²: on a large corpus keep its NETWORK_TERMS most frequent terms
    network_min_df = 3
    if len(frequency) > NETWORK_TERMS:
        network_min_df = max(3, int(frequency["df"].iloc[NETWORK_TERMS - 1]))
    net = cooccurrence_network(corpus, min_df=network_min_df, top_n_edges=60)
    linked = set(net.edges["source"]) | set(net.edges["target"])
    out["network"] = {  # the nodes the drawn edges join
        "nodes": _records(net.nodes.loc[net.nodes["term"].isin(linked), ["term", "df", "community", "degree"]]),
        "edges": _records(net.edges),
    }

    try:
        topics = nmf_topics(corpus, N_TOPICS, top_n=8)
        sizes = topics.doc_topics["topic"].value_counts()
        out["topics"] = {
            "topics": [
                {
                    "topic": int(k),
                    "terms": [str(t) for t in grp.sort_values("rank")["term"]],
                    "n_texts": int(sizes.get(k, 0)),
                }
                for k, grp in topics.terms.groupby("topic", sort=True)
            ]
        }
    except InvalidInput:
        out["topics"] = {"topics": []}

    out["sentiment"] = _sentiment(stored, as_of=as_of)
    out["churn_reasons"] = _churn_reasons(session, corpus.docs, categories, facts)

    themes = feature_request_themes(corpus, categories)
    texts = corpus.docs[["doc_id", "account_id"]].rename(columns={"doc_id": "text_id"})
    arr = facts[["account_id", "arr_minor"]].rename(columns={"arr_minor": "arr"})
    ranked = rank_themes(themes, texts, arr) if len(themes.themes) else pd.DataFrame()
    text_of = dict(zip(corpus.doc_ids, (t.text for t in corpus.texts), strict=True))
    account_of = dict(zip(corpus.doc_ids, corpus.docs["account_id"], strict=True))
    name_of = dict(zip(facts["account_id"], facts["account_name"], strict=True))
    arr_of = dict(zip(facts["account_id"], facts["arr_minor"], strict=True))
    requests: list[dict[str, Any]] = []
    for row in ranked.itertuples(index=False) if len(ranked) else ():
        ids = [int(i) for i in row.text_ids]
        asking = {int(a) for a in (account_of[i] for i in ids) if not pd.isna(a)}
        top_accounts = sorted(asking, key=lambda a: (-int(arr_of.get(a, 0)), a))[:5]
        requests.append(
            {
                "theme": int(row.theme),
                "label": str(row.label),
                "n_texts": int(row.n_texts),
                "n_accounts": int(row.n_accounts),
                "arr_minor": int(row.arr),
                "examples": [text_of[i] for i in ids[:3]],
                "accounts": [str(name_of.get(a, "")) for a in top_accounts],
            }
        )
    # product weighs a request by the revenue behind it: the ARR of the accounts that ask, then how many ask
    requests.sort(key=lambda r: (-r["arr_minor"], -r["n_accounts"], r["theme"]))
    currencies = sorted(str(c) for c in facts["currency"].dropna().unique())
    out["requests"] = {"rows": requests, "currency": currencies[0] if len(currencies) == 1 else "JPY"}

    mentions = []
    frequent = set(term_frequency(corpus, min_df=3)["term"].head(200))
    accounts, dates = corpus.docs["account_id"].tolist(), corpus.docs["recorded_at"].tolist()
    for i, doc in enumerate(corpus.texts):
        account = accounts[i]
        if pd.isna(account):
            continue
        date = dates[i]
        mentions.append((int(account), date, f"category:{categories.iat[i]}"))
        mentions.extend((int(account), date, f"term:{t}") for t in set(doc.terms) if t in frequent)
    lift_rows: list[dict[str, Any]] = []
    if mentions:
        lift = churn_lift(
            pd.DataFrame(mentions, columns=["account_id", "date", "feature"]),
            facts[["account_id", "churned_at"]],
            window_days=REASON_WINDOW_DAYS,
            min_accounts=3,
        ).head(40)
        lift_rows = _records(lift)
        for row in lift_rows:
            row["kind"], row["value"] = str(row.pop("feature")).split(":", 1)
    out["lift"] = {"rows": lift_rows}

    characteristic: dict[str, list[dict[str, Any]]] = {}
    for by, column in CHARACTERISTIC_GROUPS.items():
        keep = corpus.docs[column].notna().to_numpy()
        part = corpus.subset(keep)
        if len(part) == 0:
            characteristic[by] = []
            continue
        values = part.docs[column]
        groups = values.map(lambda v: "churned" if v else "retained") if column == "churned" else values
        words = characteristic_words(part, by=groups.astype(str), top_n=10, min_df=2)
        characteristic[by] = _records(words[["group", "rank", "term", "df_group", "share_group", "share_other"]])
    out["characteristic"] = {"groups": characteristic}
    return out


def _stored_labels(session: Session) -> pd.DataFrame:
    """The stored per-entry analysis the analyses count, in :func:`kizuna.voc.service.stored_analysis`'s rows and
    order: ``entry_id, channel, recorded_at, sentiment_label, category`` (not the texts again, nor the rule codes:
    the corpus holds the texts)."""
    rows = session.execute(
        select(
            VocEntry.id,
            VocEntry.channel,
            VocEntry.recorded_at,
            VocTextAnalysis.sentiment_label,
            VocTextAnalysis.category,
        )
        .join(VocTextAnalysis, VocTextAnalysis.entry_id == VocEntry.id)
        .order_by(VocEntry.recorded_at, VocEntry.id)
    )
    return pd.DataFrame(
        [tuple(r) for r in rows], columns=["entry_id", "channel", "recorded_at", "sentiment_label", "category"]
    )


def _sentiment(stored: pd.DataFrame, *, as_of: dt.date) -> dict[str, Any]:
    """Texts per month (last 12 months) and per channel by sentiment label, and the totals."""
    if stored.empty:
        return {"months": [], "by_month": {}, "by_channel": {}, "totals": {}}
    recorded = pd.to_datetime(stored["recorded_at"], utc=True)
    first = (pd.Timestamp(as_of.replace(day=1)) - pd.DateOffset(months=SENTIMENT_MONTHS - 1)).date()
    recent = stored[recorded.dt.date >= first].assign(month=recorded.dt.strftime("%Y-%m"))
    months = sorted(recent["month"].unique())
    labels = ("positive", "neutral", "negative", "request")
    counts = recent.groupby(["month", "sentiment_label"]).size()
    by_month = {lab: [int(counts.get((m, lab), 0)) for m in months] for lab in labels}
    per_channel = stored.groupby(["channel", "sentiment_label"]).size()
    channels = sorted(stored["channel"].unique())
    by_channel = {str(ch): {lab: int(per_channel.get((ch, lab), 0)) for lab in labels} for ch in channels}
    totals = {lab: int((stored["sentiment_label"] == lab).sum()) for lab in labels}
    return {"months": [str(m) for m in months], "by_month": by_month, "by_channel": by_channel, "totals": totals}


def _churn_reasons(session: Session, docs: pd.DataFrame, categories: pd.Series, facts: pd.DataFrame) -> dict[str, Any]:
    """Why churned accounts left, weighted by the ARR they took with them.

    Each churned account's reason is the reason category its texts name most often in the
    ``REASON_WINDOW_DAYS`` before its churn date (a cancellation survey answer wins); accounts that said nothing
    are counted apart: most unhappy customers never complain (Goodman). Lost ARR is 12 × the MRR of the contract
    versions that ended on the account's churn date."""
    churned = facts[facts["churned"].astype(bool)]
    if churned.empty:
        return {"rows": [], "silent": {"n_accounts": 0, "lost_arr_minor": 0}}
    last = session.execute(
        select(Subscription.account_id, Subscription.end_date, Subscription.mrr_minor).where(
            Subscription.account_id.in_([int(a) for a in churned["account_id"]])
        )
    ).all()
    churned_at = dict(zip(churned["account_id"].astype(int), churned["churned_at"], strict=True))
    lost: Counter[int] = Counter()
    for account_id, end_date, mrr in last:
        if end_date is not None and end_date == churned_at.get(int(account_id)):
            lost[int(account_id)] += int(mrr) * 12
    frame = docs[["account_id", "channel", "recorded_at"]].assign(category=categories.to_numpy())
    frame = frame[frame["account_id"].isin(list(churned_at)) & frame["category"].isin(REASON_CATEGORIES)]
    # the texts of each account's window; a cancellation survey answer in it wins over its other texts
    end = pd.to_datetime(frame["account_id"].astype("int64").map(churned_at)).dt.tz_localize("UTC")
    recorded = pd.to_datetime(frame["recorded_at"], utc=True)
    window = frame[(recorded <= end) & (recorded >= end - pd.Timedelta(days=REASON_WINDOW_DAYS))]
    survey = window["channel"] == "cancellation_survey"
    has_survey = survey.groupby(window["account_id"]).transform("any").astype(bool)
    pick = window[survey | ~has_survey]
    # the most frequent category per account, ties to the first by name
    counts = pick.groupby(["account_id", "category"]).size().rename("n").reset_index()
    counts = counts.sort_values(["account_id", "n", "category"], ascending=[True, False, True], kind="stable")
    first = counts.drop_duplicates("account_id", keep="first")
    reason_of = {int(a): str(c) for a, c in zip(first["account_id"], first["category"], strict=True)}
    rows: dict[str, dict[str, int]] = {}
    for account_id, reason in reason_of.items():
        row = rows.setdefault(reason, {"n_accounts": 0, "lost_arr_minor": 0})
        row["n_accounts"] += 1
        row["lost_arr_minor"] += lost.get(account_id, 0)
    silent = [a for a in churned_at if a not in reason_of]
    total = sum(lost.values()) or 1
    ranked = sorted(rows.items(), key=lambda kv: (-kv[1]["lost_arr_minor"], kv[0]))
    return {
        "rows": [{"category": c, **v, "share": v["lost_arr_minor"] / total} for c, v in ranked],
        "silent": {"n_accounts": len(silent), "lost_arr_minor": sum(lost.get(a, 0) for a in silent)},
    }


# ---------------------------------------------------------------------------------------------- storing
def store_insights(session: Session, insights: dict[str, dict[str, Any]], *, as_of: dt.date, n_entries: int) -> int:
    """Replace the stored analyses with ``insights``; returns how many were stored."""
    session.execute(delete(VocAnalysis))
    now = utcnow()
    session.add_all(
        VocAnalysis(name=name, as_of=as_of, n_entries=n_entries, result=result, computed_at=now)
        for name, result in insights.items()
    )
    session.flush()
    return len(insights)


def refresh_insights(session: Session, *, as_of: dt.date, analyzer: Any = None) -> int:
    """Compute and store every analysis of the VoC page (the refresh step calls this after analysing entries)."""
    n_entries = session.scalar(select(func.count(VocEntry.id))) or 0
    insights = compute_insights(session, as_of=as_of, analyzer=analyzer) if n_entries else {}
    return store_insights(session, insights, as_of=as_of, n_entries=int(n_entries))


def stored_insights(session: Session) -> dict[str, Any]:
    """The stored analyses by name, with ``as_of``, ``computed_at`` and ``n_entries`` of the refresh that made
    them (``None`` when no refresh has stored any)."""
    rows = list(session.scalars(select(VocAnalysis)))
    if not rows:
        return {"as_of": None, "computed_at": None, "n_entries": 0, "analyses": {}}
    return {
        "as_of": rows[0].as_of,
        "computed_at": rows[0].computed_at,
        "n_entries": rows[0].n_entries,
        "analyses": {r.name: r.result for r in rows},
    }


def stored_insight(session: Session, name: str) -> dict[str, Any] | None:
    row = session.scalars(select(VocAnalysis).where(VocAnalysis.name == name)).first()
    return row.result if row is not None else None


# ------------------------------------------------------------------------------------------- live: KWIC
def keyword_in_context(
    session: Session, *, word: str, width: int = 24, limit: int = 100, analyzer: Any = None
) -> list[dict[str, Any]]:
    """Every occurrence of ``word`` in the newest texts that contain it, with ``width`` characters either side:
    ``entry_id, account_id, account_name, recorded_at, left, keyword, right, negated``.

    The word is analysed as texts are (使いやすい also finds 使いやすくない; 問合せ finds 問い合わせ where the
    text says so); only texts containing the word as written, or its normalised form, are read, so it answers
    in milliseconds on any corpus."""
    from kizuna.analytics.text.corpus import Corpus
    from kizuna.analytics.text.frequency import kwic
    from kizuna.analytics.text.tokenize import TextAnalyzer

    word = word.strip()
    if not word:
        return []
    analyzer = analyzer or TextAnalyzer()
    terms = [t.removesuffix("+NEG") for t in analyzer.analyze(word).terms] or [word.lower()]
    forms = {word, *terms}
    like = [VocEntry.text.ilike(f"%{_escape(f)}%", escape="\\") for f in forms if f]
    rows = session.execute(
        select(VocEntry.id, VocEntry.account_id, Account.name, VocEntry.recorded_at, VocEntry.text)
        .outerjoin(Account, Account.id == VocEntry.account_id)
        .where(or_(*like))
        .order_by(VocEntry.recorded_at.desc(), VocEntry.id.desc())
        .limit(limit * 2)
    ).all()
    if not rows:
        return []
    frame = pd.DataFrame(rows, columns=["entry_id", "account_id", "account_name", "recorded_at", "text"])
    corpus = Corpus.from_frame(frame[["entry_id", "text"]], text="text", doc_id="entry_id", analyzer=analyzer)
    found = pd.concat([kwic(corpus, t, width=width) for t in dict.fromkeys(terms)], ignore_index=True)
    if found.empty:  # the word is part of a longer term: show it where it is written
        found = _substring_kwic(frame, word, width=width)
    meta = frame.drop(columns=["text"]).rename(columns={"entry_id": "doc_id"})
    found = found.merge(meta, on="doc_id").sort_values(["recorded_at", "doc_id"], ascending=False).head(limit)
    return [
        {
            "entry_id": int(r.doc_id),
            "account_id": None if pd.isna(r.account_id) else int(r.account_id),
            "account_name": r.account_name,
            "recorded_at": r.recorded_at,
            "left": r.left,
            "keyword": r.keyword,
            "right": r.right,
            "negated": bool(r.negated),
        }
        for r in found.itertuples(index=False)
    ]


def _substring_kwic(frame: pd.DataFrame, word: str, *, width: int) -> pd.DataFrame:
    rows = []
    lowered = word.lower()
    for entry_id, text in zip(frame["entry_id"], frame["text"], strict=True):
        at = text.lower().find(lowered)
        while at >= 0:
            end = at + len(word)
            left, right = text[max(0, at - width) : at], text[end : end + width]
            rows.append((entry_id, 0, left, text[at:end], right, False, word))
            at = text.lower().find(lowered, end)
    return pd.DataFrame(rows, columns=["doc_id", "sentence_no", "left", "keyword", "right", "negated", "term"])


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def corrected_labels(session: Session) -> int:
    """How many entries a person has given a category (``voc_labels``)."""
    return int(session.scalar(select(func.count(VocLabel.id))) or 0)
