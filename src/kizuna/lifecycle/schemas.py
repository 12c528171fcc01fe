"""What the lifecycle API takes: a stage change, a success-plan goal and progress on one."""

from __future__ import annotations

from pydantic import Field

from kizuna.platform.schemas import IsoDate, RequestBody


class StageIn(RequestBody):
    stage: str = Field(max_length=32)
    reason: str | None = Field(default=None, max_length=5000)


class GoalIn(RequestBody):
    goal: str = Field(max_length=500)
    kpi: str | None = Field(default=None, max_length=200)
    unit: str | None = Field(default=None, max_length=32)
    baseline_value: float | None = None
    target_value: float | None = None
    target_date: IsoDate | None = None


class GoalUpdate(RequestBody):
    current_value: float | None = None
    status: str | None = Field(default=None, max_length=16)
    note: str | None = Field(default=None, max_length=5000)
