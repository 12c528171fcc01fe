"""Which account each CRM company is, and what kizuna last pushed to it."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kizuna.db import Base, utcnow


class LinkRule:
    """How a company came to be linked to its account (``crm_links.linked_by``); docs/connectors.md."""

    created = "created"  # the pull created the account
    external_id = "external_id"  # an account imported from a file carried the CRM's id as its external id
    domain = "domain"  # the only account not yet linked to this CRM with the company's web domain


class CrmLink(Base):
    """One CRM company (HubSpot company, Salesforce Account) and the kizuna account it is: one account per company and
    one company per account, per CRM. ``pushed_hash`` is the SHA-256 of the CS values last written to the company
    (None: never, or the CRM's copy was changed there since), so a push sends only the accounts whose values moved."""

    __tablename__ = "crm_links"
    __table_args__ = (
        UniqueConstraint("vendor", "remote_id", name="uq_crm_links_vendor_remote_id"),
        UniqueConstraint("vendor", "account_id", name="uq_crm_links_vendor_account_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    vendor: Mapped[str] = mapped_column(String(32))
    remote_id: Mapped[str] = mapped_column(String(128))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    linked_by: Mapped[str] = mapped_column(String(16))
    linked_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    pushed_hash: Mapped[str | None] = mapped_column(String(64))
    pushed_at: Mapped[dt.datetime | None]
