"""The Model funnel: leads, opportunities and marketing spend (for CAC)."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import BigInteger, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kizuna.db import Base


class LeadStatus(enum.StrEnum):
    lead = "lead"
    mql = "mql"
    sql = "sql"
    opportunity = "opportunity"
    disqualified = "disqualified"


class OpportunityStage(enum.StrEnum):
    open = "open"
    won = "won"
    lost = "lost"


class OpportunityKind(enum.StrEnum):
    new = "new"
    renewal = "renewal"
    upsell = "upsell"
    cross_sell = "cross_sell"


class Lead(Base):
    """A prospect moving lead → MQL (marketing) → SQL (inside sales) → opportunity (field sales)."""

    __tablename__ = "leads"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(128), unique=True)
    company_name: Mapped[str] = mapped_column(String(300))
    contact_name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    industry: Mapped[str | None] = mapped_column(String(100))
    employee_band: Mapped[str | None] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(64), index=True)  # web, seminar, exhibition, referral, ads, ...
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("team_members.id", ondelete="SET NULL"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=LeadStatus.lead)
    created_at: Mapped[dt.datetime] = mapped_column(index=True)
    mql_at: Mapped[dt.datetime | None]
    sql_at: Mapped[dt.datetime | None]
    opportunity_at: Mapped[dt.datetime | None]
    first_touch_at: Mapped[dt.datetime | None]  # first sales activity after hand-off
    disqualified_at: Mapped[dt.datetime | None]


class Opportunity(Base):
    __tablename__ = "opportunities"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(128), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"), index=True)
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id", ondelete="SET NULL"), index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("team_members.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(16), default=OpportunityKind.new)
    stage: Mapped[str] = mapped_column(String(16), default=OpportunityStage.open)
    source: Mapped[str | None] = mapped_column(String(64))
    amount_minor: Mapped[int] = mapped_column(BigInteger, default=0)  # expected MRR added
    currency: Mapped[str] = mapped_column(String(3), default="JPY")
    created_at: Mapped[dt.datetime] = mapped_column(index=True)
    close_date: Mapped[dt.date | None] = mapped_column(Date)
    closed_at: Mapped[dt.datetime | None]


# the expansion pipeline's page: the open opportunities, largest first, read in index order (a sort of every
# opportunity of the 50,000-account demo took two thirds of the page's 220 ms)
Index("ix_opportunities_stage_amount", Opportunity.stage, Opportunity.amount_minor.desc(), Opportunity.id)


class MarketingSpend(Base):
    """Marketing and sales spend per calendar month and channel (for CAC)."""

    __tablename__ = "marketing_spend"

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[dt.date] = mapped_column(Date)  # first day of the month
    channel: Mapped[str] = mapped_column(String(64))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="JPY")

    __table_args__ = (UniqueConstraint("month", "channel", name="uq_marketing_spend_month_channel"),)
