"""Factories for test data: each makes one valid row with sensible defaults; override what the test is about."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from sqlalchemy.orm import Session

from kizuna import models as m

_seq = itertools.count(1)


def _next(prefix: str) -> str:
    return f"{prefix}-{next(_seq)}"


def team_member(session: Session, **kw: Any) -> m.TeamMember:
    n = next(_seq)
    row = m.TeamMember(**{"external_id": f"TM-{n}", "name": f"担当 {n}", "email": f"csm{n}@example.jp", **kw})
    session.add(row)
    session.flush()
    return row


def account(session: Session, **kw: Any) -> m.Account:
    row = m.Account(
        **{
            "external_id": _next("ACC"),
            "name": "株式会社テスト",
            "industry": "製造",
            "region": "関東",
            "employee_band": "51-200",
            "created_at": dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
            **kw,
        }
    )
    session.add(row)
    session.flush()
    return row


def contact(session: Session, account: m.Account, **kw: Any) -> m.Contact:
    n = next(_seq)
    row = m.Contact(
        **{
            "external_id": f"CON-{n}",
            "account_id": account.id,
            "name": f"山田 {n}",
            "email": f"user{n}@example.jp",
            **kw,
        }
    )
    session.add(row)
    session.flush()
    return row


def plan(session: Session, **kw: Any) -> m.Plan:
    n = next(_seq)
    product = m.Product(
        external_id=f"PROD-{n}", name=kw.pop("product_name", "kizuna Cloud"), is_addon=kw.get("is_addon", False)
    )
    session.add(product)
    session.flush()
    row = m.Plan(
        **{
            "external_id": f"PLAN-{n}",
            "product_id": product.id,
            "name": "Pro",
            "list_price_minor": 5000,
            "currency": "JPY",
            **kw,
        }
    )
    session.add(row)
    session.flush()
    return row


def subscription(session: Session, account: m.Account, plan: m.Plan, **kw: Any) -> m.Subscription:
    n = next(_seq)
    row = m.Subscription(
        **{
            "external_id": f"SUB-{n}",
            "contract_id": f"C-{n}",
            "account_id": account.id,
            "plan_id": plan.id,
            "quantity": 10,
            "mrr_minor": 50_000,
            "currency": "JPY",
            "start_date": dt.date(2025, 1, 1),
            "status": "active",
            **kw,
        }
    )
    session.add(row)
    session.flush()
    return row
