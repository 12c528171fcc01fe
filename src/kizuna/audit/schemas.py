"""What the audit log page asks for and gets back."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field, model_validator

from kizuna.platform.paging import MAX_PAGE, MAX_PER_PAGE, PER_PAGE, Page


class AuditQuery(BaseModel):
    """Filters of the audit log; dates are calendar days in the business time zone, both ends included."""

    actor: str | None = Field(default=None, max_length=200)
    action: str | None = Field(default=None, max_length=64)
    entity: str | None = Field(default=None, max_length=64)
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    page: int = Field(default=1, ge=1, le=MAX_PAGE)
    per_page: int = Field(default=PER_PAGE, ge=1, le=MAX_PER_PAGE)

    @model_validator(mode="before")
    @classmethod
    def _blank_is_none(cls, data: Any) -> Any:
        # an HTML form sends an unchosen filter as an empty string
        if isinstance(data, dict):
            return {k: (None if v == "" else v) for k, v in data.items()}
        return data


class Actor(BaseModel):
    """Who wrote a row: ``kind`` is user, api_key or system; ``name`` the user's or key's name as then."""

    raw: str
    kind: str
    name: str


class AuditRow(BaseModel):
    id: int
    at: dt.datetime
    actor: Actor
    action: str
    entity: str
    entity_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditPage(Page[AuditRow]):
    """One page of the audit log and how many rows match."""


class AuditChoices(BaseModel):
    """The values each filter can take: those in the log."""

    actors: list[Actor]
    actions: list[str]
    entities: list[str]
