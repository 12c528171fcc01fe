"""Benchmark: the churn model's behaviour queries over a data directory's events, for every account at every sample
date (as before the sampled pairs were passed) and for a seeded sample of those pairs only; checks that the pairs'
rows are the whole query's rows of them. Reads the event files only (writes nothing into the data directory).

    .venv/bin/python bench/risk_behaviour_pairs.py /work/d50 --as-of 2026-12-06 --samples 150000

Prints CPU seconds (this process, DuckDB's threads included) and wall seconds per query; not a test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import time
from pathlib import Path

import numpy as np
import pandas as pd

from kizuna.analytics.churn.labels import sample_dates
from kizuna.analytics.engine import connect, register_tables
from kizuna.analytics.risk import behaviour
from kizuna.usage.store import EventStore


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--as-of", required=True, help="YYYY-MM-DD: the end of the data")
    parser.add_argument("--first", default=None, help="first sample date (default: 90 days after the first event)")
    parser.add_argument("--samples", type=int, default=150_000, help="sampled (account, date) pairs")
    args = parser.parse_args()
    tables = register_tables(connect("duckdb"), {"events": EventStore(args.data_dir / "events").source()})
    events = tables["events"]
    as_of = dt.date.fromisoformat(args.as_of)
    if args.first:
        first = dt.date.fromisoformat(args.first)
    else:
        first = pd.Timestamp(events.aggregate(lo=events.timestamp.min()).to_pandas()["lo"].iloc[0]).date()
        first += dt.timedelta(days=90)
    dates = sample_dates(first, as_of - dt.timedelta(days=90))
    types = behaviour.event_types(tables, until=max(dates))
    accounts = events.select("account_id").distinct().to_pandas()["account_id"].to_numpy()
    every = pd.DataFrame({"account_id": np.repeat(accounts, len(dates)), "as_of": list(dates) * len(accounts)})
    pairs = every.sample(n=min(args.samples, len(every)), random_state=0)
    print(f"{len(dates)} dates, {len(accounts)} accounts, {len(types)} event types, {len(pairs)} pairs")
    queries = (
        ("event_counts", behaviour.event_counts, {"types": types}),
        ("active_days", behaviour.active_days, {}),
        ("lifetime_counts", behaviour.lifetime_counts, {"types": types}),
    )
    for name, query, kwargs in queries:
        c0, w0 = _cpu(), time.perf_counter()
        whole = query(tables, dates, **kwargs)  # type: ignore[operator]
        c1, w1 = _cpu(), time.perf_counter()
        only = query(tables, dates, pairs=pairs, **kwargs)  # type: ignore[operator]
        c2, w2 = _cpu(), time.perf_counter()
        kept = whole.merge(pairs, on=["account_id", "as_of"]).sort_values(list(whole.columns[:3]))
        pd.testing.assert_frame_equal(only, kept.reset_index(drop=True)[list(whole.columns)], check_dtype=False)
        print(
            f"{name}: whole {c1 - c0:.1f} s CPU / {w1 - w0:.1f} s wall ({len(whole)} rows); "
            f"pairs {c2 - c1:.1f} / {w2 - w1:.1f} ({len(only)} rows); identical"
        )


if __name__ == "__main__":
    main()
