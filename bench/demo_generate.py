"""Benchmark ``kizuna demo``: wall time, per-step seconds and peak RSS at 2,000 and 50,000 accounts.

Each size runs in its own process (so peak RSS is that run's) against a fresh SQLite data directory.

    .venv/bin/python bench/demo_generate.py                 # 2,000 and 50,000 accounts
    .venv/bin/python bench/demo_generate.py --accounts 2000  # one size
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time

CHILD = """
import datetime as dt, json, sys
from pathlib import Path
from kizuna.settings import Settings
from kizuna.demo.generator import generate_demo
from kizuna.demo.simulate import DemoOptions
options = DemoOptions(accounts=int(sys.argv[2]), years=3, end_date=dt.date(2026, 11, 22))
summary = generate_demo(Settings(data_dir=Path(sys.argv[1])), options=options)
print(json.dumps({"rows": summary.rows, "events": summary.events, "seconds": summary.seconds}))
"""


def run(accounts: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="kizuna-demo-bench-") as folder:
        start = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", CHILD, f"{folder}/data", str(accounts)], check=True, capture_output=True, text=True
        )
        wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result.update(accounts=accounts, wall_s=round(wall, 1), peak_rss_mb=round(usage.ru_maxrss / 1024))
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, action="append", help="sizes to run (default 2000 and 50000)")
    args = parser.parse_args()
    for accounts in args.accounts or [2000, 50_000]:
        r = run(accounts)
        rows = sum(r["rows"].values())  # type: ignore[attr-defined]
        events = int(r["events"])  # type: ignore[call-overload]
        print(
            f"accounts={accounts:,} wall={r['wall_s']} s peak_rss={r['peak_rss_mb']} MB "
            f"hub_rows={rows:,} events={events:,}"
        )
        print("  steps (s):", r["seconds"])
        print("  rows:", r["rows"])
        sys.stdout.flush()


if __name__ == "__main__":
    main()
