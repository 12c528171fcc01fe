"""What the tasks API takes and gives."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from kizuna.platform.paging import Page
from kizuna.platform.schemas import IsoDate, RequestBody


class TaskOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    account_id: int | None
    owner_id: int | None
    title: str
    reason: str | None
    priority: str
    status: str
    due_on: dt.date | None
    source: str | None
    created_by: str
    created_at: dt.datetime
    completed_at: dt.datetime | None
    outcome: str | None


class TaskPageOut(Page[TaskOut]):
    """One page of tasks and how many the whole list holds."""


class TaskCreate(RequestBody):
    title: str = Field(min_length=1, max_length=500, pattern=r"\S")
    account_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    owner_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    reason: str | None = Field(default=None, max_length=5000)
    priority: Literal["low", "normal", "high", "urgent"] = "normal"
    due_on: IsoDate | None = None


class TaskDone(RequestBody):
    outcome: str | None = Field(default=None, max_length=5000)
