"""What every billing connector writes the same way: contract-line versions from a vendor's subscription items
(a change of price, quantity, MRR or kind closes the running version and opens the next), MRR net of recurring
coupons (docs/metrics.md, "Discounts and coupons"), and payments. Functions flush, never commit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from kizuna.accounts.models import Account
from kizuna.billing.models import Invoice, Payment, PaymentStatus, Subscription, SubscriptionStatus
from kizuna.connectors import service as connectors
from kizuna.connectors.service import RunLog


@dataclass(frozen=True)
class LineTerms:
    """What a contract-line version is priced at; a change of any of these closes a version and opens the next."""

    plan_id: int
    quantity: int
    mrr_minor: int
    currency: str
    billing_period_months: int
    status: SubscriptionStatus


def kind(status: str) -> str:
    """Active and cancelled (notice given, still paid) are one kind of version; trial and paused are others."""
    return "paid" if status in (SubscriptionStatus.active, SubscriptionStatus.cancelled) else status


@dataclass(frozen=True)
class Gross:
    """An item's MRR before discounts (unrounded), the months of its interval and its currency (the vendor's case)."""

    mrr: float
    months: float
    currency: str


@dataclass(frozen=True)
class Coupon:
    """What a coupon takes off: ``percent_off`` of the amount, or ``amount_off`` (minor units of ``currency``) off each
    invoice; ``item``: the one subscription item it is redeemed on (None: the whole subscription)."""

    percent_off: float | None
    amount_off: int | None
    currency: str | None
    item: str | None


def _take_off(mrr: dict[str, float], gross: Mapping[str, Gross], coupon: Coupon) -> None:
    """``coupon`` off the items of ``mrr``: a percentage off each; an amount per invoice, as a monthly amount (over
    the months of the interval), shared among the items of its currency in proportion to their MRR."""
    if coupon.percent_off is not None:
        for key in mrr:
            mrr[key] *= 1 - coupon.percent_off / 100
        return
    if not coupon.amount_off:
        return
    same = [k for k in mrr if coupon.currency is None or gross[k].currency.lower() == coupon.currency.lower()]
    total = sum(mrr[k] for k in same)
    if total <= 0:
        return
    for key in same:
        monthly = coupon.amount_off / gross[key].months
        mrr[key] = max(0.0, mrr[key] - monthly * mrr[key] / total)


def net_mrr(gross: Mapping[str, Gross | None], coupons: list[Coupon]) -> dict[str, int]:
    """Each item's MRR net of ``coupons``: the item's own first, then the subscription's (as Stripe applies them)."""
    known = {k: g for k, g in gross.items() if g is not None}
    mrr = {k: g.mrr for k, g in known.items()}
    for coupon in coupons:
        if coupon.item is not None and coupon.item in mrr:
            one = {coupon.item: mrr[coupon.item]}
            _take_off(one, known, coupon)
            mrr.update(one)
    for coupon in coupons:
        if coupon.item is None:
            _take_off(mrr, known, coupon)
    return {k: max(0, round(mrr.get(k, 0.0))) for k in gross}


def versions_of(session: Session, item_id: str) -> list[Subscription]:
    return list(
        session.scalars(
            select(Subscription).where(Subscription.contract_id == item_id).order_by(Subscription.start_date)
        )
    )


def apply_line(
    session: Session,
    *,
    account: Account,
    item_id: str,
    terms: LineTerms,
    first_day: dt.date,
    change_day: dt.date,
    trial_end: dt.date | None,
    end: dt.date | None,
    renewal: dt.date | None,
    cancelled_on: dt.date | None,
    log: RunLog,
) -> None:
    versions = versions_of(session, item_id)
    running = versions[-1] if versions else None
    if running is not None:
        if running.status == SubscriptionStatus.trial and terms.status != SubscriptionStatus.trial and trial_end:
            change_day = max(trial_end, running.start_date)  # a converted trial pays from its trial's end
        same = (
            running.plan_id == terms.plan_id
            and running.quantity == terms.quantity
            and running.mrr_minor == terms.mrr_minor
            and running.currency == terms.currency
            and kind(running.status) == kind(terms.status)
        )
        if same or change_day <= running.start_date:
            _set_terms(running, terms, end=end, renewal=renewal, cancelled_on=cancelled_on)
            log.count("unchanged" if same else "updated")
            session.flush()
            return
        running.end_date = change_day
        if running.status == SubscriptionStatus.cancelled:
            running.status = SubscriptionStatus.active  # the notice was withdrawn by the change
        first_day = change_day
    version = Subscription(
        external_id=f"{item_id}@{first_day.isoformat()}",
        contract_id=item_id,
        account_id=account.id,
        start_date=first_day,
        term_months=terms.billing_period_months,
        plan_id=terms.plan_id,
        quantity=terms.quantity,
        mrr_minor=terms.mrr_minor,
        currency=terms.currency,
        billing_period_months=terms.billing_period_months,
        status=terms.status,
    )
    _set_terms(version, terms, end=end, renewal=renewal, cancelled_on=cancelled_on)
    session.add(version)
    log.count("created")
    session.flush()


def _set_terms(
    version: Subscription,
    terms: LineTerms,
    *,
    end: dt.date | None,
    renewal: dt.date | None,
    cancelled_on: dt.date | None,
) -> None:
    version.plan_id = terms.plan_id
    version.quantity = terms.quantity
    version.mrr_minor = terms.mrr_minor
    version.currency = terms.currency
    version.billing_period_months = terms.billing_period_months
    version.status = terms.status
    version.end_date = end if end is None or end >= version.start_date else version.start_date
    version.renewal_date = renewal
    version.cancelled_at = cancelled_on


def end_removed_items(
    session: Session, vendor: str, subscription_id: str, account_id: int, kept: set[str], *, on: dt.date, log: RunLog
) -> None:
    """Items that left the subscription: their running versions end on ``on``."""
    items_stream = f"items:{subscription_id}"
    before = connectors.cursor(session, vendor=vendor, stream=items_stream)
    for item_id in set((before or "").split(",")) - kept - {""}:
        versions = versions_of(session, item_id)
        if versions and versions[-1].end_date is None:
            versions[-1].end_date = max(on, versions[-1].start_date)
            log.count("updated")
    connectors.save_cursor(session, vendor=vendor, stream=items_stream, position=",".join(sorted(kept))[:512])


def record_payment(
    session: Session,
    *,
    external_id: str,
    invoice: Invoice,
    at: dt.datetime,
    amount: int,
    status: PaymentStatus,
    attempt: int,
    reason: str | None,
    log: RunLog,
) -> None:
    row = session.scalar(select(Payment).where(Payment.external_id == external_id))
    if row is None:
        row = Payment(
            external_id=external_id,
            invoice_id=invoice.id,
            account_id=invoice.account_id,
            attempted_at=at,
            amount_minor=amount,
            currency=invoice.currency,
            status=status,
            attempt=attempt,
            failure_reason=reason if status == PaymentStatus.failed else None,
        )
        session.add(row)
        log.count("created")
    else:
        row.status = status
        row.failure_reason = reason if status == PaymentStatus.failed else None
        log.count("updated")
    session.flush()
