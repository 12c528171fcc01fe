"""Stripe objects into hub rows: customers → accounts, prices → plans, subscription items → contract-line versions,
invoices, charges and payment intents → invoices, payments and payment failures. Functions flush, never commit.

Stripe's objects carry no modification time, so the order of what we learn comes from the event's ``created`` (whole
seconds): each object's latest applied instant is kept as a connectors cursor (stream ``seen:<object id>``), and an
event older than it is acknowledged without effect (out of order). A back-fill reads today's state, so it applies at
the instant of its read.

Discounts: a coupon redeemed on a subscription (or one of its items) nets MRR by ChartMogul's rule: a ``forever``
coupon, and a ``repeating`` one until its ``end``, reduce the MRR of the lines they apply to; a ``once`` coupon does
not (a one-off reduction of one invoice). Coupons (``coupon:<id>``) and discounts (``discount:<id>``) are kept as
connectors cursors, since the subscription object names its discounts by id: a discount event re-prices the
subscription's running lines, whichever of it and the subscription's own event comes first.

Amounts: Stripe gives every amount in the currency's smallest unit (cents for USD, whole yen for JPY, a
zero-decimal currency), which is kizuna's minor unit, so amounts are stored as given; the currency is upper-cased.
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

VENDOR = "stripe"

#: Stripe's subscription statuses as contract-line statuses (``incomplete``: not yet a subscription, skipped)
STATUSES: dict[str, SubscriptionStatus] = {
    "trialing": SubscriptionStatus.trial,
    "active": SubscriptionStatus.active,
    "past_due": SubscriptionStatus.active,  # still billed: dunning, not churn
    "unpaid": SubscriptionStatus.active,
    "paused": SubscriptionStatus.paused,
    "canceled": SubscriptionStatus.churned,
    "incomplete_expired": SubscriptionStatus.churned,
}

INVOICE_STATUSES: dict[str, InvoiceStatus] = {
    "draft": InvoiceStatus.open,
    "open": InvoiceStatus.open,
    "paid": InvoiceStatus.paid,
    "uncollectible": InvoiceStatus.written_off,
    "void": InvoiceStatus.written_off,
}

#: months in one of Stripe's recurring intervals (a week and a day as fractions of a month: 52/12 weeks, 365/12 days)
INTERVAL_MONTHS: dict[str, float] = {"month": 1.0, "year": 12.0, "week": 12 / 52, "day": 12 / 365}


def day_of(seconds: int | None) -> dt.date | None:
    """A Stripe Unix time (seconds) as its UTC calendar day."""
    return None if seconds is None else dt.datetime.fromtimestamp(seconds, dt.UTC).date()


def instant_of(seconds: int | None) -> dt.datetime | None:
    return None if seconds is None else dt.datetime.fromtimestamp(seconds, dt.UTC)


def currency_of(code: str) -> str:
    """Stripe's lower-case ISO 4217 code as kizuna stores it (``jpy`` → ``JPY``)."""
    return code.upper()


def _id(value: Any) -> str | None:
    """An id Stripe gives either as a string or as the expanded object."""
    if value is None or isinstance(value, str):
        return value
    return str(value["id"])


def is_newer(session: Session, object_id: str, at: int) -> bool:
    """True (and ``at`` kept as the object's latest) unless an event later than ``at`` was already applied to it."""
    stream = f"seen:{object_id}"
    seen = connectors.cursor(session, vendor=VENDOR, stream=stream)
    if seen is not None and int(seen) > at:
        return False
    connectors.save_cursor(session, vendor=VENDOR, stream=stream, position=str(at))
    return True


def _account(session: Session, customer_id: str) -> Account:
    """The account of a Stripe customer; a placeholder named by its id when its own event has not come yet."""
    account = session.scalar(select(Account).where(Account.external_id == customer_id))
    if account is None:
        account = Account(external_id=customer_id, name=customer_id)
        session.add(account)
        session.flush()
    return account


def apply_customer(session: Session, customer: Mapping[str, Any], *, log: RunLog) -> Account:
    """Upsert the account of ``customer`` (external_id = ``cus_…``): its name, else its e-mail, else its id."""
    name = customer.get("name") or customer.get("description") or customer.get("email") or customer["id"]
    account = session.scalar(select(Account).where(Account.external_id == customer["id"]))
    if account is None:
        created = instant_of(customer.get("created"))
        account = Account(external_id=customer["id"], name=str(name)[:300])
        if created is not None:
            account.created_at = created
        session.add(account)
        log.count("created")
    elif account.name != name:
        account.name = str(name)[:300]
        log.count("updated")
    session.flush()
    return account


def apply_price(session: Session, price: Mapping[str, Any], *, log: RunLog) -> Plan:
    """Upsert the plan of a recurring ``price`` (and its product): list price per unit per billing period."""
    product_ref = price.get("product")
    product_id = _id(product_ref) or f"product_of_{price['id']}"
    product_name = product_ref.get("name") if isinstance(product_ref, Mapping) else None
    product = session.scalar(select(Product).where(Product.external_id == product_id))
    if product is None:
        product = Product(external_id=product_id, name=str(product_name or product_id)[:200])
        session.add(product)
        session.flush()
    elif product_name and product.name != product_name:
        product.name = str(product_name)[:200]
    recurring = price.get("recurring") or {}
    months = _period_months(recurring)
    plan = session.scalar(select(Plan).where(Plan.external_id == price["id"]))
    values = {
        "product_id": product.id,
        "name": str(price.get("nickname") or product_name or price["id"])[:200],
        "list_price_minor": int(price.get("unit_amount") or 0),
        "currency": currency_of(price["currency"]),
        "billing_period_months": max(1, round(months)),
    }
    if plan is None:
        plan = Plan(external_id=price["id"], **values)
        session.add(plan)
        log.count("created")
    else:
        for key, value in values.items():
            setattr(plan, key, value)
    session.flush()
    return plan


def _period_months(recurring: Mapping[str, Any]) -> float:
    return INTERVAL_MONTHS.get(str(recurring.get("interval") or "month"), 1.0) * int(
        recurring.get("interval_count") or 1
    )


def apply_subscription(session: Session, subscription: Mapping[str, Any], *, on: dt.date, log: RunLog) -> None:
    """The contract-line versions of each item of ``subscription`` as of ``on`` (the day of the event or read).

    One contract line per subscription item (contract_id = ``si_…``; version external_id ``si_…@<start day>``). A
    change of price, quantity, MRR or kind (paid, trial, paused) closes the running version on ``on`` and opens a
    new one (on the same day: the running version is rewritten). A converted trial pays from its trial's end, as the
    Stripe CSV import has it. ``cancel_at_period_end`` is a cancellation notice: the paid version becomes
    ``cancelled`` with ``cancelled_at`` and ends at the period's end; ``canceled`` ends it (churned).
    """
    status_name = str(subscription.get("status"))
    if status_name not in STATUSES:
        log.count("ignored")  # incomplete: no first payment yet
        return
    status = STATUSES[status_name]
    if subscription.get("pause_collection") and status == SubscriptionStatus.active:
        status = SubscriptionStatus.paused
    customer_id = _id(subscription.get("customer"))
    if customer_id is None:
        log.reject(subscription["id"], "customer", None, "a subscription without a customer")
        return
    account = _account(session, customer_id)
    start = day_of(subscription.get("start_date") or subscription.get("created"))
    trial_end = day_of(subscription.get("trial_end"))
    ended = day_of(subscription.get("ended_at"))
    cancelled_on = day_of(subscription.get("canceled_at"))
    cancel_at = day_of(subscription.get("cancel_at"))
    if status == SubscriptionStatus.active and (subscription.get("cancel_at_period_end") or cancel_at):
        status = SubscriptionStatus.cancelled
    items = (subscription.get("items") or {}).get("data") or []
    priced: list[tuple[Mapping[str, Any], Plan, int]] = []
    grosses: dict[str, lines.Gross | None] = {}
    for item in items:
        price = item.get("price") or item.get("plan")
        if not price or not price.get("recurring"):
            log.reject(item.get("id", subscription["id"]), "price", None, "an item without a recurring price")
            continue
        if price["recurring"].get("usage_type") == "metered":
            log.reject(item.get("id", subscription["id"]), "price", price.get("id"), "a metered price has no fixed MRR")
            continue
        plan = apply_price(session, price, log=log)
        quantity = int(item.get("quantity") or 1)
        months = _period_months(price["recurring"])
        gross = lines.Gross(int(price.get("unit_amount") or 0) * quantity / months, months, str(price["currency"]))
        _remember(session, f"gross:{item['id']}", {"mrr": gross.mrr, "months": months, "currency": gross.currency})
        priced.append((item, plan, quantity))
        grosses[item["id"]] = gross
    discounts = _subscription_discounts(session, subscription)
    net = lines.net_mrr(grosses, active_coupons(session, discounts, on=on))
    seen: set[str] = set()
    for item, plan, quantity in priced:
        price = item.get("price") or item["plan"]
        months = _period_months(price["recurring"])
        terms = lines.LineTerms(
            plan_id=plan.id,
            quantity=quantity,
            mrr_minor=net[item["id"]],
            currency=currency_of(price["currency"]),
            billing_period_months=max(1, round(months)),
            status=status,
        )
        period_end = day_of(item.get("current_period_end") or subscription.get("current_period_end"))
        first_day = start or on
        if status != SubscriptionStatus.trial and trial_end is not None and trial_end > first_day:
            first_day = trial_end  # pays from the trial's end
        lines.apply_line(
            session,
            account=account,
            item_id=item["id"],
            terms=terms,
            first_day=first_day,
            change_day=on,
            trial_end=trial_end,
            end=ended
            if status == SubscriptionStatus.churned
            else (cancel_at or period_end)
            if status == SubscriptionStatus.cancelled
            else trial_end
            if status == SubscriptionStatus.trial
            else None,
            renewal=period_end,
            cancelled_on=cancelled_on if status in (SubscriptionStatus.cancelled, SubscriptionStatus.churned) else None,
            log=log,
        )
        seen.add(item["id"])
    lines.end_removed_items(session, VENDOR, subscription["id"], account.id, seen, on=on, log=log)
    connectors.save_cursor(
        session, vendor=VENDOR, stream=f"discounts:{subscription['id']}", position=",".join(discounts)[:512] or None
    )


def _remember(session: Session, stream: str, value: Mapping[str, Any] | None) -> None:
    position = None if value is None else json.dumps(value, sort_keys=True, separators=(",", ":"))
    connectors.save_cursor(session, vendor=VENDOR, stream=stream, position=position)


def _recall(session: Session, stream: str) -> dict[str, Any] | None:
    position = connectors.cursor(session, vendor=VENDOR, stream=stream)
    return None if not position else dict(json.loads(position))


def _gross_of(session: Session, item_id: str) -> lines.Gross | None:
    kept = _recall(session, f"gross:{item_id}")
    return None if kept is None else lines.Gross(float(kept["mrr"]), float(kept["months"]), str(kept["currency"]))


def apply_coupon(session: Session, coupon: Mapping[str, Any], *, log: RunLog) -> None:
    """Keep what ``coupon`` takes off and for how long (its terms never change once created)."""
    _remember(
        session,
        f"coupon:{coupon['id']}",
        {
            "percent_off": coupon.get("percent_off"),
            "amount_off": coupon.get("amount_off"),
            "currency": coupon.get("currency"),
            "duration": coupon.get("duration"),
        },
    )
    log.count("updated")


def _coupon_ref(discount: Mapping[str, Any]) -> Any:
    """A discount's coupon: ``coupon`` before API 2025-09-30, ``source.coupon`` since (an id unless expanded)."""
    return discount.get("coupon") or (discount.get("source") or {}).get("coupon")


def remember_discount(session: Session, discount: Mapping[str, Any], *, log: RunLog) -> None:
    """Keep ``discount`` (its coupon, the item it is on, when a repeating coupon ends), and its coupon if expanded."""
    ref = _coupon_ref(discount)
    if isinstance(ref, Mapping):
        apply_coupon(session, ref, log=log)
    _remember(
        session,
        f"discount:{discount['id']}",
        {"coupon": _id(ref), "end": discount.get("end"), "item": _id(discount.get("subscription_item"))},
    )


def _subscription_discounts(session: Session, subscription: Mapping[str, Any]) -> list[str]:
    """The ids of the discounts on ``subscription`` and its items (expanded ones kept as they are read)."""
    refs = [*(subscription.get("discounts") or []), subscription.get("discount")]
    for item in (subscription.get("items") or {}).get("data") or []:
        refs.extend(item.get("discounts") or [])
    ids: list[str] = []
    for ref in refs:
        if isinstance(ref, Mapping):
            remember_discount(session, ref, log=RunLog())
        ref_id = _id(ref)
        if ref_id and ref_id not in ids:
            ids.append(ref_id)
    return ids


def active_coupons(session: Session, discount_ids: list[str], *, on: dt.date) -> list[lines.Coupon]:
    """The coupons of ``discount_ids`` that reduce MRR on ``on``: ``forever`` ones, and ``repeating`` ones before
    their discount's end; never ``once`` (ChartMogul's rule: a one-off reduction is not recurring revenue)."""
    out: list[lines.Coupon] = []
    for discount_id in discount_ids:
        discount = _recall(session, f"discount:{discount_id}")
        coupon = discount and discount.get("coupon") and _recall(session, f"coupon:{discount['coupon']}")
        if not discount or not coupon or coupon.get("duration") == "once":
            continue
        end = day_of(discount.get("end"))
        if coupon.get("duration") == "repeating" and end is not None and end <= on:
            continue
        out.append(
            lines.Coupon(
                percent_off=None if coupon.get("percent_off") is None else float(coupon["percent_off"]),
                amount_off=None if coupon.get("amount_off") is None else int(coupon["amount_off"]),
                currency=coupon.get("currency"),
                item=discount.get("item"),
            )
        )
    return out


def apply_discount(session: Session, discount: Mapping[str, Any], *, removed: bool, on: dt.date, log: RunLog) -> None:
    """``customer.discount.*``: keep (or drop) the discount and re-price its subscription's running lines on ``on``;
    a subscription not seen yet is priced with it when its own event comes."""
    subscription_id = _id(discount.get("subscription"))
    remember_discount(session, discount, log=log)
    if subscription_id is None:
        log.count("ignored")  # a customer-wide discount applies to subscriptions created later: they name it
        return
    stream = f"discounts:{subscription_id}"
    ids = [i for i in (connectors.cursor(session, vendor=VENDOR, stream=stream) or "").split(",") if i]
    if removed:
        ids = [i for i in ids if i != discount["id"]]
    elif discount["id"] not in ids:
        ids.append(discount["id"])
    connectors.save_cursor(session, vendor=VENDOR, stream=stream, position=",".join(ids)[:512] or None)
    item_ids = [
        i for i in (connectors.cursor(session, vendor=VENDOR, stream=f"items:{subscription_id}") or "").split(",") if i
    ]
    net = lines.net_mrr({i: _gross_of(session, i) for i in item_ids}, active_coupons(session, ids, on=on))
    for item_id in item_ids:
        versions = lines.versions_of(session, item_id)
        running = versions[-1] if versions else None
        if running is None or running.status == SubscriptionStatus.churned or running.mrr_minor == net[item_id]:
            continue
        account = session.get(Account, running.account_id)
        assert account is not None
        terms = lines.LineTerms(
            plan_id=running.plan_id,
            quantity=running.quantity or 1,
            mrr_minor=net[item_id],
            currency=running.currency,
            billing_period_months=running.billing_period_months,
            status=SubscriptionStatus(running.status),
        )
        lines.apply_line(
            session,
            account=account,
            item_id=item_id,
            terms=terms,
            first_day=on,
            change_day=on,
            trial_end=None,
            end=running.end_date,
            renewal=running.renewal_date,
            cancelled_on=running.cancelled_at,
            log=log,
        )


def _invoice_subscription(invoice: Mapping[str, Any]) -> str | None:
    """The invoice's subscription: ``subscription`` before API 2025-03-31, ``parent.subscription_details`` since."""
    if invoice.get("subscription"):
        return _id(invoice["subscription"])
    details = ((invoice.get("parent") or {}).get("subscription_details")) or {}
    return _id(details.get("subscription"))


def apply_invoice(session: Session, invoice: Mapping[str, Any], *, failed: bool = False, log: RunLog) -> Invoice | None:
    """Upsert ``invoice``; ``failed``: a collection attempt failed (``invoice.payment_failed``), which also records
    the failed attempt as a payment."""
    customer_id = _id(invoice.get("customer"))
    if customer_id is None:
        log.reject(invoice["id"], "customer", None, "an invoice without a customer")
        return None
    account = _account(session, customer_id)
    status = INVOICE_STATUSES.get(str(invoice.get("status")), InvoiceStatus.open)
    attempts = int(invoice.get("attempt_count") or 0)
    if status == InvoiceStatus.open and (failed or (invoice.get("attempted") and attempts > 0)):
        status = InvoiceStatus.retrying if invoice.get("next_payment_attempt") else InvoiceStatus.failed
    paid_at = instant_of((invoice.get("status_transitions") or {}).get("paid_at"))
    values: dict[str, Any] = {
        "account_id": account.id,
        "contract_id": _invoice_subscription(invoice),
        "issued_on": day_of(invoice.get("created")),
        "due_on": day_of(invoice.get("due_date")),
        "amount_minor": int(invoice.get("total") or invoice.get("amount_due") or 0),
        "currency": currency_of(str(invoice.get("currency") or "jpy")),
        "status": status,
        "paid_at": paid_at if status == InvoiceStatus.paid else None,
    }
    row = session.scalar(select(Invoice).where(Invoice.external_id == invoice["id"]))
    if row is None:
        row = Invoice(external_id=invoice["id"], **values)
        session.add(row)
        log.count("created")
    else:
        for key, value in values.items():
            setattr(row, key, value)
        log.count("updated")
    session.flush()
    if failed:
        lines.record_payment(
            session,
            external_id=f"{invoice['id']}#attempt{max(attempts, 1)}",
            invoice=row,
            at=instant_of(invoice.get("created")) or dt.datetime.now(dt.UTC),
            amount=int(invoice.get("amount_due") or row.amount_minor),
            status=PaymentStatus.failed,
            attempt=max(attempts, 1),
            reason=_failure_of(invoice.get("last_finalization_error")) or "payment_failed",
            log=log,
        )
    return row


def _failure_of(error: Any) -> str | None:
    if not error:
        return None
    return str(error.get("decline_code") or error.get("code") or error.get("message") or "payment_failed")[:200]


def apply_charge(session: Session, charge: Mapping[str, Any], *, at: int, log: RunLog) -> None:
    """A charge (``charge.succeeded``/``failed``/``refunded``) as a payment of its invoice (charges of no invoice
    are not subscription revenue and are left out)."""
    invoice_id = _id(charge.get("invoice"))
    invoice = invoice_id and session.scalar(select(Invoice).where(Invoice.external_id == invoice_id))
    if not invoice:
        log.count("ignored")
        return
    if charge.get("refunded"):
        status = PaymentStatus.refunded
    elif charge.get("status") == "failed":
        status = PaymentStatus.failed
    else:
        status = PaymentStatus.succeeded
    earlier = session.scalar(
        select(Payment).where(Payment.invoice_id == invoice.id, Payment.external_id != charge["id"]).limit(1)
    )
    reason = charge.get("failure_code") or charge.get("failure_message")
    lines.record_payment(
        session,
        external_id=charge["id"],
        invoice=invoice,
        at=instant_of(charge.get("created")) or instant_of(at) or dt.datetime.now(dt.UTC),
        amount=int(charge.get("amount") or 0),
        status=status,
        attempt=2 if earlier is not None else 1,
        reason=None if reason is None else str(reason)[:200],
        log=log,
    )


def apply_payment_intent_failure(session: Session, intent: Mapping[str, Any], *, at: int, log: RunLog) -> None:
    """``payment_intent.payment_failed``: the failed attempt of its invoice, with Stripe's decline reason."""
    invoice_id = _id(intent.get("invoice"))
    invoice = invoice_id and session.scalar(select(Invoice).where(Invoice.external_id == invoice_id))
    if not invoice:
        log.count("ignored")
        return
    charge_id = _id(intent.get("latest_charge"))
    lines.record_payment(
        session,
        external_id=charge_id or f"{intent['id']}@{at}",
        invoice=invoice,
        at=instant_of(at) or dt.datetime.now(dt.UTC),
        amount=int(intent.get("amount") or 0),
        status=PaymentStatus.failed,
        attempt=1,
        reason=_failure_of(intent.get("last_payment_error")) or "payment_failed",
        log=log,
    )
    if invoice.status == InvoiceStatus.open:
        invoice.status = InvoiceStatus.failed
        session.flush()


#: the event types acted on; any other is acknowledged and recorded without effect
HANDLED = (
    "coupon.",
    "customer.",
    "customer.subscription.",
    "invoice.",
    "charge.",
    "payment_intent.payment_failed",
    "price.",
)


def handle_event(session: Session, event: Mapping[str, Any], *, log: RunLog) -> str:
    """Act once on a verified Stripe ``event``: ``applied``, ``duplicate`` (already acted on), ``stale`` (older
    than what its object already shows) or ``ignored`` (a type kizuna has no row for)."""
    kind = str(event["type"])
    created = int(event["created"])
    fresh = connectors.receive_once(
        session, vendor=VENDOR, event_id=str(event["id"]), event_type=kind, occurred_at=instant_of(created)
    )
    if not fresh:
        log.count("duplicates")
        return "duplicate"
    obj: Mapping[str, Any] = event["data"]["object"]
    if not kind.startswith(HANDLED) or kind.startswith(("customer.source", "customer.tax_id")):
        log.count("ignored")
        return "ignored"
    if not is_newer(session, str(obj["id"]), created):
        log.count("ignored")
        return "stale"
    on = day_of(created) or dt.date.today()
    if kind.startswith("customer.subscription."):
        apply_subscription(session, obj, on=on, log=log)
    elif kind.startswith("customer.discount."):
        apply_discount(session, obj, removed=kind == "customer.discount.deleted", on=on, log=log)
    elif kind.startswith("coupon."):
        apply_coupon(session, obj, log=log)  # a deleted coupon still applies to the discounts already redeemed
    elif kind == "customer.deleted":
        log.count("ignored")  # the account and its history stay: churn is read from the lines
    elif kind.startswith("customer."):
        apply_customer(session, obj, log=log)
    elif kind.startswith("invoice."):
        apply_invoice(session, obj, failed=kind == "invoice.payment_failed", log=log)
    elif kind.startswith("charge."):
        apply_charge(session, obj, at=created, log=log)
    elif kind == "payment_intent.payment_failed":
        apply_payment_intent_failure(session, obj, at=created, log=log)
    elif kind.startswith("price.") and obj.get("recurring"):
        apply_price(session, obj, log=log)
    return "applied"
