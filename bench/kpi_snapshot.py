"""Benchmark: store one KPI snapshot of the 50,000-account demo's size (``metrics.service.replace_snapshot``).

    .venv/bin/python bench/kpi_snapshot.py                      # SQLite file and PostgreSQL: 3 days, then 1 again
    .venv/bin/python bench/kpi_snapshot.py --databases sqlite --runs 1 --digest

The frames are synthetic (seeded) with the shapes and dtypes ``compute_snapshot`` returns: ~344,000 series rows
(30 metrics x 36 months x the totals and 7 breakdowns, ~5% NaN values) and 50,000 account rows (every
``account_metrics`` column plus a few the table does not keep). Each database is fresh (a temporary SQLite file; a
PostgreSQL database of this run's own, dropped afterwards) and migrated. Each run stores the next day's snapshot, as
the daily refresh does (the series add up, the account metrics are replaced); a last run replaces the last day's
snapshot again (deleting its rows first). Each figure is the ``replace_snapshot`` call plus its commit, wall and CPU
seconds (the machine may be shared: CPU seconds are the steadier measure). ``--digest`` prints a hash of the stored
rows (ids included, computed_at fixed, SQLite's storage classes included) so that two versions of the code can be
shown to store the same values. Prints figures; not a test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import insert, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

from kizuna import models
from kizuna.db import make_engine
from kizuna.kpis import service
from kizuna.migrations import upgrade

POSTGRES_ADMIN_URL = os.environ.get("KIZUNA_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
AS_OF = dt.date(2026, 11, 22)
COMPUTED_AT = dt.datetime(2026, 11, 22, 3, 4, 5, 678901, tzinfo=dt.UTC)
BREAKDOWNS = {  # dimension -> number of values; with the totals: 318 rows per metric and month
    "plan": 4,
    "industry": 12,
    "region": 6,
    "owner_id": 281,
    "touch_tier": 3,
    "employee_band": 6,
    "lifecycle_stage": 5,
}


def snapshot_series(seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    keys = [("", "")] + [(d, f"{d}-{i}") for d, n in BREAKDOWNS.items() for i in range(n)]
    months = [dt.date(2023 + (11 + m) // 12, (11 + m) % 12 + 1, 1) for m in range(36)]
    metrics = [f"metric_{i:02d}" for i in range(30)]
    n = len(metrics) * len(months) * len(keys)
    metric = np.repeat(metrics, len(months) * len(keys))
    month = np.tile(np.repeat(np.array(months, dtype=object), len(keys)), len(metrics))
    dimension = np.tile([k[0] for k in keys], len(metrics) * len(months))
    dimension_value = np.tile([k[1] for k in keys], len(metrics) * len(months))
    value = rng.gamma(2.0, 50_000.0, n).round(2)
    value[rng.random(n) < 0.05] = np.nan
    return pd.DataFrame(
        {
            "metric": pd.Series(metric, dtype="str"),
            "month": pd.Series(month, dtype=object),
            "currency": pd.Series(np.where(rng.random(n) < 0.5, "JPY", ""), dtype="str"),
            "dimension": pd.Series(dimension, dtype="str"),
            "dimension_value": pd.Series(dimension_value, dtype="string"),
            "value": value,
        }
    )


def snapshot_accounts(n: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ints = {
        name: rng.integers(0, 500, n)
        for name in [
            *("dau", "wau", "mau", "active_users_30d", "seats", "features_used_30d", "features_available"),
            *("events_30d", "logins_30d", "days_since_last_login", "active_user_days_30d", "time_to_value_days"),
            *("tickets_30d", "tickets_90d", "open_tickets", "escalated_90d"),
        ]
    }
    floats = {
        name: np.where(rng.random(n) < 0.2, np.nan, rng.random(n))
        for name in [
            *("avg_dau_30d", "seat_utilisation", "stickiness", "adoption_breadth", "usage_trend"),
            *("onboarding_completion_rate", "csat_mean_90d", "ces_mean_90d", "mean_first_response_hours_90d"),
        ]
    }
    missing = rng.random(n) < 0.1
    cohort = np.array([dt.date(2020 + i // 12, i % 12 + 1, 1) for i in rng.integers(0, 80, n)], dtype=object)
    mrr = rng.integers(0, 50_000_000_000, n)
    return pd.DataFrame(
        {
            "account_id": np.arange(1, n + 1),
            **ints,
            **floats,
            "currency": pd.Series(np.where(missing, None, "JPY"), dtype="str"),
            "mrr_minor": mrr,
            "arr_minor": mrr * 12,
            "mrr_change_minor": rng.integers(-1_000_000, 1_000_000, n),
            "plan_id": np.where(missing, np.nan, rng.integers(1, 5, n)).astype("float64"),
            "cohort_month": pd.Series(np.where(missing, pd.NaT, cohort), dtype=object),
            "tenure_months": np.where(missing, np.nan, rng.integers(0, 80, n)).astype("float64"),
            "mrr_movement": pd.Series(rng.choice(["new", "expansion", "flat", "churn"], n), dtype="str"),
            "onboarding_complete": rng.random(n) < 0.5,
            "nps_score": np.where(rng.random(n) < 0.7, np.nan, rng.integers(0, 11, n)).astype("float64"),
            "nps_category": pd.Series(rng.choice(["promoter", "passive", "detractor", None], n), dtype="str"),
            "nps_responded_at": pd.Timestamp("2026-02-10 05:08:14.223556", tz="UTC"),
        }
    )


@contextmanager
def _migrated(url: str) -> Iterator[Engine]:
    upgrade(url)
    engine = make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


@contextmanager
def sqlite_database() -> Iterator[Engine]:
    with tempfile.TemporaryDirectory() as tmp, _migrated(f"sqlite:///{Path(tmp) / 'kizuna.sqlite3'}") as engine:
        yield engine


@contextmanager
def postgres_database() -> Iterator[Engine]:
    name = f"kizuna_bench_snapshot_{os.getpid()}"
    admin = make_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0"))
    url = make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        with _migrated(url) as engine:
            yield engine
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def add_accounts(engine: Engine, n: int) -> None:
    rows = [
        {
            "id": i,
            "external_id": f"ACC-{i}",
            "name": f"account {i}",
            "created_at": COMPUTED_AT,
            "updated_at": COMPUTED_AT,
        }
        for i in range(1, n + 1)
    ]
    with engine.begin() as conn:
        conn.execute(insert(models.Account), rows)


def stored_digest(engine: Engine) -> str:
    """sha256 of every stored snapshot row, with SQLite's storage class of each value."""
    digest = hashlib.sha256()
    with engine.connect() as conn:
        for table in ("kpi_series", "kpi_tables", "account_metrics"):
            columns = [c.name for c in models.Base.metadata.tables[table].columns]
            if engine.dialect.name == "sqlite":
                shown = [f"typeof({c}) || ':' || coalesce(CAST({c} AS TEXT), 'NULL')" for c in columns]
            else:
                shown = [f"coalesce(CAST({c} AS TEXT), 'NULL')" for c in columns]
            for row in conn.execute(text(f"SELECT {', '.join(shown)} FROM {table} ORDER BY id")):
                digest.update("|".join(row).encode())
    return digest.hexdigest()


def run(
    engine: Engine, as_of: dt.date, series: pd.DataFrame, accounts: pd.DataFrame, tables: dict[str, pd.DataFrame]
) -> dict[str, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    with Session(engine) as session, session.begin():
        counts = service.replace_snapshot(
            session, actor="bench", as_of=as_of, series=series, tables=tables, accounts=accounts
        )
        call = time.perf_counter() - wall
    return {
        "seconds": time.perf_counter() - wall,
        "call_seconds": call,
        "cpu_seconds": time.process_time() - cpu,
        "rows": sum(counts.values()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgres"], choices=["sqlite", "postgres"])
    parser.add_argument("--accounts", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3, help="days stored (then the last one again)")
    parser.add_argument("--digest", action="store_true", help="print a hash of the stored rows (fixed computed_at)")
    args = parser.parse_args()

    series, accounts = snapshot_series(), snapshot_accounts(args.accounts)
    tables = {
        f"table_{i:02d}": pd.DataFrame({"cohort_month": [dt.date(2026, 1, 1)] * 50, "period": range(50), "x": 0.5})
        for i in range(20)
    }
    print(f"series rows {len(series):,}, account rows {len(accounts):,}, tables {len(tables)}")
    if args.digest:
        service.utcnow = lambda: COMPUTED_AT  # type: ignore[attr-defined]  # a fixed computed_at to compare stored rows
    for database in args.databases:
        with sqlite_database() if database == "sqlite" else postgres_database() as engine:
            add_accounts(engine, args.accounts)
            days = [AS_OF + dt.timedelta(days=i) for i in range(args.runs)]
            for i, day in enumerate([*days, days[-1]], start=1):
                figures = run(engine, day, series, accounts, tables)
                print(
                    f"{database:8} {'replace' if i > args.runs else 'new day'} {day}: {figures['seconds']:.2f} s "
                    f"(replace_snapshot {figures['call_seconds']:.2f} s, cpu {figures['cpu_seconds']:.2f} s), "
                    f"{figures['rows']:,} rows"
                )
            if args.digest:
                print(f"{database:8} stored rows sha256 {stored_digest(engine)}")


if __name__ == "__main__":
    main()
