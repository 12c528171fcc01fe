"""Onboarding plan templates and success plans (goals and KPIs). Stage history is ``lifecycle_changes``
(:class:`kizuna.playbooks.models.LifecycleChange`); milestones are ``onboarding_milestones`` (the hub's table)."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import Date, Float, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kizuna.db import Base, utcnow


class OnboardingTemplate(Base):
    """An onboarding plan: ``milestones`` is a list of ``{"kind", "due_after_days", "owner": "csm"|"none",
    "is_key"}`` in order; instantiated per new account into ``onboarding_milestones``."""

    __tablename__ = "onboarding_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    touch_tier: Mapped[str | None] = mapped_column(String(16))  # the tier it is the default for (None: any)
    milestones: Mapped[list[Any]]
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class GoalStatus(enum.StrEnum):
    not_started = "not_started"
    on_track = "on_track"
    off_track = "off_track"
    achieved = "achieved"
    missed = "missed"


class SuccessGoal(Base):
    """One goal of an account's success plan: the customer's own goal, the KPI that measures it and its target."""

    __tablename__ = "success_goals"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    goal: Mapped[str] = mapped_column(String(500))
    kpi: Mapped[str | None] = mapped_column(String(200))
    unit: Mapped[str | None] = mapped_column(String(32))
    baseline_value: Mapped[float | None] = mapped_column(Float)
    target_value: Mapped[float | None] = mapped_column(Float)
    current_value: Mapped[float | None] = mapped_column(Float)
    target_date: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default=GoalStatus.not_started)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("team_members.id", ondelete="SET NULL"))
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    achieved_at: Mapped[dt.datetime | None]


class LifecycleChange(Base):
    """History of lifecycle stage changes (whoever changes a stage writes one row)."""

    __tablename__ = "lifecycle_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    from_stage: Mapped[str | None] = mapped_column(String(32))
    to_stage: Mapped[str] = mapped_column(String(32))
    changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
