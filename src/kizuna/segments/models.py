"""Saved segments and their membership history; touch-tier policies and the history of tier changes."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kizuna.db import Base, utcnow


class SegmentKind(enum.StrEnum):
    rule = "rule"  # conditions over account attributes and computed metrics
    rfm = "rfm"  # one RFM segment name (champions, at risk, ...) from invoices/payments


class Segment(Base):
    """A saved segment definition, re-evaluated on every refresh (``definition``: ``{"match": "all"|"any",
    "rules": [Condition, ...]}`` for rule segments, ``{"rfm_segment": "champions"}`` for RFM ones)."""

    __tablename__ = "segments"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16), default=SegmentKind.rule)
    definition: Mapped[dict[str, Any]]
    active: Mapped[bool] = mapped_column(default=True)
    member_count: Mapped[int] = mapped_column(default=0)
    evaluated_at: Mapped[dt.datetime | None]
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SegmentMembership(Base):
    """One stay of an account in a segment: ``left_at`` is None while it is a member (the history is every row)."""

    __tablename__ = "segment_memberships"

    id: Mapped[int] = mapped_column(primary_key=True)
    segment_id: Mapped[int] = mapped_column(ForeignKey("segments.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    joined_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    left_at: Mapped[dt.datetime | None]
    reason: Mapped[str | None] = mapped_column(String(500))  # why it joined (the rule values), for the audit

    __table_args__ = (Index("ix_segment_memberships_segment_current", "segment_id", "left_at"),)


class TouchTierPolicy(Base):
    """ACV thresholds for touch tiers (the newest row is in force): ACV >= high → high touch, >= low → low touch,
    else tech touch. Money in minor units of ``currency``."""

    __tablename__ = "touch_tier_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    high_touch_min_acv_minor: Mapped[int] = mapped_column(BigInteger)
    low_touch_min_acv_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="JPY")
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class TierCapacity(Base):
    """How many accounts of one touch tier one CSM can carry (a high-touch account takes far more of a CSM's time
    than a tech-touch one): a CSM's load is the sum over tiers of accounts owned / this capacity."""

    __tablename__ = "tier_capacities"

    id: Mapped[int] = mapped_column(primary_key=True)
    tier: Mapped[str] = mapped_column(String(16), unique=True)
    accounts_per_csm: Mapped[int]
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class TouchTierChange(Base):
    """History of ``accounts.touch_tier``: one row per change, with the ACV that decided it."""

    __tablename__ = "touch_tier_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    from_tier: Mapped[str | None] = mapped_column(String(16))
    to_tier: Mapped[str] = mapped_column(String(16))
    acv_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="JPY")
    changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(200))
