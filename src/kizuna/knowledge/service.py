"""Knowledge base: FAQ / how-to articles, the playbook library and account notes in one search index.

Documents are analysed with :class:`kizuna.analytics.text.TextAnalyzer` (Sudachi split mode C, normalised forms for
Japanese, lemmas for English), so 問い合わせ / 問合せ / お問い合わせ, or "invoices" / "invoice", are the same term.
Postings (term, document, term frequency) live in ``kb_postings``; :func:`search` ranks with Okapi BM25
(Robertson & Zaragoza 2009, "The Probabilistic Relevance Framework: BM25 and Beyond", eq. 3.15 with the
non-negative idf ``log(1 + (N - df + 0.5) / (df + 0.5))``). A Japanese query term (or any term the index does not
know) is also expanded to indexed compounds that contain it (問い合わせ -> 問い合わせ窓口), at half weight.
"""

from __future__ import annotations

import logging
import math
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from kizuna.accounts.models import Account
from kizuna.activities.models import Activity, ActivityKind
from kizuna.audit.service import record_audit
from kizuna.db import utcnow
from kizuna.errors import InvalidInput, NotFound
from kizuna.knowledge.models import DocumentSource, KbArticle, KbDocument, KbPosting

log = logging.getLogger(__name__)

K1 = 1.2
B = 0.75
TITLE_WEIGHT = 2  # title terms count this many times
EXPANSION_WEIGHT = 0.5
MAX_EXPANSIONS = 20
_HONORIFIC = ("御", "ご", "お")


def default_analyzer() -> Any:
    from kizuna.analytics.text.tokenize import TextAnalyzer

    return TextAnalyzer(cache_size=10_000)


def index_terms(terms: list[str]) -> list[str]:
    """The index forms of analysed terms: negation marks dropped (a search for ログイン finds ログインできない),
    lower-cased, and an honorific prefix also indexed without it (御問い合わせ -> 問い合わせ)."""
    out = []
    for term in terms:
        t = term.removesuffix("+NEG").strip().lower()
        if not t or len(t) > 200:
            continue
        out.append(t)
        if len(t) >= 3 and t.startswith(_HONORIFIC):
            out.append(t[1:])
    return out


def _analyse(analyzer: Any, texts: list[str]) -> list[tuple[list[str], str]]:
    return [(index_terms(doc.terms), doc.language) for doc in analyzer.analyze_many(texts)]


# ------------------------------------------------------------------------------------------------- indexing
def index_many(session: Session, items: list[dict[str, Any]], *, analyzer: Any = None) -> int:
    """Index documents given as ``{"source", "source_id", "title", "body", "account_id"}`` (replacing older
    versions of the same source row); returns how many. One query per step for the whole batch."""
    if not items:
        return 0
    analyzer = analyzer or default_analyzer()
    titles = _analyse(analyzer, [i["title"] for i in items])
    bodies = _analyse(analyzer, [i["body"] for i in items])
    existing: dict[tuple[str, int], KbDocument] = {}
    for source in {i["source"] for i in items}:
        ids = [i["source_id"] for i in items if i["source"] == source]
        for doc in session.scalars(
            select(KbDocument).where(KbDocument.source == source, KbDocument.source_id.in_(ids))
        ):
            existing[(doc.source, doc.source_id)] = doc
    if existing:
        session.execute(delete(KbPosting).where(KbPosting.document_id.in_([d.id for d in existing.values()])))
    docs: list[tuple[KbDocument, list[str]]] = []
    now = utcnow()
    for item, (title_terms, title_language), (body_terms, body_language) in zip(items, titles, bodies, strict=True):
        terms = title_terms * TITLE_WEIGHT + body_terms
        found = existing.get((item["source"], item["source_id"]))
        if found is None:
            doc = KbDocument(source=item["source"], source_id=item["source_id"])
            session.add(doc)
        else:
            doc = found
        doc.title = item["title"][:500]
        doc.snippet = " ".join(item["body"].split())[:300]
        doc.language = body_language if item["body"].strip() else title_language
        doc.length = len(terms)
        doc.account_id = item.get("account_id")
        doc.indexed_at = now
        docs.append((doc, terms))
    session.flush()
    postings = [
        {"document_id": doc.id, "term": term, "tf": n} for doc, terms in docs for term, n in Counter(terms).items()
    ]
    if postings:
        session.execute(insert(KbPosting), postings)
    return len(items)


#: the kinds of article (``kb_articles.kind``)
ARTICLE_KINDS = ("faq", "howto", "playbook_guide")


def add_article(
    session: Session,
    *,
    actor: str,
    title: str,
    body: str,
    kind: str = "faq",
    tags: str | None = None,
    analyzer: Any = None,
) -> KbArticle:
    """Add an FAQ / how-to article and index it."""
    if not title.strip() or not body.strip():
        raise InvalidInput("an article needs a title and a body")
    if kind not in ARTICLE_KINDS:
        raise InvalidInput(f"unknown article kind {kind!r}; use {', '.join(ARTICLE_KINDS)}", value=kind)
    from kizuna.analytics.text.normalize import detect_language

    article = KbArticle(
        kind=kind,
        title=title.strip(),
        body=body,
        tags=tags,
        created_by=actor,
        language=detect_language(f"{title}\n{body}"),
    )
    session.add(article)
    session.flush()
    index_many(session, [_article_item(article)], analyzer=analyzer)
    record_audit(
        session,
        actor=actor,
        action="create",
        entity="kb_article",
        entity_id=article.id,
        after={"title": article.title, "kind": kind},
    )
    return article


def update_article(
    session: Session,
    *,
    actor: str,
    article_id: int,
    title: str | None = None,
    body: str | None = None,
    tags: str | None = None,
    kind: str | None = None,
    analyzer: Any = None,
) -> KbArticle:
    """Change an article's title, body, tags or kind (``None`` keeps it; ``tags=""`` clears them) and index it
    again, so a search finds its new words at once."""
    from kizuna.analytics.text.normalize import detect_language

    article = session.get(KbArticle, article_id)
    if article is None:
        raise NotFound(f"no article {article_id}", article_id=article_id)
    if kind is not None and kind not in ARTICLE_KINDS:
        raise InvalidInput(f"unknown article kind {kind!r}; use {', '.join(ARTICLE_KINDS)}", value=kind)
    before = {"title": article.title}
    article.title = (title or "").strip() or article.title
    article.body = body if body and body.strip() else article.body
    article.tags = (tags.strip() or None) if tags is not None else article.tags
    article.kind = kind or article.kind
    article.language = detect_language(f"{article.title}\n{article.body}")
    article.updated_at = utcnow()
    session.flush()
    index_many(session, [_article_item(article)], analyzer=analyzer)
    record_audit(
        session,
        actor=actor,
        action="update",
        entity="kb_article",
        entity_id=article.id,
        before=before,
        after={"title": article.title},
    )
    return article


def delete_article(session: Session, *, actor: str, article_id: int) -> None:
    article = session.get(KbArticle, article_id)
    if article is None:
        raise NotFound(f"no article {article_id}", article_id=article_id)
    doc_ids = list(
        session.scalars(
            select(KbDocument.id).where(KbDocument.source == DocumentSource.article, KbDocument.source_id == article_id)
        )
    )
    if doc_ids:
        session.execute(delete(KbPosting).where(KbPosting.document_id.in_(doc_ids)))
        session.execute(delete(KbDocument).where(KbDocument.id.in_(doc_ids)))
    session.delete(article)
    session.flush()
    record_audit(
        session,
        actor=actor,
        action="delete",
        entity="kb_article",
        entity_id=article_id,
        before={"title": article.title},
    )


def _article_item(article: KbArticle) -> dict[str, Any]:
    body = article.body + (f"\n{article.tags}" if article.tags else "")
    return {"source": DocumentSource.article, "source_id": article.id, "title": article.title, "body": body}


def _playbook_items(session: Session, library_dir: Path | None) -> list[dict[str, Any]]:
    from kizuna.playbooks.models import Playbook, PlaybookVersion

    items = []
    keys = set()
    for playbook, yaml_text in session.execute(
        select(Playbook, PlaybookVersion.yaml_text).join(
            PlaybookVersion,
            (PlaybookVersion.playbook_id == Playbook.id) & (PlaybookVersion.version == Playbook.current_version),
        )
    ):
        keys.add(playbook.key)
        items.append(
            {
                "source": DocumentSource.playbook,
                "source_id": playbook.id,
                "title": f"{playbook.name} ({playbook.key})",
                "body": yaml_text,
            }
        )
    if library_dir is not None and library_dir.is_dir():
        import yaml

        for path in sorted(library_dir.glob("*.yaml")):
            text = path.read_text(encoding="utf-8")
            data = yaml.safe_load(text) or {}
            key = str(data.get("key", path.stem))
            if key in keys:
                continue
            name = data.get("name")
            title = " / ".join(str(v) for v in name.values()) if isinstance(name, dict) else str(name or key)
            # a library file not imported yet: a stable id from its key, negative so that it never meets a row id
            # and within a 32-bit INTEGER (PostgreSQL refuses a larger one)
            items.append(
                {
                    "source": DocumentSource.playbook,
                    "source_id": -(zlib.crc32(key.encode()) >> 1) - 1,
                    "title": f"{title} ({key})",
                    "body": text,
                }
            )
    return items


def reindex(
    session: Session, *, full: bool = False, analyzer: Any = None, library_dir: Path | None = None
) -> dict[str, int]:
    """Index what is new: every article and playbook (they change), and notes not indexed yet (``full``: all
    notes again). Returns the number of documents indexed per source."""
    if library_dir is None:
        from kizuna.playbooks.service import LIBRARY_DIR

        library_dir = LIBRARY_DIR
    analyzer = analyzer or default_analyzer()
    articles = [_article_item(a) for a in session.scalars(select(KbArticle))]
    playbooks = _playbook_items(session, library_dir)
    indexed_notes = (
        set()
        if full
        else set(session.scalars(select(KbDocument.source_id).where(KbDocument.source == DocumentSource.note)))
    )
    notes = [
        {
            "source": DocumentSource.note,
            "source_id": a.id,
            "title": a.subject,
            "body": a.body or "",
            "account_id": a.account_id,
        }
        for a in session.scalars(select(Activity).where(Activity.kind == ActivityKind.note).order_by(Activity.id))
        if a.id not in indexed_notes
    ]
    counts = {}
    for name, items in (("article", articles), ("playbook", playbooks), ("note", notes)):
        counts[name] = 0
        for start in range(0, len(items), 500):
            counts[name] += index_many(session, items[start : start + 500], analyzer=analyzer)
    # documents whose source row is gone
    live = {(DocumentSource.article, i["source_id"]) for i in articles} | {
        (DocumentSource.playbook, i["source_id"]) for i in playbooks
    }
    stale = [
        d.id
        for d in session.scalars(
            select(KbDocument).where(KbDocument.source.in_((DocumentSource.article, DocumentSource.playbook)))
        )
        if (d.source, d.source_id) not in live
    ]
    if stale:
        session.execute(delete(KbPosting).where(KbPosting.document_id.in_(stale)))
        session.execute(delete(KbDocument).where(KbDocument.id.in_(stale)))
    session.flush()
    return counts


# -------------------------------------------------------------------------------------------------- search
@dataclass(frozen=True)
class Hit:
    document_id: int
    source: str
    source_id: int
    account_id: int | None
    title: str
    snippet: str
    language: str
    score: float
    matched: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "matched": list(self.matched)}


def search(
    session: Session,
    *,
    query: str,
    limit: int = 10,
    sources: list[str] | None = None,
    account_id: int | None = None,
    analyzer: Any = None,
) -> list[Hit]:
    """Documents ranked by BM25 for ``query`` (Japanese or English), best first."""
    if not query.strip():
        raise InvalidInput("an empty query")
    for s in sources or []:
        if s not in DocumentSource.__members__:
            raise InvalidInput(f"unknown source {s!r}; use {', '.join(DocumentSource)}", value=s)
    analyzer = analyzer or default_analyzer()
    terms = list(dict.fromkeys(index_terms(analyzer.analyze(query).terms)))
    if not terms:
        terms = [query.strip().lower()]
    n_docs, total_length = session.execute(select(func.count(), func.sum(KbDocument.length))).one()
    if not n_docs:
        return []
    avgdl = (total_length or 0) / n_docs or 1.0
    # query term -> [(index term, weight)]
    weighted: dict[str, float] = {}
    for term in terms:
        known = session.scalar(select(KbPosting.id).where(KbPosting.term == term).limit(1)) is not None
        weighted[term] = max(weighted.get(term, 0.0), 1.0)
        if not known or (len(term) >= 2 and not term.isascii()):
            like = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            for (compound,) in session.execute(
                select(KbPosting.term)
                .where(KbPosting.term.like(f"%{like}%", escape="\\"), KbPosting.term != term)
                .distinct()
                .limit(MAX_EXPANSIONS)
            ):
                weighted[compound] = max(weighted.get(compound, 0.0), EXPANSION_WEIGHT)
    postings = session.execute(
        select(KbPosting.term, KbPosting.document_id, KbPosting.tf).where(KbPosting.term.in_(list(weighted)))
    ).all()
    df: Counter[str] = Counter(t for t, _, _ in postings)
    doc_ids = {d for _, d, _ in postings}
    if not doc_ids:
        return []
    docs = {d.id: d for d in session.scalars(select(KbDocument).where(KbDocument.id.in_(list(doc_ids))))}
    scores: dict[int, float] = defaultdict(float)
    matched: dict[int, set[str]] = defaultdict(set)
    for term, doc_id, tf in postings:
        doc = docs[doc_id]
        if sources and doc.source not in sources:
            continue
        if account_id is not None and doc.account_id != account_id:
            continue
        idf = math.log(1 + (n_docs - df[term] + 0.5) / (df[term] + 0.5))
        norm = tf * (K1 + 1) / (tf + K1 * (1 - B + B * doc.length / avgdl))
        scores[doc_id] += weighted[term] * idf * norm
        matched[doc_id].add(term)
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    return [
        Hit(
            document_id=d,
            source=docs[d].source,
            source_id=docs[d].source_id,
            account_id=docs[d].account_id,
            title=docs[d].title,
            snippet=docs[d].snippet,
            language=docs[d].language,
            score=round(s, 4),
            matched=tuple(sorted(matched[d])),
        )
        for d, s in ranked
    ]


def index_stats(session: Session) -> dict[str, Any]:
    by_source = dict(
        session.execute(select(KbDocument.source, func.count()).group_by(KbDocument.source)).tuples().all()
    )
    terms = session.scalar(select(func.count(func.distinct(KbPosting.term)))) or 0
    last = session.scalar(select(func.max(KbDocument.indexed_at)))
    return {"documents": by_source, "terms": int(terms), "last_indexed_at": last}


# ------------------------------------------------------------------------------------------- the page
def articles(session: Session, *, limit: int = 100) -> list[KbArticle]:
    """The articles, the latest edited first."""
    return list(
        session.scalars(select(KbArticle).order_by(KbArticle.updated_at.desc(), KbArticle.id.desc()).limit(limit))
    )


def get_article(session: Session, article_id: int) -> KbArticle:
    article = session.get(KbArticle, article_id)
    if article is None:
        raise NotFound(f"no article {article_id}", article_id=article_id)
    return article


def recent_notes(session: Session, *, limit: int = 20) -> list[dict[str, Any]]:
    """The newest account notes (activities of kind note) with their account's name: ``note``, ``account_name``."""
    rows = session.execute(
        select(Activity, Account.name)
        .join(Account, Account.id == Activity.account_id)
        .where(Activity.kind == ActivityKind.note)
        .order_by(Activity.occurred_at.desc(), Activity.id.desc())
        .limit(limit)
    ).all()
    return [{"note": a, "account_name": n} for a, n in rows]
