"""What the renewal center's API takes: a CSM's forecast call and a renewal's outcome."""

from __future__ import annotations

from pydantic import Field

from kizuna.platform.schemas import RequestBody


class CallIn(RequestBody):
    call: str = Field(max_length=16, description="commit, likely, at_risk or lost")
    note: str | None = Field(default=None, max_length=2000)


class OutcomeIn(RequestBody):
    outcome: str = Field(max_length=16, description="renewed, churned, downgraded or expanded")
    arr_minor: int | None = Field(default=None, ge=0, le=10**15)
