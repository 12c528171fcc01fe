"""Benchmark: a whole ``kizuna refresh`` on a copy of a data directory, step by step (wall and CPU seconds).

    .venv/bin/kizuna --data-dir /tmp/d50 demo --accounts 50000 --seed 7 --end-date 2026-12-06   # once, ~5 min
    .venv/bin/python bench/full_refresh.py /tmp/d50 --as-of 2026-12-06                           # the first refresh
    .venv/bin/python bench/full_refresh.py /tmp/d50 --as-of 2026-12-06 --only playbooks --only renewals

The data directory is copied first (``--work-dir``, default a temporary directory beside it) and the copy refreshed,
so the same first refresh (the health history back-filled, the churn model trained, every playbook acting) can be
measured again; ``--twice`` refreshes the copy a second time, as a daily refresh after the first. The step times are
the pipeline's own (``seconds``, ``cpu_seconds`` of this process); the CPU of child processes (the KPI step's
worker) is added per step from ``getrusage(RUSAGE_CHILDREN)``, which counts them once they have ended. On a machine
shared with other work the wall time measures the wait for a core as much as the work: the load average is printed
before and after. Prints figures; not a test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _refresh(data_dir: Path, *, as_of: dt.date, only: list[str] | None) -> tuple[dict[str, dict[str, Any]], float]:
    from kizuna.domains import REFRESH_STEPS
    from kizuna.pipeline import refresh as pipeline
    from kizuna.pipeline.refresh import Step
    from kizuna.runtime import Runtime
    from kizuna.settings import Settings

    children: dict[str, float] = {}

    def counted(step: Step) -> Step:
        def run(ctx: Any) -> dict[str, Any]:
            before = _children_cpu()
            try:
                return step.run(ctx)
            finally:
                children[step.name] = children.get(step.name, 0.0) + _children_cpu() - before

        return Step(step.name, run)

    runtime = Runtime.open(Settings(data_dir=data_dir))
    started = time.perf_counter()
    try:
        summaries = pipeline.refresh(runtime, [counted(s) for s in REFRESH_STEPS], as_of=as_of, only=only)
    finally:
        runtime.close()
    for name, summary in summaries.items():
        summary["child_cpu_seconds"] = round(children.get(name, 0.0), 2)
    return summaries, time.perf_counter() - started


def _print(title: str, summaries: dict[str, dict[str, Any]], total: float) -> None:
    print(f"\n{title}")
    print(f"{'step':<12} {'wall s':>8} {'cpu s':>8} {'child cpu s':>12}")
    cpu = child = 0.0
    for name, summary in summaries.items():
        cpu += float(summary.get("cpu_seconds", 0))
        child += float(summary.get("child_cpu_seconds", 0))
        print(
            f"{name:<12} {summary.get('seconds', 0):>8.1f} {summary.get('cpu_seconds', 0):>8.1f} "
            f"{summary.get('child_cpu_seconds', 0):>12.1f}" + ("  (skipped)" if summary.get("skipped") else "")
        )
    print(f"{'total':<12} {total:>8.1f} {cpu:>8.1f} {child:>12.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path, help="a data directory (left as it is: a copy is refreshed)")
    parser.add_argument("--as-of", default=None, help="YYYY-MM-DD (default today)")
    parser.add_argument("--only", action="append", help="run only this step (repeatable)")
    parser.add_argument("--twice", action="store_true", help="refresh the copy a second time (a daily refresh)")
    parser.add_argument("--work-dir", type=Path, default=None, help="where the copy goes (default: a temporary dir)")
    parser.add_argument("--keep", action="store_true", help="keep the refreshed copy")
    parser.add_argument("--json", type=Path, default=None, help="also write the summaries to this file")
    args = parser.parse_args()
    as_of = dt.date.fromisoformat(args.as_of) if args.as_of else dt.date.today()
    # each step's line as it ends (the table comes at the end): a long run on a busy machine shows its progress
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s")
    logging.getLogger("kizuna.pipeline").setLevel(logging.INFO)

    work = args.work_dir or Path(tempfile.mkdtemp(prefix="full-refresh-", dir=args.data_dir.parent))
    copy = work / "data"
    started = time.perf_counter()
    shutil.copytree(args.data_dir, copy, symlinks=True)
    print(f"copied {args.data_dir} to {copy} in {time.perf_counter() - started:.0f} s")
    print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    results: dict[str, Any] = {}
    try:
        summaries, total = _refresh(copy, as_of=as_of, only=args.only)
        _print("first refresh of the copy", summaries, total)
        results["first"] = {"total_seconds": total, "steps": summaries}
        if args.twice:
            summaries, total = _refresh(copy, as_of=as_of, only=args.only)
            _print("second refresh (the same day again)", summaries, total)
            results["second"] = {"total_seconds": total, "steps": summaries}
    finally:
        print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
