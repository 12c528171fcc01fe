"""Messages of Segment's HTTP tracking spec (https://segment.com/docs/connections/sources/catalog/libraries/server/http-api/)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MessageType = Literal["track", "identify", "group", "page", "screen", "alias"]


class SegmentMessage(BaseModel):
    """One call. Unknown fields are kept (Segment libraries add their own); ``userId`` may be a number."""

    model_config = ConfigDict(extra="allow")

    type: MessageType | None = None
    messageId: str | None = Field(default=None, max_length=200)
    userId: str | int | None = None
    anonymousId: str | int | None = None
    event: str | None = Field(default=None, max_length=200)
    name: str | None = Field(default=None, max_length=200)
    groupId: str | int | None = None
    properties: dict[str, Any] | None = None
    traits: dict[str, Any] | None = None
    context: dict[str, Any] | None = None
    timestamp: dt.datetime | None = None
    originalTimestamp: dt.datetime | None = None
    sentAt: dt.datetime | None = None


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    batch: list[SegmentMessage] = Field(max_length=20_000)
    context: dict[str, Any] | None = None


class IngestResult(BaseModel):
    success: bool = True
    accepted: int = Field(description="Events written (track, page, screen).")
    identities: int = Field(description="identify/group calls applied.")
    duplicates: int = Field(description="Messages dropped because their messageId was seen before.")
    unmatched: int = Field(description="Events dropped because no account could be found for them.")
