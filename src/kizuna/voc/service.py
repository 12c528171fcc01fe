"""The voice of the customer: VoC entries tied to accounts, revenue, churn and NPS, analysed by the text library.

Reads build a :class:`kizuna.analytics.text.Corpus` from ``voc_entries`` (with each account's segment, plan,
industry, ARR, churn outcome and NPS group as metadata); writes label entries, store per-entry text analysis and
per-account VoC sentiment. Services flush, never commit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from io import StringIO
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from sqlalchemy import Table, bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session

from kizuna.accounts.models import Account
from kizuna.audit.service import record_audit
from kizuna.billing.models import Plan, Subscription
from kizuna.db import expire_held, utcnow
from kizuna.errors import InvalidInput, NotFound
from kizuna.voc.models import VOC_CATEGORIES, SurveyResponse, VocAccountSentiment, VocEntry, VocLabel, VocTextAnalysis

if TYPE_CHECKING:
    from kizuna.analytics.text.classify import VocClassifier
    from kizuna.analytics.text.corpus import Corpus
    from kizuna.analytics.text.tokenize import TextAnalyzer

log = logging.getLogger(__name__)

#: bump when the text pipeline's output changes meaning; stored with every analysis
ANALYSER_VERSION = "text-2"
ACTOR_REFRESH = "system:refresh"


# --------------------------------------------------------------------------------------------- filters
@dataclass(frozen=True)
class VocFilter:
    """Which entries an analysis reads: channel, recorded in [since, until) (UTC dates), language, account."""

    channel: str | None = None
    since: dt.date | None = None
    until: dt.date | None = None
    language: str | None = None
    account_id: int | None = None


def _tuples(rows: Iterable[Any]) -> list[tuple[Any, ...]]:
    """Result rows as plain tuples: pandas builds a frame from them several times faster than from ``Row``s."""
    return [tuple(r) for r in rows]


def _utc(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


# ------------------------------------------------------------------------------------------ accounts
@dataclass(frozen=True)
class AccountRows:
    """What :func:`account_facts` reads from the database (:func:`account_rows`), read once for facts at several
    dates (the VoC refresh's analyses need them at today's date and at the refresh's)."""

    accounts: pd.DataFrame
    subscriptions: pd.DataFrame
    snapshot: pd.DataFrame
    nps: pd.DataFrame


def account_rows(session: Session) -> AccountRows:
    """The accounts, their subscriptions' versions with plans, the metrics domain's ARR and the NPS answers."""
    accounts = pd.DataFrame(
        _tuples(
            session.execute(
                select(Account.id, Account.name, Account.industry, Account.touch_tier, Account.employee_band)
            )
        ),
        columns=["account_id", "account_name", "industry", "segment", "employee_band"],
    )
    subs = pd.DataFrame(
        _tuples(
            session.execute(
                select(
                    Subscription.account_id,
                    Subscription.mrr_minor,
                    Subscription.currency,
                    Subscription.start_date,
                    Subscription.end_date,
                    Plan.name,
                    Plan.is_addon,
                ).join(Plan, Plan.id == Subscription.plan_id)
            )
        ),
        columns=["account_id", "mrr_minor", "currency", "start_date", "end_date", "plan", "is_addon"],
    )
    nps = pd.DataFrame(
        _tuples(
            session.execute(
                select(SurveyResponse.account_id, SurveyResponse.score, SurveyResponse.responded_at).where(
                    SurveyResponse.kind == "nps"
                )
            )
        ),
        columns=["account_id", "score", "responded_at"],
    )
    return AccountRows(accounts=accounts, subscriptions=subs, snapshot=_snapshot_arr(session), nps=nps)


def account_facts(session: Session, *, today: dt.date | None = None, rows: AccountRows | None = None) -> pd.DataFrame:
    """One row per account: ``account_id, account_name, industry, segment`` (touch tier), ``employee_band,
    plan`` (main plan of the latest contract version), ``arr_minor`` (integer minor units: the metrics domain's
    ``account_metrics.arr_minor`` where a refresh wrote one, else MRR×12 of the versions in force today),
    ``currency, churned, churned_at`` (every subscription ended: the last end date) and ``nps_group``
    (promoter / passive / detractor from the latest NPS answer, else None). ``rows`` (:func:`account_rows`)
    saves reading the database again.
    """
    today = today or utcnow().date()
    read = rows if rows is not None else account_rows(session)
    accounts = read.accounts.copy()  # (the columns below are added to a copy: the rows may serve another date)
    subs = read.subscriptions
    if not subs.empty:
        in_force = (subs["start_date"] <= today) & (subs["end_date"].isna() | (subs["end_date"] > today))
        arr = (subs[in_force].groupby("account_id")["mrr_minor"].sum() * 12).astype("int64")
        main = subs[~subs["is_addon"].astype(bool)].sort_values(["account_id", "start_date"])
        plan = main.groupby("account_id")["plan"].last()
        currency = subs.groupby("account_id")["currency"].first()
        # the last end date per account, as day numbers (a grouped max over date objects is a Python loop)
        ends = subs["end_date"].map(lambda d: -1 if d is None or pd.isna(d) else d.toordinal()).astype("int64")
        last_day = ends.groupby(subs["account_id"]).max()
        ended = pd.DataFrame(
            {
                "open_versions": subs["end_date"].isna().groupby(subs["account_id"]).sum(),
                "last_end": last_day.map(lambda n: None if n < 0 else dt.date.fromordinal(int(n))),
            }
        )
        churned = (ended["open_versions"] == 0) & (ended["last_end"] <= today)
        accounts["arr_minor"] = accounts["account_id"].map(arr).fillna(0).astype("int64")
        accounts["plan"] = accounts["account_id"].map(plan)
        accounts["currency"] = accounts["account_id"].map(currency)
        accounts["churned"] = accounts["account_id"].map(churned).fillna(False).astype(bool)
        churned_at = ended["last_end"].where(churned)
        accounts["churned_at"] = accounts["account_id"].map(churned_at)
    else:
        accounts["arr_minor"] = 0
        accounts["plan"] = None
        accounts["currency"] = None
        accounts["churned"] = False
        accounts["churned_at"] = None
    snapshot = read.snapshot
    if not snapshot.empty:  # the metrics domain's per-account ARR wins where it has a row
        arr_of = snapshot.set_index("account_id")
        has = accounts["account_id"].isin(arr_of.index)
        arr = accounts["account_id"].map(arr_of["arr_minor"])
        accounts["arr_minor"] = arr.where(has, accounts["arr_minor"]).astype("int64")
        currency = accounts["account_id"].map(arr_of["currency"])
        accounts["currency"] = currency.where(has & currency.notna(), accounts["currency"])
    nps = read.nps
    if not nps.empty:
        latest = nps.sort_values("responded_at").groupby("account_id")["score"].last()
        group = latest.map(lambda s: "promoter" if s >= 9 else ("passive" if s >= 7 else "detractor"))
        accounts["nps_group"] = accounts["account_id"].map(group)
    else:
        accounts["nps_group"] = None
    return accounts


# ----------------------------------------------------------------------------------------------- entries
def _snapshot_arr(session: Session) -> pd.DataFrame:
    """``account_id, arr_minor, currency`` from the metrics domain's ``account_metrics`` (empty if none)."""
    from kizuna.kpis.models import AccountMetrics

    rows = session.execute(select(AccountMetrics.account_id, AccountMetrics.arr_minor, AccountMetrics.currency)).all()
    return pd.DataFrame(rows, columns=["account_id", "arr_minor", "currency"])


def voc_entries(session: Session, *, where: VocFilter | None = None, rows: AccountRows | None = None) -> pd.DataFrame:
    """VoC entries with their account facts: ``entry_id, text, channel, language, author, recorded_at, date,
    month, period`` (calendar quarter, e.g. ``2026Q3``) and the columns of :func:`account_facts` (of ``rows`` when
    given)."""
    where = where or VocFilter()
    q = select(
        VocEntry.id,
        VocEntry.account_id,
        VocEntry.channel,
        VocEntry.text,
        VocEntry.language,
        VocEntry.author,
        VocEntry.recorded_at,
    ).order_by(VocEntry.recorded_at, VocEntry.id)
    if where.channel:
        q = q.where(VocEntry.channel == where.channel)
    if where.since:
        q = q.where(VocEntry.recorded_at >= _utc(where.since))
    if where.until:
        q = q.where(VocEntry.recorded_at < _utc(where.until))
    if where.language:
        q = q.where(VocEntry.language == where.language)
    if where.account_id is not None:
        q = q.where(VocEntry.account_id == where.account_id)
    entries = pd.DataFrame(
        _tuples(session.execute(q)),
        columns=["entry_id", "account_id", "channel", "text", "entry_language", "author", "recorded_at"],
    )
    recorded = pd.to_datetime(entries["recorded_at"], utc=True)
    entries["date"] = recorded.dt.date
    entries["month"] = recorded.dt.strftime("%Y-%m")
    entries["period"] = recorded.dt.year.astype(str) + "Q" + recorded.dt.quarter.astype(str)
    facts = account_facts(session, rows=rows)
    entries["account_id"] = entries["account_id"].astype("Int64")
    facts["account_id"] = facts["account_id"].astype("Int64")
    return entries.merge(facts, on="account_id", how="left")


def load_corpus(
    session: Session,
    *,
    where: VocFilter | None = None,
    analyzer: TextAnalyzer | None = None,
    rows: AccountRows | None = None,
) -> Corpus:
    """The filtered VoC entries as a :class:`Corpus` (``doc_id`` = entry id; metadata as in :func:`voc_entries`;
    ``language`` is detected per text, ``entry_language`` is the one recorded). ``where.language`` filters on
    the detected language."""
    from kizuna.analytics.text.corpus import Corpus

    frame = voc_entries(
        session,
        where=VocFilter(where.channel, where.since, where.until, None, where.account_id) if where else None,
        rows=rows,
    )
    corpus = Corpus.from_frame(frame, text="text", doc_id="entry_id", analyzer=analyzer)
    if where is not None and where.language:
        corpus = corpus.subset((corpus.docs["language"] == where.language).to_numpy())
    return corpus


# ------------------------------------------------------------------------------------------------ labels
def label_entry(session: Session, *, entry_id: int, category: str, actor: str) -> VocLabel:
    """Give entry ``entry_id`` the category ``category`` (one of ``CATEGORIES``); replaces an earlier label."""
    if category not in VOC_CATEGORIES:
        raise InvalidInput(f"unknown category {category!r}; use one of {', '.join(VOC_CATEGORIES)}", value=category)
    if session.get(VocEntry, entry_id) is None:
        raise NotFound(f"no VoC entry with id {entry_id}")
    label = session.scalars(select(VocLabel).where(VocLabel.entry_id == entry_id)).one_or_none()
    before = {"category": label.category, "author": label.author} if label else None
    if label is None:
        label = VocLabel(entry_id=entry_id, category=category, author=actor, created_at=utcnow())
        session.add(label)
    else:
        label.category, label.author, label.created_at = category, actor, utcnow()
    session.flush()
    record_audit(
        session,
        actor=actor,
        action="voc.label",
        entity="voc_entries",
        entity_id=entry_id,
        before=before,
        after={"category": category},
    )
    return label


def team_labels(session: Session) -> pd.DataFrame:
    """The team's labels with their texts: ``entry_id, text, category, author, created_at``."""
    rows = session.execute(
        select(VocLabel.entry_id, VocEntry.text, VocLabel.category, VocLabel.author, VocLabel.created_at)
        .join(VocEntry, VocEntry.id == VocLabel.entry_id)
        .order_by(VocLabel.entry_id)
    ).all()
    return pd.DataFrame(rows, columns=["entry_id", "text", "category", "author", "created_at"])


#: the shipped training files (``kizuna/voc/training/``): the first classifier's small sets, the evaluation sets
#: written for kizuna, 332 hand-written Japanese texts of many channels and registers and 640 composed from
#: hand-crafted templates (docs/voc.md); ``tests/data/voc/holdout_ja.csv`` is in none of them
TRAINING_FILES = (
    "default_ja.csv",
    "default_en.csv",
    "eval_ja.csv",
    "eval_en.csv",
    "written_ja.csv",
    "composed_ja.csv",
)


def default_training_set() -> pd.DataFrame:
    """The shipped training texts (:data:`TRAINING_FILES`): ``text, category, sentiment, file``."""
    frames = []
    for name in TRAINING_FILES:
        raw = resources.files("kizuna.voc.training").joinpath(name).read_text("utf-8")
        frames.append(pd.read_csv(StringIO(raw))[["text", "category", "sentiment"]].assign(file=name))
    both = pd.concat(frames, ignore_index=True)
    return both.drop_duplicates("text", keep="first").reset_index(drop=True)


def training_set(session: Session) -> pd.DataFrame:
    """Shipped training texts plus the team's labels (``text, category, sentiment, source``); a team label wins
    for a text that is also shipped. The team labels a category only, so its texts have no sentiment label (the
    sentiment model learns from the shipped texts; the category model from both)."""
    shipped = default_training_set().drop(columns="file").assign(source="default")
    team = team_labels(session)[["text", "category"]].assign(sentiment=None, source="team")
    both = pd.concat([team, shipped], ignore_index=True)
    return both.drop_duplicates("text", keep="first").reset_index(drop=True)


def training_digest(training: pd.DataFrame) -> str:
    """A short fingerprint of a training set: analyses made with another one are stale."""
    return _training_sha(training)[:12]


def _training_sha(training: pd.DataFrame) -> str:
    h = hashlib.sha256()
    sentiment = training["sentiment"] if "sentiment" in training.columns else [None] * len(training)
    for text, category, feeling in zip(training["text"], training["category"], sentiment, strict=True):
        h.update(f"{text}\x1f{category}\x1f{feeling if isinstance(feeling, str) else ''}\x1e".encode())
    return h.hexdigest()


def fit_classifier(
    session: Session,
    *,
    analyzer: TextAnalyzer | None = None,
    policy: str = "model_first",
    models_dir: Path | None = None,
) -> tuple[VocClassifier, str]:
    """A :class:`VocClassifier` fitted on :func:`training_set` (categories and sentiment), and the analyser version
    it stands for.

    ``model_first`` by default: with ~1,500 shipped texts the model beats the rules on texts written apart from
    kizuna (docs/voc.md); ``rules_first`` lets any fired rule decide.

    Fitting takes ~10 s of CPU whatever the corpus, so the fitted model is kept, under a key of everything it
    depends on: in this process, and with ``models_dir`` in a file there
    (:mod:`kizuna.voc.caches`), so that a refresh fits again only when the training set (a team label), the text
    library's code or rules, the analyser's settings or a library version changed. A file that does not match
    the key or its own checksum is ignored and replaced.
    """
    from kizuna.analytics.text.classify import VocClassifier
    from kizuna.analytics.text.corpus import Corpus
    from kizuna.analytics.text.tokenize import TextAnalyzer
    from kizuna.voc import caches

    training = training_set(session)
    sha = _training_sha(training)
    version = f"{ANALYSER_VERSION}+{policy}+{sha[:12]}"
    key = caches.classifier_key(version, sha, analyzer or TextAnalyzer())
    cached = _FITTED.get(key)
    if cached is None and models_dir is not None:
        cached = caches.read_classifier(models_dir, key)
    elif cached is not None and models_dir is not None and not caches.classifier_kept(models_dir, key):
        caches.write_classifier(models_dir, key, cached)  # fitted in this process for a caller without the dir
    if cached is not None:
        cached.scorer._memo.clear()  # its per-text memo would keep the previous caller's texts alive
    else:
        corpus = Corpus.from_frame(training[["text"]], analyzer=analyzer)
        cached = VocClassifier(policy=policy).fit(corpus, training["category"], training["sentiment"])
        if models_dir is not None:
            caches.write_classifier(models_dir, key, cached)
    _FITTED.clear()  # one training set at a time: a new label makes the previous model stale
    _FITTED[key] = cached
    return cached, version


#: the fitted classifier of the latest key (:func:`kizuna.voc.caches.classifier_key`) in this process
_FITTED: dict[str, VocClassifier] = {}


# ------------------------------------------------------------------------------------ stored analysis
def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def analyse_entries(
    session: Session, *, analyzer: TextAnalyzer | None = None, models_dir: Path | None = None
) -> dict[str, int]:
    """Analyse the entries that are new, whose text changed, or whose analysis was made by another analyser
    version (or training set), and store language, sentiment, category and rule codes per entry. An entry a
    person labelled (``voc_labels``) keeps that category (``source = "label"``); the label also joins the training
    set, so a new label changes the analyser version and every entry is classified again by the retrained model.
    ``models_dir`` keeps the fitted classifier between runs (:func:`fit_classifier`).

    Returns counts: ``entries``, ``analysed``, ``unchanged``.
    """
    from kizuna.analytics.text.corpus import Corpus
    from kizuna.analytics.text.tokenize import TextAnalyzer

    entries = session.execute(select(VocEntry.id, VocEntry.text)).all()
    stored = {
        int(entry_id): (row_id, h, version)
        for row_id, entry_id, h, version in session.execute(
            select(
                VocTextAnalysis.id,
                VocTextAnalysis.entry_id,
                VocTextAnalysis.text_hash,
                VocTextAnalysis.analyser_version,
            )
        )
    }
    analyzer = analyzer or TextAnalyzer()
    classifier, version = fit_classifier(session, analyzer=analyzer, models_dir=models_dir)
    todo = []
    for entry_id, text in entries:
        h = text_hash(text)
        row = stored.get(entry_id)
        if row is None or row[1] != h or row[2] != version:
            todo.append((entry_id, text, h))
    labelled = {int(e): str(c) for e, c in session.execute(select(VocLabel.entry_id, VocLabel.category))}
    if todo:
        frame = pd.DataFrame(todo, columns=["entry_id", "text", "text_hash"])
        corpus = Corpus.from_frame(frame[["entry_id", "text"]], text="text", doc_id="entry_id", analyzer=analyzer)
        sentiment = classifier.predict_sentiment(corpus)
        predicted = classifier.predict(corpus)
        now = utcnow()
        languages = corpus.docs["language"].tolist()
        labels, scores = sentiment["label"].tolist(), sentiment["score"].tolist()
        categories, confidences = predicted["category"].tolist(), predicted["confidence"].tolist()
        sources, codes = predicted["source"].tolist(), predicted["codes"].tolist()
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        for i, (entry_id, _text, h) in enumerate(todo):
            conf = confidences[i]
            label = labelled.get(entry_id)  # a person's label is the entry's category; the model learns from it
            values = {
                "text_hash": h,
                "language": str(languages[i]),
                "sentiment_label": str(labels[i]),
                "sentiment_score": float(scores[i]),
                "category": label or str(categories[i]),
                "confidence": 1.0 if label else (None if pd.isna(conf) else float(conf)),
                "source": "label" if label else str(sources[i]),
                "rule_codes": list(codes[i]),
                "analysed_at": now,
                "analyser_version": version,
            }
            row = stored.get(entry_id)
            if row is None:
                inserts.append({"entry_id": entry_id, **values})
            else:
                updates.append({"id": row[0], **values})
        # as sets (54,000 entries on the first refresh of a large company): one executemany each
        if inserts:
            session.execute(insert(VocTextAnalysis), inserts)
        if updates:
            session.execute(update(VocTextAnalysis), updates)
        expire_held(session, VocTextAnalysis)  # written past the ORM: a row it holds is read again
        session.flush()
    log.info("VoC analysis: %s entries, %s analysed", len(entries), len(todo))
    return {"entries": len(entries), "analysed": len(todo), "unchanged": len(entries) - len(todo)}


def stored_analysis(session: Session, *, where: VocFilter | None = None) -> pd.DataFrame:
    """Stored per-entry analysis joined to the entries: ``entry_id, account_id, channel, recorded_at, text,
    language, sentiment_label, sentiment_score, category, confidence, source, rule_codes, analysed_at``."""
    where = where or VocFilter()
    q = (
        select(
            VocEntry.id,
            VocEntry.account_id,
            VocEntry.channel,
            VocEntry.recorded_at,
            VocEntry.text,
            VocTextAnalysis.language,
            VocTextAnalysis.sentiment_label,
            VocTextAnalysis.sentiment_score,
            VocTextAnalysis.category,
            VocTextAnalysis.confidence,
            VocTextAnalysis.source,
            VocTextAnalysis.rule_codes,
            VocTextAnalysis.analysed_at,
        )
        .join(VocTextAnalysis, VocTextAnalysis.entry_id == VocEntry.id)
        .order_by(VocEntry.recorded_at, VocEntry.id)
    )
    if where.channel:
        q = q.where(VocEntry.channel == where.channel)
    if where.since:
        q = q.where(VocEntry.recorded_at >= _utc(where.since))
    if where.until:
        q = q.where(VocEntry.recorded_at < _utc(where.until))
    if where.language:
        q = q.where(VocTextAnalysis.language == where.language)
    if where.account_id is not None:
        q = q.where(VocEntry.account_id == where.account_id)
    return pd.DataFrame(
        _tuples(session.execute(q)),
        columns=[
            "entry_id",
            "account_id",
            "channel",
            "recorded_at",
            "text",
            "language",
            "sentiment_label",
            "sentiment_score",
            "category",
            "confidence",
            "source",
            "rule_codes",
            "analysed_at",
        ],
    )


def entry_sentiment(session: Session) -> pd.DataFrame:
    """Stored per-entry sentiment of the entries tied to an account: ``account_id, date`` (recorded_at), ``score,
    label``. The input of :func:`kizuna.analytics.text.account_voc_sentiment` at any date: the VoC refresh step
    stores it for the refresh date, the churn-risk training and the health backtest evaluate it at past dates."""
    rows = session.execute(
        select(
            VocEntry.account_id, VocEntry.recorded_at, VocTextAnalysis.sentiment_score, VocTextAnalysis.sentiment_label
        )
        .join(VocTextAnalysis, VocTextAnalysis.entry_id == VocEntry.id)
        .where(VocEntry.account_id.is_not(None))
        .order_by(VocEntry.recorded_at, VocEntry.id)
    )
    return pd.DataFrame(_tuples(rows), columns=["account_id", "date", "score", "label"])


def store_account_sentiment(
    session: Session, *, as_of: dt.date, window_days: int = 180, half_life_days: float = 60.0
) -> int:
    """Compute :func:`kizuna.analytics.text.account_voc_sentiment` as known at 00:00 UTC on ``as_of`` (texts
    recorded strictly before) from the stored per-entry sentiment and replace the ``voc_account_sentiment`` rows of
    that date. Returns the rows written.

    Replaced as sets, and only where a value changed: a row no longer computed is deleted, a changed one updated,
    a new one inserted (a second refresh of a day with no new text writes nothing)."""
    from kizuna.analytics.text.outcomes import account_voc_sentiment

    scores = entry_sentiment(session)
    table = _ACCOUNT_SENTIMENT
    stored = {
        int(account_id): (int(row_id), (sentiment, n_texts, share_negative))
        for row_id, account_id, sentiment, n_texts, share_negative in session.execute(
            select(table.c.id, table.c.account_id, table.c.sentiment, table.c.n_texts, table.c.share_negative).where(
                table.c.as_of == as_of
            )
        )
    }
    measure = (
        account_voc_sentiment(
            scores, as_of=_utc(as_of), window_days=window_days, half_life_days=half_life_days, inclusive=False
        )
        if not scores.empty
        else None
    )
    new: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    for r in measure.itertuples(index=False) if measure is not None else ():
        values = {
            "sentiment": float(r.voc_sentiment),
            "n_texts": int(r.n_texts),
            "share_negative": None if pd.isna(r.share_negative) else float(r.share_negative),
        }
        held = stored.pop(int(r.account_id), None)
        if held is None:
            new.append({"account_id": int(r.account_id), "as_of": as_of, **values})
        elif held[1] != tuple(values.values()):
            changed.append({"row_id": held[0], **values})
    gone = [row_id for row_id, _ in stored.values()]
    for start in range(0, len(gone), _WRITE_CHUNK):
        session.execute(
            delete(VocAccountSentiment).where(VocAccountSentiment.id.in_(gone[start : start + _WRITE_CHUNK]))
        )
    if changed:
        session.execute(update(table).where(table.c.id == bindparam("row_id")), changed)
        expire_held(session, VocAccountSentiment, ids={row["row_id"] for row in changed})
    if new:
        session.execute(insert(table), new)
    session.flush()
    return 0 if measure is None else len(measure)


#: rows per statement of a set-based delete
_WRITE_CHUNK = 5000
#: the per-account sentiment table, for Core statements
_ACCOUNT_SENTIMENT: Table = VocAccountSentiment.__table__  # type: ignore[assignment]


def account_sentiment(session: Session, *, as_of: dt.date | None = None) -> pd.DataFrame:
    """Stored per-account VoC sentiment (latest date, or ``as_of``): ``account_id, as_of, sentiment, n_texts,
    share_negative``."""
    q = select(
        VocAccountSentiment.account_id,
        VocAccountSentiment.as_of,
        VocAccountSentiment.sentiment,
        VocAccountSentiment.n_texts,
        VocAccountSentiment.share_negative,
    )
    if as_of is None:
        latest = session.scalars(
            select(VocAccountSentiment.as_of).order_by(VocAccountSentiment.as_of.desc()).limit(1)
        ).first()
        if latest is None:
            return pd.DataFrame(columns=["account_id", "as_of", "sentiment", "n_texts", "share_negative"])
        as_of = latest
    q = q.where(VocAccountSentiment.as_of == as_of).order_by(VocAccountSentiment.account_id)
    return pd.DataFrame(
        _tuples(session.execute(q)), columns=["account_id", "as_of", "sentiment", "n_texts", "share_negative"]
    )


# -------------------------------------------------------------------------------------------- the VoC page
def recent_entries(session: Session, *, channel: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """The newest ``limit`` VoC entries (of one ``channel``) with their account's name, their category (the stored
    analysis, ``None`` before the first refresh) and whether a person gave it (``entry``, ``account_name``,
    ``category``, ``labelled``: the label of ``voc_labels``, or ``None``)."""
    stmt = (
        select(VocEntry, Account.name, VocTextAnalysis.category, VocLabel.category)
        .outerjoin(Account, Account.id == VocEntry.account_id)
        .outerjoin(VocTextAnalysis, VocTextAnalysis.entry_id == VocEntry.id)
        .outerjoin(VocLabel, VocLabel.entry_id == VocEntry.id)
        .order_by(VocEntry.recorded_at.desc(), VocEntry.id.desc())
        .limit(limit)
    )
    if channel:
        stmt = stmt.where(VocEntry.channel == channel)
    return [
        {"entry": e, "account_name": n, "category": label or analysed, "labelled": label}
        for e, n, analysed, label in session.execute(stmt).all()
    ]


def category_names() -> tuple[str, ...]:
    """The categories a VoC entry can be given (the classifier's, :data:`kizuna.voc.models.VOC_CATEGORIES`)."""
    return VOC_CATEGORIES


# ------------------------------------------------------------------------------ hand-off to product
def feature_request_handoff(session: Session) -> list[dict[str, Any]]:
    """The stored feature-request themes ranked by ARR, as rows for the product team: ``rank, theme, n_accounts,
    n_texts, arr_minor, accounts`` (the largest asking accounts, joined) and ``examples`` (texts, joined)."""
    from kizuna.voc.insights import stored_insight

    stored = stored_insight(session, "requests") or {"rows": []}
    return [
        {
            "rank": rank,
            "theme": r["label"],
            "n_accounts": r["n_accounts"],
            "n_texts": r["n_texts"],
            "arr_minor": r["arr_minor"],
            "accounts": " / ".join(r["accounts"]),
            "examples": " / ".join(r["examples"]),
        }
        for rank, r in enumerate(stored["rows"], start=1)
    ]


def hand_off_feature_requests(session: Session, *, actor: str, url: str) -> bool:
    """Queue the ranked feature requests as one webhook call to ``url`` (JSON ``{"text", "feature_requests"}``:
    Slack shows the text, a product tool reads the list). Sent once per refresh and URL: returns False when
    that hand-off is already queued or sent."""
    from kizuna.platform.outbox.service import queue_webhook
    from kizuna.voc.models import VocAnalysis

    rows = feature_request_handoff(session)
    if not rows:
        raise InvalidInput("no feature requests to send yet: run a refresh first")
    computed = session.scalar(select(VocAnalysis.computed_at).where(VocAnalysis.name == "requests"))
    key = f"voc-requests:{computed.isoformat() if computed else ''}:{hashlib.sha256(url.encode()).hexdigest()[:16]}"
    lines = [f"{r['rank']}. {r['theme']} ({r['n_accounts']} accounts, ARR {r['arr_minor']:,})" for r in rows[:10]]
    _, created = queue_webhook(
        session,
        idempotency_key=key,
        url=url.strip(),
        payload={"text": "Feature requests ranked by ARR\n" + "\n".join(lines), "feature_requests": rows},
        source="voc:feature_requests",
    )
    record_audit(
        session,
        actor=actor,
        action="voc.handoff",
        entity="voc_analyses",
        entity_id=None,
        after={"url": url, "themes": len(rows), "queued": created},
    )
    return created


def entries_by_channel(session: Session) -> dict[str, int]:
    """The number of VoC entries per channel."""
    rows = session.execute(select(VocEntry.channel, func.count(VocEntry.id)).group_by(VocEntry.channel)).all()
    return {str(c): int(n) for c, n in rows}
