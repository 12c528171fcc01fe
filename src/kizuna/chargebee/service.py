"""Chargebee objects into hub rows, as Stripe's become them (``kizuna.connectors.lines``): customers → accounts, item
prices → plans, subscription items → contract-line versions, invoices and transactions → invoices, payments and
payment failures. Functions flush, never commit.

Order: every Chargebee object carries ``resource_version`` (milliseconds, raised by each change), so what is newer
is the object's own word, not the delivery's: each object's latest applied version is kept as a connectors cursor
(stream ``seen:<type>:<id>``) and an object no newer than it is left out. The day of a change is the event's
``occurred_at`` (a back-fill: the day of its read).

Product Catalog 2.0: a subscription's ``subscription_items`` name item prices; the plan and its add-ons are recurring
(one contract line each, ``<subscription id>/<item price id>``), charges are one-off and left out. Amounts are in the
currency's smallest unit (cents; JPY is zero-decimal, whole yen), as kizuna's minor unit.

Coupons: a subscription names its coupons (``coupons[].coupon_id``, ``apply_till``); their terms come from the
coupon objects (back-fill stream ``coupons``, ``coupon_*`` events), kept as cursors ``coupon:<id>``. ``forever`` and
``limited_period`` coupons (until ``apply_till``) net MRR, ``one_time`` coupons do not (docs/metrics.md).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kizuna.accounts.models import Account
from kizuna.billing.models import (
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentStatus,
    Plan,
    Product,
    SubscriptionStatus,
)
from kizuna.connectors import lines
from kizuna.connectors import service as connectors
from kizuna.connectors.service import RunLog

VENDOR = "chargebee"

#: Chargebee's subscription statuses as contract-line statuses (``future``: not started yet, skipped)
STATUSES: dict[str, SubscriptionStatus] = {
    "in_trial": SubscriptionStatus.trial,
    "active": SubscriptionStatus.active,
    "non_renewing": SubscriptionStatus.cancelled,  # cancellation scheduled: paid until cancelled_at
    "paused": SubscriptionStatus.paused,
    "cancelled": SubscriptionStatus.churned,
    "transferred": SubscriptionStatus.churned,
}

INVOICE_STATUSES: dict[str, InvoiceStatus] = {
    "pending": InvoiceStatus.open,
    "posted": InvoiceStatus.open,
    "payment_due": InvoiceStatus.open,
    "paid": InvoiceStatus.paid,
    "not_paid": InvoiceStatus.failed,
    "voided": InvoiceStatus.written_off,
}

#: months in one of Chargebee's period units
PERIOD_MONTHS: dict[str, float] = {"month": 1.0, "year": 12.0, "week": 12 / 52, "day": 12 / 365}

#: item types with recurring revenue (``charge``: one-off)
RECURRING = ("plan", "addon")


def day_of(seconds: int | None) -> dt.date | None:
    """A Chargebee timestamp (Unix seconds) as its UTC calendar day."""
    return None if seconds is None else dt.datetime.fromtimestamp(seconds, dt.UTC).date()


def instant_of(seconds: int | None) -> dt.datetime | None:
    return None if seconds is None else dt.datetime.fromtimestamp(seconds, dt.UTC)


def currency_of(code: str | None) -> str:
    return str(code or "JPY").upper()


def is_newer(session: Session, kind: str, obj: Mapping[str, Any]) -> bool:
    """True (and the version kept) unless a version of ``obj`` at least as new was already applied; an object
    without ``resource_version`` is always applied."""
    version = obj.get("resource_version")
    if version is None:
        return True
    stream = f"seen:{kind}:{obj['id']}"
    seen = connectors.cursor(session, vendor=VENDOR, stream=stream)
    if seen is not None and int(seen) >= int(version):
        return False
    connectors.save_cursor(session, vendor=VENDOR, stream=stream, position=str(int(version)))
    return True


def _account(session: Session, customer_id: str) -> Account:
    """The account of a Chargebee customer; a placeholder named by its id when its own event has not come yet."""
    account = session.scalar(select(Account).where(Account.external_id == customer_id))
    if account is None:
        account = Account(external_id=customer_id, name=customer_id)
        session.add(account)
        session.flush()
    return account


def apply_customer(session: Session, customer: Mapping[str, Any], *, log: RunLog) -> Account:
    """Upsert the account of ``customer``: its company, else its person's name, else its e-mail, else its id."""
    person = " ".join(str(customer[k]) for k in ("last_name", "first_name") if customer.get(k))
    name = str(customer.get("company") or person or customer.get("email") or customer["id"])[:300]
    account = session.scalar(select(Account).where(Account.external_id == customer["id"]))
    if account is None:
        account = Account(external_id=customer["id"], name=name)
        created = instant_of(customer.get("created_at"))
        if created is not None:
            account.created_at = created
        session.add(account)
        log.count("created")
    elif account.name != name:
        account.name = name
        log.count("updated")
    session.flush()
    return account


def _months(period: Any, unit: Any) -> float:
    return PERIOD_MONTHS.get(str(unit or "month"), 1.0) * int(period or 1)


def apply_item_price(session: Session, price: Mapping[str, Any], *, log: RunLog) -> Plan | None:
    """Upsert the plan of a recurring item price (its item as the product): list price per unit per period."""
    if price.get("item_type") not in RECURRING or not price.get("period_unit"):
        log.count("ignored")
        return None
    return _plan(
        session,
        price_id=str(price["id"]),
        item_id=str(price.get("item_id") or price["id"]),
        name=str(price.get("external_name") or price.get("name") or price["id"]),
        amount=int(price.get("price") or 0),
        currency=currency_of(price.get("currency_code")),
        months=_months(price.get("period"), price.get("period_unit")),
        log=log,
    )


def _plan(
    session: Session, *, price_id: str, item_id: str, name: str, amount: int, currency: str, months: float, log: RunLog
) -> Plan:
    product = session.scalar(select(Product).where(Product.external_id == item_id))
    if product is None:
        product = Product(external_id=item_id, name=item_id[:200])
        session.add(product)
        session.flush()
    values = {
        "product_id": product.id,
        "name": name[:200],
        "list_price_minor": amount,
        "currency": currency,
        "billing_period_months": max(1, round(months)),
    }
    plan = session.scalar(select(Plan).where(Plan.external_id == price_id))
    if plan is None:
        plan = Plan(external_id=price_id, **values)
        session.add(plan)
        log.count("created")
    else:
        for key, value in values.items():
            setattr(plan, key, value)
    session.flush()
    return plan


def apply_coupon(session: Session, coupon: Mapping[str, Any], *, log: RunLog) -> None:
    """Keep what ``coupon`` takes off, on what, and for how long."""
    constraints = coupon.get("item_constraints") or []
    prices = sorted(
        {str(p) for c in constraints if c.get("constraint") == "specific" for p in (c.get("item_price_ids") or [])}
    )
    terms = {
        "percent_off": coupon.get("discount_percentage") if coupon.get("discount_type") == "percentage" else None,
        "amount_off": coupon.get("discount_amount") if coupon.get("discount_type") == "fixed_amount" else None,
        "currency": coupon.get("currency_code"),
        "duration": coupon.get("duration_type"),
        "each_item": coupon.get("apply_on") == "each_specified_item",
        "prices": prices,
    }
    connectors.save_cursor(
        session,
        vendor=VENDOR,
        stream=f"coupon:{coupon['id']}",
        position=json.dumps(terms, sort_keys=True, separators=(",", ":"))[:512],
    )
    log.count("updated")


def _coupons(
    session: Session, subscription: Mapping[str, Any], line_prices: Mapping[str, str], *, on: dt.date
) -> list[lines.Coupon]:
    """The subscription's coupons that net MRR on ``on``: ``forever``, and ``limited_period`` until ``apply_till``;
    an ``each_specified_item`` coupon once per line of the item prices it names (all, when it names none)."""
    out: list[lines.Coupon] = []
    for applied in subscription.get("coupons") or []:
        position = connectors.cursor(session, vendor=VENDOR, stream=f"coupon:{applied.get('coupon_id')}")
        if not position:
            continue
        terms = json.loads(position)
        if terms.get("duration") == "one_time":
            continue
        till = day_of(applied.get("apply_till"))
        if terms.get("duration") == "limited_period" and till is not None and till <= on:
            continue
        percent = None if terms.get("percent_off") is None else float(terms["percent_off"])
        amount = None if terms.get("amount_off") is None else int(terms["amount_off"])
        if terms.get("each_item"):
            named = set(terms.get("prices") or [])
            for line_id, price_id in line_prices.items():
                if not named or price_id in named:
                    out.append(lines.Coupon(percent, amount, terms.get("currency"), line_id))
        else:
            out.append(lines.Coupon(percent, amount, terms.get("currency"), None))
    return out


def apply_subscription(session: Session, subscription: Mapping[str, Any], *, on: dt.date, log: RunLog) -> None:
    """The contract-line versions of each recurring item of ``subscription`` as of ``on`` (the day of the event or
    read), by the rules of Stripe's (``kizuna.stripe.service.apply_subscription``): a change of price, quantity, MRR
    or kind closes the running version on ``on``; a converted trial pays from its trial's end; ``non_renewing`` is a
    cancellation notice (paid until ``cancelled_at``); ``cancelled`` ends the line at ``cancelled_at``."""
    status_name = str(subscription.get("status"))
    if status_name not in STATUSES:
        log.count("ignored")  # future: not started yet
        return
    status = STATUSES[status_name]
    customer_id = subscription.get("customer_id")
    if not customer_id:
        log.reject(str(subscription["id"]), "customer_id", None, "a subscription without a customer")
        return
    account = _account(session, str(customer_id))
    start = day_of(subscription.get("started_at") or subscription.get("start_date") or subscription.get("created_at"))
    trial_end = day_of(subscription.get("trial_end"))
    cancel_day = day_of(subscription.get("cancelled_at"))
    term_end = day_of(subscription.get("current_term_end"))
    currency = currency_of(subscription.get("currency_code"))
    priced: list[tuple[str, Plan, int]] = []
    grosses: dict[str, lines.Gross] = {}
    line_prices: dict[str, str] = {}
    for item in subscription.get("subscription_items") or []:
        price_id = str(item.get("item_price_id") or "")
        if item.get("item_type") not in RECURRING:
            log.count("ignored")  # a one-off charge
            continue
        line_id = f"{subscription['id']}/{price_id}"
        quantity = int(item.get("quantity") or 1)
        months = _months(subscription.get("billing_period"), subscription.get("billing_period_unit"))
        unit_price = int(item.get("unit_price") or 0)
        amount = item.get("amount")
        total = int(amount) if amount is not None else unit_price * quantity
        plan = session.scalar(select(Plan).where(Plan.external_id == price_id)) or _plan(
            session,
            price_id=price_id,
            item_id=price_id,
            name=price_id,
            amount=unit_price,
            currency=currency,
            months=months,
            log=log,
        )
        priced.append((line_id, plan, quantity))
        grosses[line_id] = lines.Gross(total / months, months, currency)
        line_prices[line_id] = price_id
    net = lines.net_mrr(grosses, _coupons(session, subscription, line_prices, on=on))
    seen: set[str] = set()
    for line_id, plan, quantity in priced:
        months = grosses[line_id].months
        terms = lines.LineTerms(
            plan_id=plan.id,
            quantity=quantity,
            mrr_minor=net[line_id],
            currency=currency,
            billing_period_months=max(1, round(months)),
            status=status,
        )
        first_day = start or on
        if status != SubscriptionStatus.trial and trial_end is not None and trial_end > first_day:
            first_day = trial_end  # pays from the trial's end
        found = lines.versions_of(session, line_id)
        running = found[-1] if found else None
        notice = running.cancelled_at if running is not None and running.cancelled_at else on
        lines.apply_line(
            session,
            account=account,
            item_id=line_id,
            terms=terms,
            first_day=first_day,
            change_day=on,
            trial_end=trial_end,
            end=cancel_day
            if status == SubscriptionStatus.churned
            else (cancel_day or term_end)
            if status == SubscriptionStatus.cancelled
            else trial_end
            if status == SubscriptionStatus.trial
            else None,
            renewal=day_of(subscription.get("next_billing_at")) or term_end,
            cancelled_on=notice if status in (SubscriptionStatus.cancelled, SubscriptionStatus.churned) else None,
            log=log,
        )
        seen.add(line_id)
    lines.end_removed_items(session, VENDOR, str(subscription["id"]), account.id, seen, on=on, log=log)


def apply_invoice(session: Session, invoice: Mapping[str, Any], *, log: RunLog) -> Invoice | None:
    """Upsert ``invoice``: ``payment_due`` in dunning is ``retrying`` while Chargebee has a next retry, ``failed``
    once dunning is exhausted; ``not_paid`` is failed, ``voided`` written off."""
    customer_id = invoice.get("customer_id")
    if not customer_id:
        log.reject(str(invoice["id"]), "customer_id", None, "an invoice without a customer")
        return None
    account = _account(session, str(customer_id))
    status = INVOICE_STATUSES.get(str(invoice.get("status")), InvoiceStatus.open)
    if status == InvoiceStatus.open and invoice.get("dunning_status"):
        exhausted = invoice.get("dunning_status") in ("exhausted", "stopped")
        status = InvoiceStatus.failed if exhausted or not invoice.get("next_retry_at") else InvoiceStatus.retrying
    values: dict[str, Any] = {
        "account_id": account.id,
        "contract_id": invoice.get("subscription_id"),
        "issued_on": day_of(invoice.get("date")),
        "due_on": day_of(invoice.get("due_date")),
        "amount_minor": int(invoice.get("total") or 0),
        "currency": currency_of(invoice.get("currency_code")),
        "status": status,
        "paid_at": instant_of(invoice.get("paid_at")) if status == InvoiceStatus.paid else None,
    }
    row = session.scalar(select(Invoice).where(Invoice.external_id == invoice["id"]))
    if row is None:
        row = Invoice(external_id=str(invoice["id"]), **values)
        session.add(row)
        log.count("created")
    else:
        for key, value in values.items():
            setattr(row, key, value)
        log.count("updated")
    session.flush()
    return row


def apply_transaction(session: Session, transaction: Mapping[str, Any], *, log: RunLog) -> None:
    """A payment transaction on invoices (``payment_succeeded`` / ``payment_failed`` / ``payment_refunded``): a payment
    of each invoice it is linked to, with Chargebee's ``error_code`` when it failed; transactions on no invoice
    known here are not subscription revenue and are left out."""
    linked = transaction.get("linked_invoices") or []
    known = False
    for link in linked:
        invoice = session.scalar(select(Invoice).where(Invoice.external_id == link.get("invoice_id")))
        if invoice is None:
            continue
        known = True
        if transaction.get("type") == "refund":
            status = PaymentStatus.refunded
        elif transaction.get("status") in ("failure", "timeout", "needs_attention"):
            status = PaymentStatus.failed
        elif transaction.get("status") == "success":
            status = PaymentStatus.succeeded
        else:
            log.count("ignored")  # in progress or voided
            continue
        external_id = str(transaction["id"]) if len(linked) == 1 else f"{transaction['id']}#{invoice.external_id}"
        earlier = session.scalar(
            select(Payment).where(Payment.invoice_id == invoice.id, Payment.external_id != external_id).limit(1)
        )
        reason = transaction.get("error_code") or transaction.get("error_text")
        lines.record_payment(
            session,
            external_id=external_id,
            invoice=invoice,
            at=instant_of(transaction.get("date")) or dt.datetime.now(dt.UTC),
            amount=int(link.get("applied_amount") or transaction.get("amount") or 0),
            status=status,
            attempt=2 if earlier is not None else 1,
            reason=None if reason is None else str(reason)[:200],
            log=log,
        )
    if not known:
        log.count("ignored")


#: the objects of an event's content acted on, in the order rows depend on each other
CONTENT = ("coupon", "item_price", "customer", "subscription", "invoice", "transaction")


def apply_object(session: Session, kind: str, obj: Mapping[str, Any], *, on: dt.date, log: RunLog) -> bool:
    """Apply one Chargebee object of type ``kind`` unless a version at least as new was already applied."""
    if not is_newer(session, kind, obj):
        log.count("ignored")
        return False
    if kind == "coupon":
        apply_coupon(session, obj, log=log)
    elif kind == "item_price":
        apply_item_price(session, obj, log=log)
    elif kind == "customer":
        apply_customer(session, obj, log=log)
    elif kind == "subscription":
        apply_subscription(session, obj, on=on, log=log)
    elif kind == "invoice":
        apply_invoice(session, obj, log=log)
    elif kind == "transaction":
        apply_transaction(session, obj, log=log)
    return True


def handle_event(session: Session, event: Mapping[str, Any], *, log: RunLog) -> str:
    """Act once on an authenticated Chargebee ``event``: ``applied``, ``duplicate`` (already acted on), ``stale`` (every
    object in it no newer than what was applied) or ``ignored`` (nothing kizuna keeps rows for)."""
    kind = str(event.get("event_type"))
    occurred = int(event.get("occurred_at") or 0)
    fresh = connectors.receive_once(
        session, vendor=VENDOR, event_id=str(event["id"]), event_type=kind, occurred_at=instant_of(occurred)
    )
    if not fresh:
        log.count("duplicates")
        return "duplicate"
    content: Mapping[str, Any] = event.get("content") or {}
    objects = [(k, content[k]) for k in CONTENT if isinstance(content.get(k), Mapping)]
    if not objects or kind.endswith("_deleted"):
        log.count("ignored")  # a deleted customer or invoice keeps its history: churn is read from the lines
        return "ignored"
    on = day_of(occurred) or dt.date.today()
    applied = [apply_object(session, k, obj, on=on, log=log) for k, obj in objects]
    return "applied" if any(applied) else "stale"
