"""Survey responses: NPS (0-10), CSAT (1-5) and CES (1-7); campaigns, personal invitations and the closed loop."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kizuna.db import Base, utcnow


class CampaignStatus(enum.StrEnum):
    draft = "draft"
    sent = "sent"
    closed = "closed"


class SurveyCampaign(Base):
    """An NPS / CSAT / CES campaign to the contacts chosen by an account filter and a contact filter."""

    __tablename__ = "survey_campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default=CampaignStatus.draft)
    account_filter: Mapped[list[Any]]  # playbook-style conditions over account attributes
    contact_filter: Mapped[dict[str, Any]]  # e.g. {"role": ["decision_maker"], "champions_only": true}
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None]
    closes_at: Mapped[dt.datetime | None]


class SurveyInvitation(Base):
    """One contact's personal link. Only the SHA-256 of the token is stored; the token itself is in the email."""

    __tablename__ = "survey_invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("survey_campaigns.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    language: Mapped[str] = mapped_column(String(8), default="ja")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None]
    responded_at: Mapped[dt.datetime | None]
    response_id: Mapped[int | None] = mapped_column(ForeignKey("survey_responses.id", ondelete="SET NULL"))

    __table_args__ = (UniqueConstraint("campaign_id", "contact_id", name="uq_survey_invitations_campaign_contact"),)


class LoopStatus(enum.StrEnum):
    open = "open"  # needs follow-up (detractor, low CSAT, hard effort)
    in_progress = "in_progress"
    closed = "closed"  # followed up; the loop is closed
    not_needed = "not_needed"  # promoters and passives


class SurveyFollowUp(Base):
    """The closed-loop status of one response: who follows it up, and how it ended."""

    __tablename__ = "survey_follow_ups"

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("survey_responses.id", ondelete="CASCADE"), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=LoopStatus.open, index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("team_members.id", ondelete="SET NULL"))
    note: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    closed_at: Mapped[dt.datetime | None]
