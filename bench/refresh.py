"""Benchmark: the KPI refresh step (``kizuna refresh --only metrics``) next to one plain scan of the event data.

    .venv/bin/kizuna --data-dir /tmp/kpi50k demo --accounts 50000     # ~50 million events, once
    .venv/bin/python bench/refresh.py --data-dir /tmp/kpi50k --as-of 2026-11-22

The floor is one DuckDB pass over every event file reading the columns the usage metrics need (count, distinct-ish
hash sum, max timestamp). Each measurement runs in its own interpreter so that peak RSS is its own. Prints figures;
not a test.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time


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

    from kizuna.refresh import refresh
    from kizuna.runtime import Runtime
    from kizuna.settings import Settings

    rt = Runtime.open(Settings(data_dir=data_dir, analytics_engine=engine))  # type: ignore[arg-type]
    started = time.perf_counter()
    summary = refresh(rt, as_of=dt.date.fromisoformat(as_of), only=["metrics"])["metrics"]
    seconds = time.perf_counter() - started
    rt.close()
    return {"seconds": seconds, "step_seconds": summary["seconds"], "summary": summary}


def _child_hub(data_dir: str) -> dict[str, object]:
    from kizuna.analytics.engine import connect
    from kizuna.runtime import Runtime
    from kizuna.settings import Settings
    from kizuna.usage.store import EventStore
    from kizuna.warehouse import hub_tables

    rt = Runtime.open(Settings(data_dir=data_dir))
    started = time.perf_counter()
    hub_tables(connect(), rt.engine, EventStore(rt.settings.events_dir))
    seconds = time.perf_counter() - started
    rt.close()
    return {"seconds": seconds}


def _run_child(args: list[str]) -> dict[str, object]:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"child {args} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--as-of", default="2026-11-22")
    parser.add_argument("--engine", default="duckdb", choices=["duckdb", "spark"])
    parser.add_argument("--threads", type=int, default=None)
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
        print(json.dumps(result, default=str))
        return
    floor = _run_child(["--data-dir", args.data_dir, "--child", "floor"])
    print(
        f"floor: one DuckDB scan of {floor['events']:,} events: {floor['seconds']:.1f} s, "
        f"peak RSS {floor['peak_rss_mb']:.0f} MB"
    )
    hub = _run_child(["--data-dir", args.data_dir, "--child", "hub"])
    print(
        f"reading the hub tables from the app database into the engine (shared by every refresh step): "
        f"{hub['seconds']:.1f} s, peak RSS {hub['peak_rss_mb']:.0f} MB"
    )
    ref = _run_child(
        ["--data-dir", args.data_dir, "--as-of", args.as_of, "--engine", args.engine, "--child", "refresh"]
    )
    print(
        f"kizuna refresh --only metrics ({args.engine}): {ref['seconds']:.1f} s "
        f"(step {ref['step_seconds']} s, including reading the hub), peak RSS {ref['peak_rss_mb']:.0f} MB"
    )
    own = float(ref["seconds"]) - float(hub["seconds"])
    print(
        f"ratio to the floor: {float(ref['seconds']) / float(floor['seconds']):.1f}x "
        f"(without reading the hub: {own:.1f} s, {own / float(floor['seconds']):.1f}x)"
    )
    print(f"summary: {json.dumps(ref['summary'], ensure_ascii=False)}")


if __name__ == "__main__":
    main()
