"""Pydantic I/O of the health domain."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from kizuna.platform.schemas import IsoDate, RequestBody


class OverrideIn(RequestBody):
    scorecard: str = Field(default="overall", min_length=1, max_length=64)
    band: Literal["red", "yellow", "green"]
    score: float | None = Field(default=None, ge=0, le=100)
    reason: str = Field(min_length=1, max_length=5000)
    expires_on: IsoDate


class HealthScoreOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    account_id: int
    scorecard: str
    scorecard_version: int
    as_of: dt.date
    score: float | None
    band: str | None
    computed_score: float | None
    computed_band: str | None
    override_id: int | None
    known_weight: float
    missing: list[str]
    contributions: list[dict[str, Any]]


class OverrideOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    account_id: int
    scorecard: str
    band: str
    score: float | None
    reason: str
    author: str
    starts_on: dt.date
    expires_on: dt.date
    revoked_at: dt.datetime | None
