"""Voice of the customer: what customers said, from every channel."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kizuna.db import Base, utcnow


class VocChannel(enum.StrEnum):
    call_center = "call_center"
    web_inquiry = "web_inquiry"
    sales_hearing = "sales_hearing"
    seminar = "seminar"  # seminars and exhibitions
    user_group = "user_group"
    email = "email"  # a customer's e-mail read in by `kizuna mail import`
    survey = "survey"
    cancellation_survey = "cancellation_survey"


#: the categories of a VoC text, as :data:`kizuna.analytics.text.CATEGORIES` (a test keeps them equal); here so
#: that a page offering them need not load the text library
VOC_CATEGORIES = (
    "results_not_achieved",
    "hard_to_use",
    "insufficient_support",
    "price_not_worth_it",
    "missing_features",
    "feature_request",
    "praise",
    "other",
)


class VocEntry(Base):
    __tablename__ = "voc_entries"
    # an account's latest rows (customer 360): without it PostgreSQL walked the whole recorded_at index
    __table_args__ = (Index("ix_voc_entries_account_id_recorded_at", "account_id", "recorded_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(128), unique=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(8), default="ja")
    author: Mapped[str | None] = mapped_column(String(200))
    recorded_at: Mapped[dt.datetime] = mapped_column(index=True)


class VocTextAnalysis(Base):
    """What the text pipeline made of one VoC entry (kept per entry, recomputed when its text or the analyser
    changes; ``text_hash`` is the SHA-256 of the text)."""

    __tablename__ = "voc_text_analysis"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("voc_entries.id", ondelete="CASCADE"), unique=True)
    text_hash: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8))
    sentiment_label: Mapped[str] = mapped_column(String(16))
    sentiment_score: Mapped[float]
    category: Mapped[str] = mapped_column(String(64), index=True)
    confidence: Mapped[float | None]  # model probability; None when a rule decided alone
    source: Mapped[str] = mapped_column(String(16))  # rule, model, rule_override or label (a person gave it)
    rule_codes: Mapped[list[Any]]
    analysed_at: Mapped[dt.datetime]
    analyser_version: Mapped[str] = mapped_column(String(64))


class VocLabel(Base):
    """The category a person gave a VoC entry; the supervised classifier learns from these (one per entry)."""

    __tablename__ = "voc_labels"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("voc_entries.id", ondelete="CASCADE"), unique=True)
    category: Mapped[str] = mapped_column(String(64))
    author: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class VocAnalysis(Base):
    """One VoC analysis of the latest refresh (word frequency, co-occurrence network, topics, sentiment, churn
    reasons, feature requests, ...) as the JSON the pages read: the text analyses take seconds on a large corpus,
    so ``kizuna refresh`` computes them and a page never does. One row per ``name``, replaced on every refresh."""

    __tablename__ = "voc_analyses"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    as_of: Mapped[dt.date] = mapped_column(Date)
    n_entries: Mapped[int]
    result: Mapped[dict[str, Any]]
    computed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class VocAccountSentiment(Base):
    """Per-account VoC sentiment as of a date (−1..1, recency-weighted over 180 days), for health scores."""

    __tablename__ = "voc_account_sentiment"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    as_of: Mapped[dt.date] = mapped_column(Date)
    sentiment: Mapped[float]
    n_texts: Mapped[int]
    share_negative: Mapped[float | None]

    __table_args__ = (UniqueConstraint("account_id", "as_of", name="uq_voc_account_sentiment_account_as_of"),)


# Survey answers (NPS, CSAT, CES) are one channel of the customer's voice: imported, or given on a campaign's
# response page (kizuna.surveys), and read by the KPIs, health scores, VoC analyses and playbook triggers.
class SurveyKind(enum.StrEnum):
    nps = "nps"
    csat = "csat"
    ces = "ces"


SCORE_RANGE: dict[str, tuple[int, int]] = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}


class SurveyResponse(Base):
    __tablename__ = "survey_responses"
    # an account's latest rows (customer 360): without it PostgreSQL walked the whole responded_at index
    __table_args__ = (Index("ix_survey_responses_account_id_responded_at", "account_id", "responded_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(128), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(8))
    score: Mapped[int]
    comment: Mapped[str | None] = mapped_column(Text)
    responded_at: Mapped[dt.datetime] = mapped_column(index=True)
