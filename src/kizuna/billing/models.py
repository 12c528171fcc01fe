"""Products, plans, subscriptions (contract lines with their full history), invoices, payments and exchange rates.

Money is integer minor units plus an ISO 4217 currency (JPY has no minor unit, so yen are stored as they are); every
amount stays in its own currency, and the KPIs convert it to the company's base currency with the dated rates of
``fx_rates`` (docs/metrics.md).
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import BigInteger, Date, Float, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kizuna.db import Base, utcnow


class SubscriptionStatus(enum.StrEnum):
    trial = "trial"  # free until end_date: never MRR; converted when a paid line of the account follows it
    active = "active"
    paused = "paused"  # on hold for [start_date, end_date): neither MRR nor churn; the next active version resumes
    cancelled = "cancelled"  # notice given (cancelled_at); still paid until end_date
    churned = "churned"  # ended, not renewed


class InvoiceStatus(enum.StrEnum):
    open = "open"
    paid = "paid"
    failed = "failed"
    retrying = "retrying"
    written_off = "written_off"


class PaymentStatus(enum.StrEnum):
    succeeded = "succeeded"
    failed = "failed"
    refunded = "refunded"


class Product(Base):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(128), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    is_addon: Mapped[bool] = mapped_column(default=False)


class Plan(Base):
    """A price point of a product. ``list_price_minor`` is per seat (or per unit) per billing period."""

    __tablename__ = "plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(128), unique=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    is_addon: Mapped[bool] = mapped_column(default=False)
    list_price_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="JPY")
    billing_period_months: Mapped[int] = mapped_column(default=1)


class Subscription(Base):
    """One version of one contract line, valid on ``[start_date, end_date)``.

    A change of seats, price or plan closes the running version (its ``end_date``) and opens a new one with the same
    ``contract_id``, so every MRR movement can be derived from this table alone. ``mrr_minor`` is the line's monthly
    recurring revenue: annual and multi-month contracts are normalised to one month (amount / months).
    """

    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(160), unique=True)
    contract_id: Mapped[str] = mapped_column(String(128), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    quantity: Mapped[int | None]  # seats or units; None: unknown (never read as 1: one user is not 100 % use)
    mrr_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="JPY")
    billing_period_months: Mapped[int] = mapped_column(default=1)
    term_months: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(String(16), default=SubscriptionStatus.active)
    start_date: Mapped[dt.date] = mapped_column(Date, index=True)
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    renewal_date: Mapped[dt.date | None] = mapped_column(Date, index=True)
    cancelled_at: Mapped[dt.date | None] = mapped_column(Date)  # the day notice was given (service runs to end_date)
    cancellation_reason: Mapped[str | None] = mapped_column(String(64))  # e.g. payment_failed (involuntary)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Invoice(Base):
    __tablename__ = "invoices"
    # an account's latest rows (customer 360): without it PostgreSQL walked the whole issued_on index
    __table_args__ = (Index("ix_invoices_account_id_issued_on", "account_id", "issued_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(128), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    contract_id: Mapped[str | None] = mapped_column(String(128))
    issued_on: Mapped[dt.date] = mapped_column(Date, index=True)
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="JPY")
    status: Mapped[str] = mapped_column(String(16), default=InvoiceStatus.open)
    paid_at: Mapped[dt.datetime | None]


class Payment(Base):
    """One attempt to collect an invoice; a failed attempt followed by a retry is two rows."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(128), unique=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    attempted_at: Mapped[dt.datetime] = mapped_column(index=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="JPY")
    status: Mapped[str] = mapped_column(String(16))
    attempt: Mapped[int] = mapped_column(default=1)
    failure_reason: Mapped[str | None] = mapped_column(String(200))


class FxRate(Base):
    """A dated exchange rate: on ``date`` (and until the currency's next rate), one unit of ``currency`` is worth
    ``rate`` units of the company's base currency (``KIZUNA_CURRENCY``), e.g. ``2026-01-01, USD, 148.5`` for JPY.

    Units, not minor units: the conversion of minor units applies each currency's exponent (docs/metrics.md).
    """

    __tablename__ = "fx_rates"

    id: Mapped[int] = mapped_column(primary_key=True)
    date: Mapped[dt.date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    rate: Mapped[float] = mapped_column(Float)

    __table_args__ = (UniqueConstraint("date", "currency", name="uq_fx_rates_date_currency"),)
