"""Benchmark: the KPI refresh step (``kizuna refresh --only kpis``) next to one plain scan of the event data.

    .venv/bin/kizuna --data-dir /tmp/kpi50k demo --accounts 50000     # ~50 million events, once
    .venv/bin/python bench/refresh.py --data-dir /tmp/kpi50k --as-of 2026-11-22

The floor is one DuckDB pass over every event file reading the columns the usage metrics need (count, distinct-ish
hash sum, max timestamp). The refresh runs twice: first without the monthly usage rollups (as after loading the
history, or the first refresh of a data directory: every month's usage is computed and stored), then again (as every
later refresh: only the current month and months whose event files changed are computed). Each refresh is also
divided by the floor scanned just before it: on a shared machine the speed drifts within minutes, so these pairs are
the steadiest ratio. Each measurement runs in its own interpreter so that peak RSS is its own. Prints figures; not a
test.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import time
from typing import Any


def _child_floor(data_dir: str, threads: int | None) -> dict[str, object]:
    from kizuna.analytics.engine import connect
    from kizuna.settings import Settings
    from kizuna.usage.store import EventStore

    store = EventStore(Settings(data_dir=data_dir).events_dir)
    con = connect("duckdb", threads=threads)
    started = time.perf_counter()
    row = con.raw_sql(
        "SELECT count(*), sum(hash(user_id) % 7), count(DISTINCT account_id), max(epoch_us(timestamp)) "
        f"FROM read_parquet('{store.glob()}')"
    ).fetchone()
    return {"seconds": time.perf_counter() - started, "events": int(row[0]), "accounts_with_events": int(row[2])}


def _child_refresh(data_dir: str, as_of: str, engine: str) -> dict[str, object]:
    import datetime as dt

    from kizuna.domains import refresh
    from kizuna.runtime import Runtime
    from kizuna.settings import Settings

    rt = Runtime.open(Settings(data_dir=data_dir, analytics_engine=engine))
    started = time.perf_counter()
    summary = refresh(rt, as_of=dt.date.fromisoformat(as_of), only=["kpis"])["kpis"]
    seconds = time.perf_counter() - started
    rt.close()
    return {"seconds": seconds, "step_seconds": summary["seconds"], "summary": summary}


def _child_hub(data_dir: str) -> dict[str, object]:
    import kizuna.models  # noqa: F401  (declares the hub tables the readers read)
    from kizuna.analytics.engine import connect
    from kizuna.analytics.kpi._common import KPI_COLUMNS
    from kizuna.hub.warehouse import hub_tables
    from kizuna.runtime import Runtime
    from kizuna.settings import Settings
    from kizuna.usage.store import EventStore

    rt = Runtime.open(Settings(data_dir=data_dir))
    started = time.perf_counter()
    hub_tables(connect(), rt.engine, EventStore(rt.settings.events_dir), KPI_COLUMNS)
    seconds = time.perf_counter() - started
    rt.close()
    return {"seconds": seconds}


def _run_child(args: list[str]) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"child {args} failed:\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _listed(runs: list[dict[str, Any]]) -> str:
    return ", ".join(f"{float(r['seconds']):.1f}" for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--as-of", default="2026-11-22")
    parser.add_argument("--engine", default="duckdb", choices=["duckdb", "spark"])
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=3, help="later refreshes (each next to a floor scan)")
    parser.add_argument("--child", choices=["floor", "hub", "refresh"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        if args.child == "floor":
            result = _child_floor(args.data_dir, args.threads)
        elif args.child == "hub":
            result = _child_hub(args.data_dir)
        else:
            result = _child_refresh(args.data_dir, args.as_of, args.engine)
        result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        # the largest child (hub readers, the KPI usage worker) on its own; it runs beside this process
        result["peak_child_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(json.dumps(result, default=str))
        return
    from kizuna.settings import Settings
    from kizuna.usage.rollups import rollup_dir
    from kizuna.usage.store import EventStore

    hub = _run_child(["--data-dir", args.data_dir, "--child", "hub"])
    print(
        f"reading the KPI step's hub tables into the engine: {hub['seconds']:.1f} s, peak {hub['peak_rss_mb']:.0f} MB"
    )
    refresh = ["--data-dir", args.data_dir, "--as-of", args.as_of, "--engine", args.engine, "--child", "refresh"]
    shutil.rmtree(rollup_dir(EventStore(Settings(data_dir=args.data_dir).events_dir)), ignore_errors=True)
    floors, later, pairs = [], [], []  # pairs: each later refresh over the floor scanned just before it
    for attempt in range(args.repeat):  # the floor next to each refresh: a shared machine's speed drifts
        floors.append(_run_child(["--data-dir", args.data_dir, "--child", "floor"]))
        ref = _run_child(refresh)
        if attempt == 0:
            first, first_floor = ref, floors[-1]
            floors.append(_run_child(["--data-dir", args.data_dir, "--child", "floor"]))
            ref = _run_child(refresh)
        later.append(ref)
        pairs.append(float(ref["seconds"]) / float(floors[-1]["seconds"]))
    floor = statistics.median(float(f["seconds"]) for f in floors)
    print(
        f"floor: one DuckDB scan of {floors[0]['events']:,} events: median {floor:.1f} s of {len(floors)} "
        f"({_listed(floors)}), peak {floors[0]['peak_rss_mb']:.0f} MB"
    )
    print(
        f"kizuna refresh --only kpis ({args.engine}), first (no usage rollups yet): {first['seconds']:.1f} s, "
        f"{float(first['seconds']) / float(first_floor['seconds']):.1f}x the floor scanned before it "
        f"({float(first['seconds']) / floor:.1f}x the median floor), peak {first['peak_rss_mb']:.0f} MB"
    )
    seconds = statistics.median(float(r["seconds"]) for r in later)
    print(
        f"kizuna refresh --only kpis ({args.engine}), every later one: median {seconds:.1f} s of {len(later)} "
        f"({_listed(later)}), {seconds / floor:.1f}x the median floor; each over the floor scanned before it: "
        f"{', '.join(f'{r:.1f}x' for r in pairs)} (median {statistics.median(pairs):.1f}x), "
        f"peak {max(float(r['peak_rss_mb']) for r in later):.0f} MB "
        f"(+ {max(float(r['peak_child_rss_mb']) for r in later):.0f} MB in its largest child process)"
    )
    print(f"summary: {json.dumps(ref['summary'], ensure_ascii=False)}")


if __name__ == "__main__":
    main()
