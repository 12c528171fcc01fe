"""Segment definitions (validated) and the read models of coverage."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kizuna.platform.schemas import RequestBody


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


OPERATORS = ("eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "contains", "exists")


class Condition(_Strict):
    """``{field: <account attribute>, <operator>: <value>}`` with exactly one operator."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    field: str
    eq: Any = None
    ne: Any = None
    in_: list[Any] | None = Field(default=None, alias="in")
    not_in: list[Any] | None = None
    gt: float | None = None
    gte: float | None = None
    lt: float | None = None
    lte: float | None = None
    contains: Any = None
    exists: bool | None = None

    @model_validator(mode="after")
    def _one_operator(self) -> Condition:
        given = [op for op in OPERATORS if getattr(self, "in_" if op == "in" else op) is not None]
        if len(given) != 1:
            raise ValueError(f"a condition needs exactly one operator of {', '.join(OPERATORS)}; got {given or 'none'}")
        return self

    @property
    def operator(self) -> tuple[str, Any]:
        for op in OPERATORS:
            value = getattr(self, "in_" if op == "in" else op)
            if value is not None:
                return op, value
        raise AssertionError("validated")


class SegmentDefinition(BaseModel):
    """``rules`` (conditions over account attributes, see :mod:`kizuna.segments.attributes`; ``rfm.segment``,
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
    at_risk: int = 0  # accounts at risk (lifecycle stage, or the churn model's high band)
    capacity_accounts: int | None  # the CSM's own figure, shown; the load comes from the tiers' capacities
    capacity_arr_minor: int | None
    account_load: float | None  # sum over tiers of accounts / the tier's accounts-per-CSM capacity
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


class SegmentIn(RequestBody):
    """A segment to save through the API; ``definition`` is a :class:`SegmentDefinition` (checked by the service)."""

    key: str = Field(max_length=100)
    name: str = Field(max_length=300)
    definition: dict[str, Any]
    description: str | None = Field(default=None, max_length=5000)


class AssignIn(RequestBody):
    """Which accounts to give an owner (none given: every unowned one) and how to choose the CSMs."""

    strategy: str = Field(default="least_loaded", max_length=32)
    tier: str | None = Field(default=None, max_length=16)
    csm_ids: list[Annotated[int, Field(ge=1, le=2**31 - 1)]] | None = Field(default=None, max_length=5000)
    account_ids: list[Annotated[int, Field(ge=1, le=2**31 - 1)]] | None = Field(default=None, max_length=100_000)
