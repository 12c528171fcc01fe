"""What the activities API takes and gives."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from kizuna.platform.schemas import IsoDateTime, RequestBody

# A database id: bounded so that a huge number is a validation error, not an integer overflow in the database.
DbId = Annotated[int, Field(ge=1, le=2**31 - 1)]


class ActivityOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    external_id: str
    account_id: int
    contact_id: int | None
    author_id: int | None
    kind: str
    subject: str
    body: str | None
    occurred_at: dt.datetime


class ActivityCreate(RequestBody):
    kind: Literal["meeting", "call", "email", "note", "qbr"] = "note"
    subject: str = Field(min_length=1, max_length=500)
    body: str | None = Field(default=None, max_length=20_000)
    contact_id: DbId | None = None
    occurred_at: IsoDateTime | None = Field(default=None, description="Default: now. Must carry a time zone.")
