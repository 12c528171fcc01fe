"""Segment definitions (validated) and the read models of coverage."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kizuna.playbooks.schemas import Condition


class SegmentDefinition(BaseModel):
    """``rules`` (conditions over account attributes, see :mod:`kizuna.playbooks.conditions`; ``rfm.segment``,
    ``rfm.r_score`` ... are attributes too) joined by ``match``; or ``rfm_segment``, one RFM segment name."""

    model_config = ConfigDict(extra="forbid")

    match: Literal["all", "any"] = "all"
    rules: list[Condition] = Field(default_factory=list)
    rfm_segment: str | None = None

    @model_validator(mode="after")
    def _something(self) -> SegmentDefinition:
        if not self.rules and self.rfm_segment is None:
            raise ValueError("a segment needs rules or an rfm_segment")
        if self.rules and self.rfm_segment is not None:
            raise ValueError("a segment has rules or an rfm_segment, not both")
        return self

    def as_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class Book(BaseModel):
    """One CSM's book of business and how it compares with the CSM's capacity."""

    owner_id: int
    owner_name: str
    accounts: int
    arr_minor: int
    currency: str
    capacity_accounts: int | None
    capacity_arr_minor: int | None
    account_load: float | None  # accounts / capacity_accounts
    arr_load: float | None  # ARR / capacity_arr_minor
    load: float | None  # the larger of the two
    coverage: Literal["over", "balanced", "under", "no_capacity"]
    by_tier: dict[str, int]


class Assignment(BaseModel):
    account_id: int
    account_name: str
    tier: str | None
    owner_id: int
    owner_name: str
