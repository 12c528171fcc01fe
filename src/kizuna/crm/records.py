"""What an adapter reads from a CRM, in kizuna's words, before the service validates it (values as sent)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

from kizuna.connectors.service import RunLog

#: the streams of a pull, in the order they are read (contacts and deals point at companies)
STREAMS = ("companies", "contacts", "deals")

#: the CS fields kizuna owns and pushes back, by their kizuna name; each adapter maps them to its property names
CS_FIELDS = (
    "health_score",
    "health_band",
    "churn_risk",
    "churn_risk_band",
    "lifecycle_stage",
    "next_renewal_date",
    "csm",
    "csm_owner",
)
#: the CS fields that are numbers (one decimal) and the one that is a date, for comparing the CRM's copy
NUMERIC_FIELDS = ("health_score", "churn_risk")
DATE_FIELDS = ("next_renewal_date",)


@dataclass(frozen=True)
class Company:
    """A HubSpot company or Salesforce Account."""

    remote_id: str
    modified_at: dt.datetime
    name: str | None
    industry: str | None = None
    website: str | None = None
    region: str | None = None
    employees: str | None = None
    #: the CS fields' values as the CRM holds them now, by kizuna name (None: not read, e.g. the fields are missing)
    cs_values: dict[str, str | None] | None = None


@dataclass(frozen=True)
class Person:
    """A HubSpot contact or Salesforce Contact, at the company ``company_id`` (the CRM's id)."""

    remote_id: str
    modified_at: dt.datetime
    company_id: str | None
    name: str | None
    email: str | None = None
    title: str | None = None
    #: the CRM's name of the field that holds the company (for rejects)
    company_field: str = "company"


@dataclass(frozen=True)
class Deal:
    """A HubSpot deal or Salesforce Opportunity. ``outcome`` is ``won``, ``lost`` or ``open``."""

    remote_id: str
    modified_at: dt.datetime
    company_id: str | None
    name: str | None
    outcome: str
    amount: str | None
    currency: str
    created_at: dt.datetime | None
    close_date: str | None
    kind: str = "new"
    amount_field: str = "amount"


Record = Company | Person | Deal


@dataclass(frozen=True)
class Page:
    """One page of one stream: its records in modified order and the modified-since instant to resume from."""

    stream: str
    records: list[Record]
    resume_from: dt.datetime | None


@dataclass(frozen=True)
class CsUpdate:
    """The CS values kizuna pushes to one CRM company (``None``: clear the CRM's value); ``digest`` is their hash
    (:func:`kizuna.crm.service.digest`), recorded once the CRM took them; ``csm_email`` finds the CSM's CRM user."""

    remote_id: str
    values: dict[str, str | None] = field(default_factory=dict)
    digest: str = ""
    csm_email: str | None = None


class CrmAdapter(Protocol):
    """One CRM, spoken through its vendor's client: pages of changed records, and the push of CS values."""

    vendor: str

    def pages(self, stream: str, since: dt.datetime | None, log: RunLog) -> Iterator[Page]:
        """The records of ``stream`` modified at or after ``since`` (all when None), oldest first, page by page."""
        ...

    def prepare_push(self, log: RunLog) -> None:
        """Make sure the CRM has the fields a push writes: create what the CRM lets kizuna create, else raise
        ConfigurationError naming each missing field and how to add it."""
        ...

    def owner_ids(self, emails: list[str], log: RunLog) -> dict[str, str]:
        """The CRM user (HubSpot owner id, Salesforce User Id) of each e-mail that has one, by lower-cased e-mail."""
        ...

    def push(self, updates: list[CsUpdate], log: RunLog) -> set[str]:
        """Write ``updates`` to the CRM's custom properties / fields; count ``pushed``, reject what the CRM refused.
        Returns the remote ids the CRM took."""
        ...
