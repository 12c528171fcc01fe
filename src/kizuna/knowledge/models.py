"""Knowledge base: FAQ articles, and the search index over articles, the playbook library and account notes."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kizuna.db import Base, utcnow


class DocumentSource(enum.StrEnum):
    article = "article"  # kb_articles (FAQ, how-to)
    playbook = "playbook"  # playbooks (their current YAML)
    note = "note"  # activities of kind note


class KbArticle(Base):
    __tablename__ = "kb_articles"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), default="faq")  # faq, howto, playbook_guide
    title: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(8), default="ja")
    tags: Mapped[str | None] = mapped_column(String(500))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class KbDocument(Base):
    """One searchable document (an article, a playbook or a note) with its length in terms, for BM25."""

    __tablename__ = "kb_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    source_id: Mapped[int]
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(500))
    snippet: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(8))
    length: Mapped[int]
    indexed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("source", "source_id", name="uq_kb_documents_source"),)


class KbPosting(Base):
    """Inverted index: ``term`` (Sudachi normalised form or lowercased English lemma) occurs ``tf`` times."""

    __tablename__ = "kb_postings"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("kb_documents.id", ondelete="CASCADE"), index=True)
    term: Mapped[str] = mapped_column(String(200))
    tf: Mapped[int]

    __table_args__ = (Index("ix_kb_postings_term", "term"),)
