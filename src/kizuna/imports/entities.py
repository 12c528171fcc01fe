"""What each importable entity looks like from a file: its columns, their types, required fields and references.

The specs are derived from the ORM tables (so a new column is importable without touching this module) plus what the
tables cannot say: enumerations, lower bounds, the columns that carry references by external id, and a few derived
columns (``employees`` → ``employee_band``; ``last_name`` + ``first_name`` → ``name``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

from sqlalchemy import BigInteger, Boolean, Date, Float, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapper

from kizuna.accounts.models import Account, Contact, LifecycleStage, TeamMember, TeamRole, TouchTier
from kizuna.activities.models import Activity, ActivityKind
from kizuna.billing.models import (
    FxRate,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentStatus,
    Plan,
    Product,
    Subscription,
    SubscriptionStatus,
)
from kizuna.db import Base, UTCDateTime
from kizuna.funnel.models import Lead, LeadStatus, MarketingSpend, Opportunity, OpportunityKind, OpportunityStage
from kizuna.imports.values import INT16, INT32, INT64
from kizuna.onboarding.models import MilestoneKind, OnboardingMilestone
from kizuna.support.models import Ticket, TicketChannel, TicketPriority
from kizuna.voc.models import SurveyKind, SurveyResponse, VocChannel, VocEntry

FieldKind = Literal["text", "int", "number", "money", "date", "datetime", "bool"]

EVENTS = "events"


@dataclass(frozen=True)
class FieldSpec:
    """One importable column of an entity (the ORM column's name)."""

    name: str
    kind: FieldKind
    required: bool = False
    max_length: int | None = None
    choices: tuple[str, ...] | None = None
    minimum: int | None = None
    maximum: int | None = None
    nullable: bool = True  # False: a blank cell leaves the column to its default (insert) or as it is (update)
    storage: tuple[int, int] | None = None  # the whole numbers the SQL column holds (int and money fields)


@dataclass(frozen=True)
class ReferenceSpec:
    """A foreign key filled from the source's key of the referenced row.

    ``sources`` are the import columns that may carry it, each with the attribute of the target it is matched on:
    ``account_external_id`` and ``account_id`` both mean the source's account key (``accounts.external_id``).
    """

    column: str
    target: type[Base]
    sources: tuple[tuple[str, str], ...]
    required: bool


@dataclass(frozen=True)
class EntitySpec:
    name: str
    model: type[Base]
    key: tuple[str, ...]
    fields: dict[str, FieldSpec]
    references: tuple[ReferenceSpec, ...]
    unique_together: tuple[tuple[str, ...], ...] = ()
    derived: tuple[str, ...] = ()  # extra input columns turned into fields by the service
    label: str = ""

    @property
    def required_columns(self) -> list[str]:
        return [f.name for f in self.fields.values() if f.required]

    @property
    def amount_columns(self) -> dict[str, str]:
        """Amount column → its ``*_minor`` field: ``mrr`` holds an amount of the row's currency (``12.50`` USD),
        ``mrr_minor`` the same in minor units (``1250``). One rule for every money field (docs/imports.md)."""
        return {
            f.name.removesuffix("_minor"): f.name
            for f in self.fields.values()
            if f.kind == "money" and f.name.removesuffix("_minor") not in self.fields
        }

    def known_columns(self) -> set[str]:
        names = set(self.fields) | set(self.derived) | set(self.amount_columns)
        for ref in self.references:
            names.update(source for source, _ in ref.sources)
        return names


def _values(kind: type[enum.StrEnum]) -> tuple[str, ...]:
    return tuple(member.value for member in kind)


ENUMS: dict[str, dict[str, tuple[str, ...]]] = {
    "accounts": {"lifecycle_stage": _values(LifecycleStage), "touch_tier": _values(TouchTier)},
    "team_members": {"role": _values(TeamRole)},
    "subscriptions": {"status": _values(SubscriptionStatus)},
    "invoices": {"status": _values(InvoiceStatus)},
    "payments": {"status": _values(PaymentStatus)},
    "tickets": {
        "priority": _values(TicketPriority),
        "channel": _values(TicketChannel),
        "status": ("open", "pending", "closed"),
    },
    "survey_responses": {"kind": _values(SurveyKind)},
    "voc_entries": {"channel": _values(VocChannel), "language": ("ja", "en")},
    "activities": {"kind": _values(ActivityKind)},
    "onboarding_milestones": {"kind": _values(MilestoneKind)},
    "leads": {"status": _values(LeadStatus)},
    "opportunities": {"stage": _values(OpportunityStage), "kind": _values(OpportunityKind)},
}

# Lower (and upper) bounds: seats, quantities and prices are never negative; periods are at least a month.
BOUNDS: dict[str, tuple[int | None, int | None]] = {
    "quantity": (0, None),
    "mrr_minor": (0, None),
    "list_price_minor": (0, None),
    "capacity_accounts": (0, None),
    "capacity_arr_minor": (0, None),
    "billing_period_months": (1, None),
    "term_months": (1, None),
    "attempt": (1, None),
    "csat": (1, 5),
}
NON_NEGATIVE_AMOUNTS = {"opportunities", "marketing_spend", "payments"}

# What each referenced table can be matched on, by the suffix of the import column.
LOOKUPS: dict[type[Base], dict[str, str]] = {
    Account: {"external_id": "external_id", "id": "external_id", "name": "name"},
    TeamMember: {"external_id": "external_id", "id": "external_id", "email": "email", "name": "name"},
    Contact: {"external_id": "external_id", "id": "external_id", "email": "email"},
    Plan: {"external_id": "external_id", "id": "external_id"},
    Product: {"external_id": "external_id", "id": "external_id", "name": "name"},
    Invoice: {"external_id": "external_id", "id": "external_id"},
    Lead: {"external_id": "external_id", "id": "external_id"},
}

MODELS: dict[str, type[Base]] = {
    "accounts": Account,
    "contacts": Contact,
    "team_members": TeamMember,
    "products": Product,
    "plans": Plan,
    "subscriptions": Subscription,
    "invoices": Invoice,
    "payments": Payment,
    "tickets": Ticket,
    "survey_responses": SurveyResponse,
    "voc_entries": VocEntry,
    "activities": Activity,
    "onboarding_milestones": OnboardingMilestone,
    "leads": Lead,
    "opportunities": Opportunity,
    "marketing_spend": MarketingSpend,
    "fx_rates": FxRate,
}

# The key rows are upserted on, where it is not ``external_id``.
KEYS: dict[str, tuple[str, ...]] = {"marketing_spend": ("month", "channel"), "fx_rates": ("date", "currency")}

ENTITY_NAMES: tuple[str, ...] = (*MODELS, EVENTS)

DERIVED: dict[str, tuple[str, ...]] = {
    "accounts": ("employees",),
    # a billing export's unit price per period (MRR = price x quantity / months) and a converted trial's end
    "subscriptions": ("price", "trial_end", "interval_count"),
    "plans": ("interval_count",),
    "tickets": ("first_response_minutes",),  # the minutes to the first reply (Zendesk): first_response_at
    "contacts": ("first_name", "last_name"),
    "leads": ("first_name", "last_name"),
}

# Columns filled by the service when the file leaves them out (so they are not "missing required columns").
FILLED_BY_SERVICE: dict[str, set[str]] = {
    "contacts": {"name"},
    "leads": {"contact_name"},
    "subscriptions": {"contract_id"},
    "payments": {"account_id"},
}


def _kind(column: Any) -> FieldKind:
    t = column.type
    if isinstance(t, UTCDateTime):
        return "datetime"
    if isinstance(t, Date):
        return "date"
    if isinstance(t, Boolean):
        return "bool"
    if isinstance(t, Float):
        return "number"
    if column.name.endswith("_minor"):
        return "money"
    if isinstance(t, (BigInteger, Integer)):
        return "int"
    return "text"


def _storage(column: Any) -> tuple[int, int] | None:
    """The range of an integer column, the narrower of SQLite's and PostgreSQL's (PostgreSQL's: SQLite's INTEGER is
    always 64 bits)."""
    t = column.type
    if isinstance(t, BigInteger):
        return INT64
    if isinstance(t, SmallInteger):
        return INT16
    if isinstance(t, Integer):
        return INT32
    return None


@cache
def entity_spec(name: str) -> EntitySpec:
    """The import spec of the entity ``name`` (e.g. ``"accounts"``)."""
    model = MODELS[name]
    mapper: Mapper[Any] = model.__mapper__
    table: Any = mapper.local_table
    fields: dict[str, FieldSpec] = {}
    references: list[ReferenceSpec] = []
    enums = ENUMS.get(name, {})
    for column in table.columns:
        if column.primary_key:
            continue
        has_default = column.default is not None or column.server_default is not None
        required = not column.nullable and not has_default
        if name in FILLED_BY_SERVICE and column.name in FILLED_BY_SERVICE[name]:
            required = False
        if column.foreign_keys:
            fk = next(iter(column.foreign_keys))
            target = next(mp.class_ for mp in Base.registry.mappers if mp.local_table is fk.column.table)
            prefix = column.name.removesuffix("_id")
            sources = tuple((f"{prefix}_{suffix}", attr) for suffix, attr in LOOKUPS[target].items())
            references.append(ReferenceSpec(column.name, target, sources, required=required))
            continue
        lo, hi = BOUNDS.get(column.name, (None, None))
        if column.name == "amount_minor" and name in NON_NEGATIVE_AMOUNTS:
            lo = 0
        max_length = (
            column.type.length if isinstance(column.type, String) and not isinstance(column.type, Text) else None
        )
        fields[column.name] = FieldSpec(
            name=column.name,
            kind=_kind(column),
            required=required,
            max_length=max_length,
            choices=enums.get(column.name),
            minimum=lo,
            maximum=hi,
            nullable=bool(column.nullable),
            storage=_storage(column),
        )
    key = KEYS.get(name, ("external_id",))
    unique_together = tuple(
        tuple(c.name for c in constraint.columns)
        for constraint in table.constraints
        if constraint.__class__.__name__ == "UniqueConstraint"
    ) + tuple((c.name,) for c in table.columns if c.unique and c.name != "external_id")
    unique_together = tuple(u for u in dict.fromkeys(unique_together) if u != key)
    return EntitySpec(
        name=name,
        model=model,
        key=key,
        fields=fields,
        references=tuple(references),
        unique_together=unique_together,
        derived=DERIVED.get(name, ()),
    )


@dataclass
class EventColumns:
    """The columns of a product usage events file, as kizuna names them."""

    required: tuple[str, ...] = ("event_name", "timestamp")
    account_keys: tuple[str, ...] = ("account_external_id", "account_id")
    optional: tuple[str, ...] = field(default=("event_id", "user_id", "feature", "properties"))

    def known(self) -> set[str]:
        return {*self.required, *self.account_keys, *self.optional}
