"""Onboarding milestones per account."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kizuna.db import Base


class MilestoneKind(enum.StrEnum):
    kickoff = "kickoff"
    initial_setup = "initial_setup"
    training = "training"
    milestone_agreement = "milestone_agreement"
    feedback = "feedback"


class OnboardingMilestone(Base):
    __tablename__ = "onboarding_milestones"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(128), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("team_members.id", ondelete="SET NULL"))
    due_on: Mapped[dt.date] = mapped_column(Date)
    completed_at: Mapped[dt.datetime | None]
    is_key: Mapped[bool] = mapped_column(default=False)  # the first value moment: time-to-value ends here

    __table_args__ = (UniqueConstraint("account_id", "kind", name="uq_onboarding_milestones_account_kind"),)
