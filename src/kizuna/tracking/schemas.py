"""Messages of Segment's HTTP tracking spec (https://segment.com/docs/connections/sources/catalog/libraries/server/http-api/)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from kizuna.platform.schemas import IsoDateTime, RequestBody

#: a user, anonymous or group id: text up to 200 characters, or a whole number (Segment's libraries send either)
Identifier = Annotated[str, Field(max_length=200)] | Annotated[int, Field(ge=-(2**63), lt=2**63)]
MessageType = Literal["track", "identify", "group", "page", "screen", "alias"]


class SegmentMessage(RequestBody):
    """One call. Unknown fields are kept (Segment libraries add their own); ``userId`` may be a number (never
    ``true``: types are strict); times are ISO 8601 text."""

    model_config = ConfigDict(extra="allow")

    type: MessageType | None = None
    messageId: str | None = Field(default=None, max_length=200)
    userId: Identifier | None = None
    anonymousId: Identifier | None = None
    event: str | None = Field(default=None, max_length=200)
    name: str | None = Field(default=None, max_length=200)
    groupId: Identifier | None = None
    properties: dict[str, Any] | None = None
    traits: dict[str, Any] | None = None
    context: dict[str, Any] | None = None
    timestamp: IsoDateTime | None = None
    originalTimestamp: IsoDateTime | None = None
    sentAt: IsoDateTime | None = None


class BatchRequest(RequestBody):
    """A batch: each item is a :class:`SegmentMessage`, validated one by one so that one bad message does not lose
    the others (it is reported in ``errors`` by its index)."""

    model_config = ConfigDict(extra="allow")

    batch: list[dict[str, Any]] = Field(
        max_length=20_000, description="Segment messages (each as SegmentMessage); invalid ones are reported apart."
    )
    context: dict[str, Any] | None = None


class RejectedMessage(BaseModel):
    index: int = Field(description="Position of the message in the batch.")
    message: str = Field(description="Why it was not accepted.")


class IngestResult(BaseModel):
    success: bool = True
    accepted: int = Field(description="Events written (track, page, screen).")
    identities: int = Field(description="identify/group calls applied.")
    duplicates: int = Field(description="Messages dropped because their messageId was seen before.")
    unmatched: int = Field(description="Events dropped because no account could be found for them.")
    rejected: int = Field(default=0, description="Messages of a batch that were invalid (see errors); the rest count.")
    errors: list[RejectedMessage] = Field(default_factory=list)
