"""The hub rows a Stripe sync writes, as comparable tuples (ids left out: they differ between hubs)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from kizuna.accounts.models import Account
from kizuna.billing.models import Invoice, Payment, Plan, Subscription
from kizuna.runtime import Runtime


def hub_rows(runtime: Runtime) -> dict[str, list[tuple[Any, ...]]]:
    with runtime.transaction() as session:
        accounts = {a.id: a.external_id for a in session.scalars(select(Account))}
        plans = {p.id: p.external_id for p in session.scalars(select(Plan))}
        return {
            "accounts": sorted((a.external_id, a.name) for a in session.scalars(select(Account))),
            "plans": sorted(
                (p.external_id, p.list_price_minor, p.currency, p.billing_period_months)
                for p in session.scalars(select(Plan))
            ),
            "subscriptions": sorted(
                (
                    s.external_id,
                    s.contract_id,
                    accounts[s.account_id],
                    plans[s.plan_id],
                    s.quantity,
                    s.mrr_minor,
                    s.currency,
                    s.status,
                    s.start_date,
                    s.end_date,
                    s.cancelled_at,
                )
                for s in session.scalars(select(Subscription))
            ),
            "invoices": sorted(
                (
                    i.external_id,
                    accounts[i.account_id],
                    i.contract_id,
                    i.issued_on,
                    i.amount_minor,
                    i.currency,
                    i.status,
                )
                for i in session.scalars(select(Invoice))
            ),
            "payments": sorted(
                (p.external_id, p.status, p.attempt, p.failure_reason, p.amount_minor)
                for p in session.scalars(select(Payment))
            ),
        }
