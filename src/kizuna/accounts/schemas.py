"""Pydantic I/O of the accounts REST API (and the list query the pages share)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from kizuna.platform.paging import MAX_PAGE, MAX_PER_PAGE, PER_PAGE, Page
from kizuna.platform.schemas import RequestBody

# A database id: bounded so that a huge number is a validation error, not an integer overflow in the database.
DbId = Annotated[int, Field(ge=1, le=2**31 - 1)]

SortKey = Literal["name", "-name", "mrr", "-mrr", "renewal", "-renewal", "created", "-created"]


class AccountQuery(BaseModel):
    """Filters and sort of the accounts list (page and API share it)."""

    q: str | None = Field(default=None, max_length=200, description="Search in name and external id (Japanese too).")
    owner_id: int | None = Field(default=None, ge=0, le=2**31 - 1, description="CSM (team member id); 0 = unassigned.")
    lifecycle_stage: str | None = Field(default=None, max_length=32)
    touch_tier: str | None = Field(default=None, max_length=16)
    industry: str | None = Field(default=None, max_length=100)
    region: str | None = Field(default=None, max_length=100)
    sort: SortKey = "name"
    page: int = Field(default=1, ge=1, le=MAX_PAGE)
    per_page: int = Field(default=PER_PAGE, ge=1, le=MAX_PER_PAGE)


class AccountOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    external_id: str
    name: str
    industry: str | None
    employee_band: str | None
    region: str | None
    owner_id: int | None
    lifecycle_stage: str
    touch_tier: str | None
    website: str | None
    created_at: dt.datetime


class AccountRow(AccountOut):
    """One line of the accounts list: the account plus its owner, current MRR and next renewal."""

    owner_name: str | None = None
    mrr_minor: int = 0
    currency: str = "JPY"
    next_renewal: dt.date | None = None


class AccountPage(Page[AccountRow]):
    """One page of the accounts list and how many accounts match."""


class AccountCreate(RequestBody):
    external_id: str = Field(min_length=1, max_length=128)
    name: str = Field(min_length=1, max_length=300)
    industry: str | None = Field(default=None, max_length=100)
    employee_band: str | None = Field(default=None, max_length=32)
    region: str | None = Field(default=None, max_length=100)
    owner_id: DbId | None = None
    lifecycle_stage: str = Field(default="onboarding", max_length=32)
    touch_tier: Literal["high", "low", "tech"] | None = None
    website: str | None = Field(default=None, max_length=300)


class AccountUpdate(RequestBody):
    name: str | None = Field(default=None, min_length=1, max_length=300)
    industry: str | None = Field(default=None, max_length=100)
    employee_band: str | None = Field(default=None, max_length=32)
    region: str | None = Field(default=None, max_length=100)
    owner_id: DbId | None = None
    lifecycle_stage: str | None = Field(default=None, max_length=32)
    touch_tier: Literal["high", "low", "tech"] | None = None
    website: str | None = Field(default=None, max_length=300)


class BulkAssign(RequestBody):
    account_ids: list[DbId] = Field(min_length=1, max_length=5000)
    owner_id: DbId | None = Field(description="Team member id; null unassigns.")


class ContactOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    external_id: str
    account_id: int
    name: str
    email: str | None
    title: str | None
    role: str | None
    is_champion: bool
    is_active: bool
    language: str


class ContactCreate(RequestBody):
    external_id: str | None = Field(default=None, max_length=128)
    name: str = Field(min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    title: str | None = Field(default=None, max_length=200)
    role: str | None = Field(default=None, max_length=64)
    is_champion: bool = False
    language: Literal["ja", "en"] = "ja"


class SubscriptionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    external_id: str
    contract_id: str
    account_id: int
    plan_id: int
    quantity: int | None
    mrr_minor: int
    currency: str
    term_months: int
    status: str
    start_date: dt.date
    end_date: dt.date | None
    renewal_date: dt.date | None


class MrrPoint(BaseModel):
    month: dt.date
    mrr_minor: int
