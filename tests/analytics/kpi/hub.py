"""Tiny hub tables for KPI tests: rows as dicts, every other column filled with a sensible default.

The tables have exactly the app database's Arrow schema (``kizuna.hub.warehouse.arrow_schema``) and events
``EVENT_SCHEMA``, so the metric functions see what ``warehouse.hub_tables`` would give them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa

from kizuna import models
from kizuna.hub.warehouse import ANALYTICS_TABLES, arrow_schema
from kizuna.usage.store import EVENT_SCHEMA

UTC = dt.UTC
DEFAULTS: dict[str, dict[str, Any]] = {
    "accounts": {
        "name": "株式会社テスト",
        "industry": "製造",
        "region": "関東",
        "touch_tier": "low",
        "lifecycle_stage": "adoption",
        "created_at": dt.datetime(2024, 1, 1, tzinfo=UTC),
    },
    "plans": {
        "name": "Pro",
        "is_addon": False,
        "list_price_minor": 5000,
        "currency": "JPY",
        "billing_period_months": 1,
        "product_id": 1,
    },
    "products": {"name": "kizuna Cloud", "is_addon": False},
    "subscriptions": {
        "quantity": 10,
        "currency": "JPY",
        "billing_period_months": 1,
        "term_months": 1,
        "status": "active",
        "plan_id": 1,
        "created_at": dt.datetime(2024, 1, 1, tzinfo=UTC),
    },
    "team_members": {"name": "担当", "role": "csm", "active": True, "created_at": dt.datetime(2024, 1, 1, tzinfo=UTC)},
    "leads": {"company_name": "見込み株式会社", "source": "web", "status": "lead"},
    "opportunities": {"name": "商談", "kind": "new", "stage": "open", "amount_minor": 0, "currency": "JPY"},
    "marketing_spend": {"currency": "JPY"},
    "invoices": {"currency": "JPY", "status": "paid"},
    "payments": {"currency": "JPY", "status": "succeeded", "attempt": 1},
    "tickets": {
        "subject": "問い合わせ",
        "priority": "normal",
        "channel": "email",
        "status": "closed",
        "escalated": False,
    },
    "survey_responses": {},
    "onboarding_milestones": {"is_key": False},
}


def hub(**rows: list[dict[str, Any]]) -> dict[str, pa.Table]:
    """Arrow tables for every analytics input; ``hub(accounts=[{...}], events=[{...}])``; ids default to 1, 2, ..."""
    out: dict[str, pa.Table] = {}
    for name in ANALYTICS_TABLES:
        schema = arrow_schema(models.Base.metadata.tables[name])
        filled = []
        for i, row in enumerate(rows.get(name, []), start=1):
            full = {"id": i, "external_id": f"{name}-{i}", **DEFAULTS.get(name, {}), **row}
            filled.append({f.name: full.get(f.name) for f in schema})
        out[name] = pa.Table.from_pylist(filled, schema=schema)
    events = []
    for i, row in enumerate(rows.get("events", []), start=1):
        events.append({"event_id": f"e{i}", "event_name": "page_view", "feature": None, "properties": None, **row})
    out["events"] = pa.Table.from_pylist(events, schema=EVENT_SCHEMA)
    return out


def ts(text: str) -> dt.datetime:
    """``ts("2026-01-31 10:00")`` -> aware UTC datetime."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)
