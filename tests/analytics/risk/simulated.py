"""A small simulated company for health and risk tests: hub tables whose churn follows a known latent health.

Each account has a latent health that drifts month by month; usage, tickets, NPS, failed payments and CSM touches
follow it, and so does the monthly churn hazard. A scorecard or a model that reads the signals must therefore rank
churners above stayers (tests assert that), while a model fed noise cannot.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pyarrow as pa

from kizuna import models
from kizuna.hub.warehouse import ANALYTICS_TABLES, arrow_schema
from kizuna.usage.store import EVENT_SCHEMA

UTC = dt.UTC
START = dt.date(2024, 1, 1)
END = dt.date(2025, 12, 31)


def _sigmoid(x: float) -> float:
    return float(1.0 / (1.0 + np.exp(-x)))


def _at(day: dt.date, rng: np.random.Generator) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(int(rng.integers(0, 24)), int(rng.integers(0, 60))), tzinfo=UTC)


def simulated_rows(n_accounts: int = 80, *, seed: int = 7, end: dt.date = END) -> dict[str, list[dict[str, Any]]]:
    rng = np.random.default_rng(seed)
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in (*ANALYTICS_TABLES, "events")}
    rows["products"].append({"id": 1, "external_id": "P1", "name": "kizuna Cloud", "is_addon": False})
    for pid, (name, price) in enumerate([("Starter", 3000), ("Pro", 6000)], start=1):
        rows["plans"].append(
            {
                "id": pid,
                "external_id": f"PL{pid}",
                "product_id": 1,
                "name": name,
                "is_addon": False,
                "list_price_minor": price,
                "currency": "JPY",
                "billing_period_months": 1,
            }
        )
    rows["team_members"].append(
        {
            "id": 1,
            "external_id": "TM1",
            "name": "佐藤",
            "role": "csm",
            "active": True,
            "created_at": dt.datetime(2023, 1, 1, tzinfo=UTC),
        }
    )
    features = ["report", "dashboard", "export", "api", "workflow"]
    ids = {k: 0 for k in rows}

    def add(table: str, **row: Any) -> None:
        ids[table] += 1
        row.setdefault("id", ids[table])
        row.setdefault("external_id", f"{table}-{ids[table]}")
        rows[table].append(row)

    for a in range(1, n_accounts + 1):
        created = START + dt.timedelta(days=int(rng.integers(0, 420)))
        plan_id = int(rng.integers(1, 3))
        seats = int(rng.integers(3, 12))
        add(
            "accounts",
            id=a,
            name=f"株式会社{a}",
            industry=["製造", "小売", "IT"][a % 3],
            region="関東",
            touch_tier=["high", "low", "tech"][a % 3],
            lifecycle_stage="adoption",
            owner_id=1,
            created_at=dt.datetime.combine(created, dt.time(9), tzinfo=UTC),
        )
        health = float(rng.normal(0.0, 1.0))
        day = created
        churned_on: dt.date | None = None
        for k, kind in enumerate(["kickoff", "initial_setup", "training", "milestone_agreement", "feedback"]):
            due = created + dt.timedelta(days=14 * (k + 1))
            done = rng.random() < _sigmoid(1.0 + health)
            completed = _at(due + dt.timedelta(days=int(rng.integers(-5, 10))), rng) if done else None
            if completed is not None and completed.date() > end:
                completed = None
            add("onboarding_milestones", account_id=a, kind=kind, due_on=due, completed_at=completed, is_key=k == 2)
        users = [f"u{a}-{j}" for j in range(seats)]
        while day <= end:
            month_end = min(day + dt.timedelta(days=30), end)
            health += float(rng.normal(0.0, 0.35))
            # usage this month: weekly sessions of the active users
            share = _sigmoid(1.2 * health + 0.3)
            for week in range(4):
                wday = day + dt.timedelta(days=7 * week + int(rng.integers(0, 7)))
                if wday > end:
                    break
                n_active = int(rng.binomial(seats, share))
                for user in rng.choice(users, size=n_active, replace=False):
                    add(
                        "events",
                        account_id=a,
                        user_id=str(user),
                        event_name="login",
                        feature=None,
                        timestamp=_at(wday, rng),
                        properties=None,
                    )
                    n_feat = int(rng.integers(1, 2 + max(0, int(3 * share))))
                    for feat in rng.choice(features, size=min(n_feat, len(features)), replace=False):
                        add(
                            "events",
                            account_id=a,
                            user_id=str(user),
                            event_name="feature_used",
                            feature=str(feat),
                            timestamp=_at(wday, rng),
                            properties=None,
                        )
            for _ in range(int(rng.poisson(0.4 * np.exp(-0.8 * health)))):
                opened = day + dt.timedelta(days=int(rng.integers(0, 30)))
                if opened <= end:
                    severe = rng.random() < _sigmoid(-1.0 - health)
                    add(
                        "tickets",
                        account_id=a,
                        subject="問い合わせ",
                        priority="urgent" if severe else "normal",
                        channel="email",
                        status="closed",
                        escalated=False,
                        opened_at=_at(opened, rng),
                    )
            if rng.random() < 0.25:
                score = int(np.clip(round(7 + 1.6 * health + rng.normal(0, 1.2)), 0, 10))
                add(
                    "survey_responses",
                    account_id=a,
                    kind="nps",
                    score=score,
                    responded_at=_at(day + dt.timedelta(days=int(rng.integers(0, 28))), rng),
                )
            if rng.random() < 0.4:
                add(
                    "activities",
                    account_id=a,
                    author_id=1,
                    kind="call",
                    subject="定例",
                    occurred_at=_at(day + dt.timedelta(days=int(rng.integers(0, 28))), rng),
                )
            failed = rng.random() < _sigmoid(-3.0 - 1.2 * health)
            add(
                "invoices",
                account_id=a,
                issued_on=day,
                due_on=day + dt.timedelta(days=14),
                amount_minor=seats * 6000,
                currency="JPY",
                status="failed" if failed else "paid",
            )
            add(
                "payments",
                invoice_id=ids["invoices"],
                account_id=a,
                attempted_at=_at(day, rng),
                amount_minor=seats * 6000,
                currency="JPY",
                status="failed" if failed else "succeeded",
                attempt=1,
            )
            # churn decided at the end of the month from the health then (known only after the fact)
            if rng.random() < _sigmoid(-3.3 - 1.6 * health) and month_end < end:
                churned_on = month_end
                break
            if month_end >= end:
                break
            day = month_end
        add(
            "subscriptions",
            contract_id=f"C{a}",
            account_id=a,
            plan_id=plan_id,
            quantity=seats,
            mrr_minor=seats * (3000 if plan_id == 1 else 6000),
            currency="JPY",
            billing_period_months=1,
            term_months=1,
            status="churned" if churned_on else "active",
            start_date=created,
            end_date=churned_on,
            renewal_date=None,
            cancelled_at=None,
            created_at=dt.datetime.combine(created, dt.time(), tzinfo=UTC),
        )
    return rows


def arrow_hub(rows: dict[str, list[dict[str, Any]]]) -> dict[str, pa.Table]:
    """Arrow tables with the app database's schema (missing columns None) and the event schema."""
    out: dict[str, pa.Table] = {}
    for name in ANALYTICS_TABLES:
        schema = arrow_schema(models.Base.metadata.tables[name])
        out[name] = pa.Table.from_pylist(
            [{f.name: r.get(f.name) for f in schema} for r in rows.get(name, [])], schema=schema
        )
    events = [{**r, "event_id": str(r["id"])} for r in rows.get("events", [])]
    out["events"] = pa.Table.from_pylist(
        [{f.name: r.get(f.name) for f in EVENT_SCHEMA} for r in events], schema=EVENT_SCHEMA
    )
    return out


def ibis_hub(rows: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """The rows registered on a fresh DuckDB backend, as ``warehouse.hub_tables`` would give them."""
    from kizuna.analytics.engine import connect, register_tables

    return register_tables(connect("duckdb"), arrow_hub(rows))


def cut_rows(rows: dict[str, list[dict[str, Any]]], *, before: dt.date) -> dict[str, list[dict[str, Any]]]:
    """The rows as they stood before ``before`` (00:00 UTC): later records dropped, later ends not yet known."""
    limit = dt.datetime.combine(before, dt.time(), tzinfo=UTC)
    time_col = {
        "events": "timestamp",
        "tickets": "opened_at",
        "survey_responses": "responded_at",
        "activities": "occurred_at",
        "payments": "attempted_at",
        "accounts": "created_at",
        "voc_entries": "recorded_at",
    }
    out: dict[str, list[dict[str, Any]]] = {}
    for name, table in rows.items():
        kept = []
        for r in table:
            col = time_col.get(name)
            if col and r[col] >= limit:
                continue
            if name == "invoices" and r["issued_on"] >= before:
                continue
            r = dict(r)
            if name == "subscriptions":
                if r["start_date"] >= before:
                    continue
                if r["end_date"] is not None and r["end_date"] >= before:
                    r["end_date"], r["status"] = None, "active"
            if name == "onboarding_milestones" and r["completed_at"] is not None and r["completed_at"] >= limit:
                r["completed_at"] = None
            kept.append(r)
        out[name] = kept
    return out


# One simulated company per test process, shared by the health, risk and survival tests (building the point-in-time
# samples is the slow part, so it happens once).
_CACHE: dict[str, Any] = {}


def shared_rows() -> dict[str, list[dict[str, Any]]]:
    if "rows" not in _CACHE:
        _CACHE["rows"] = simulated_rows(60, seed=7)
    return _CACHE["rows"]  # type: ignore[no-any-return]


def shared_tables() -> dict[str, Any]:
    if "tables" not in _CACHE:
        _CACHE["tables"] = ibis_hub(shared_rows())
    return _CACHE["tables"]  # type: ignore[no-any-return]


def shared_samples() -> tuple[Any, Any]:
    """Labelled samples every 60 days (90-day horizon) and the churn events of the simulated company."""
    if "samples" not in _CACHE:
        from kizuna.analytics.risk.features import training_samples

        _CACHE["samples"] = training_samples(shared_tables(), observed_until=END, every_days=60)
    return _CACHE["samples"]  # type: ignore[no-any-return]
