"""Accounts (customer companies), their contacts / end users, and the CS team."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kizuna.db import Base, utcnow


class LifecycleStage(enum.StrEnum):
    onboarding = "onboarding"
    adoption = "adoption"
    expansion = "expansion"
    renewal = "renewal"
    at_risk = "at_risk"
    churned = "churned"


class TouchTier(enum.StrEnum):
    high = "high"
    low = "low"
    tech = "tech"


class TeamRole(enum.StrEnum):
    csm = "csm"
    cs_manager = "cs_manager"
    marketing = "marketing"
    inside_sales = "inside_sales"
    field_sales = "field_sales"
    support = "support"


class TeamMember(Base):
    """A member of the customer-facing team: CSMs own accounts; sales and marketing own leads."""

    __tablename__ = "team_members"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(128), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    role: Mapped[str] = mapped_column(String(32), default=TeamRole.csm)
    capacity_accounts: Mapped[int | None]
    capacity_arr_minor: Mapped[int | None]
    # new generated tasks a day (playbooks); None: kizuna.tasks.models.DEFAULT_DAILY_TASK_BUDGET
    daily_task_budget: Mapped[int | None]
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Account(Base):
    """A customer company (取引先)."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(128), unique=True)
    name: Mapped[str] = mapped_column(String(300), index=True)
    industry: Mapped[str | None] = mapped_column(String(100))
    employee_band: Mapped[str | None] = mapped_column(String(32))
    region: Mapped[str | None] = mapped_column(String(100))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("team_members.id", ondelete="SET NULL"), index=True)
    lifecycle_stage: Mapped[str] = mapped_column(String(32), default=LifecycleStage.onboarding)
    touch_tier: Mapped[str | None] = mapped_column(String(16))
    website: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Contact(Base):
    """A person at an account: a contact for the CS team and/or an end user of the product."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(128), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    title: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str | None] = mapped_column(String(64))  # decision_maker, admin, end_user, billing, ...
    is_champion: Mapped[bool] = mapped_column(default=False)
    is_active: Mapped[bool] = mapped_column(default=True)
    language: Mapped[str] = mapped_column(String(8), default="ja")
    deactivated_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("account_id", "email", name="uq_contacts_account_email"),)
