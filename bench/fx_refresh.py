"""Benchmark: what several currencies cost the KPI refresh step (``kizuna refresh --only kpis``).

    cp -a /work/d50 /tmp/d50-fx                                       # a COPY: this script writes to it
    KIZUNA_DATA_DIR=/tmp/d50-fx nice -n 19 .venv/bin/python bench/fx_refresh.py --as-of 2026-11-22 --share 0.05

One currency (the demo bills in yen) needs no conversion and reads no rate. With ``--share`` of the accounts billed
in US dollars (their subscription lines converted at 150 JPY/USD and rounded to cents) and a monthly USD rate for
every month of the history in ``fx_rates``, the step converts every line to the base currency at the rate of its
version's start, computes every KPI on the converted lines, and computes the MRR summary and scheduled changes once
more in each currency's own amounts. The two shapes alternate (``--runs`` pairs; the dollars are switched on and off
from a backup table in the same database), after one warm-up refresh that builds the usage rollups, so that the
machine's drift falls on both alike. Each refresh runs in its own interpreter. Prints figures; not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from typing import Any

RATE = 150.0  # JPY per USD for the converted lines, and the rates' level


def _child_refresh(data_dir: str, as_of: str) -> dict[str, Any]:
    import datetime as dt

    from kizuna.domains import refresh
    from kizuna.runtime import Runtime
    from kizuna.settings import Settings

    rt = Runtime.open(Settings(data_dir=data_dir))
    started, cpu = time.perf_counter(), _cpu()
    summary = refresh(rt, as_of=dt.date.fromisoformat(as_of), only=["kpis"])["kpis"]
    seconds, cpu = time.perf_counter() - started, _cpu() - cpu
    rt.close()
    return {
        "seconds": seconds,
        "cpu": cpu,
        "currency": summary.get("currency"),
        "currencies": summary.get("currencies"),
    }


def _cpu() -> float:
    """CPU seconds of this process and of its finished children (the KPI worker): on a shared machine the wall time
    says as much about the other jobs as about the step."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _child_dollars(data_dir: str, on: bool, share: float) -> dict[str, Any]:
    """Bill ``share`` of the accounts in dollars (``on``) or back in yen, exactly as before (a backup table)."""
    import datetime as dt

    from sqlalchemy import text

    from kizuna.runtime import Runtime
    from kizuna.settings import Settings

    rt = Runtime.open(Settings(data_dir=data_dir))
    with rt.transaction() as session:
        session.execute(
            text("CREATE TABLE IF NOT EXISTS bench_fx_backup (id INTEGER PRIMARY KEY, mrr_minor BIGINT, currency TEXT)")
        )
        if on:
            step = max(1, round(1 / share))
            session.execute(
                text(
                    "INSERT INTO bench_fx_backup (id, mrr_minor, currency) SELECT id, mrr_minor, currency "
                    "FROM subscriptions WHERE account_id % :step = 0"
                ),
                {"step": step},
            )
            session.execute(
                text(
                    "UPDATE subscriptions SET currency = 'USD', mrr_minor = CAST(ROUND(mrr_minor * 100.0 / :rate) AS "
                    "BIGINT) WHERE id IN (SELECT id FROM bench_fx_backup)"
                ),
                {"rate": RATE},
            )
            first = session.execute(text("SELECT min(start_date) FROM subscriptions")).scalar_one()
            day = dt.date.fromisoformat(str(first)[:10]).replace(day=1)
            rows = []
            while day <= dt.date.today():
                rows.append({"date": day, "rate": RATE + (day.month % 5) - 2})
                day = (day + dt.timedelta(days=32)).replace(day=1)
            session.execute(text("DELETE FROM fx_rates WHERE currency = 'USD'"))
            session.execute(text("INSERT INTO fx_rates (date, currency, rate) VALUES (:date, 'USD', :rate)"), rows)
        else:
            session.execute(
                text(
                    "UPDATE subscriptions SET mrr_minor = (SELECT b.mrr_minor FROM bench_fx_backup b WHERE "
                    "b.id = subscriptions.id), currency = (SELECT b.currency FROM bench_fx_backup b WHERE "
                    "b.id = subscriptions.id) WHERE id IN (SELECT id FROM bench_fx_backup)"
                )
            )
            session.execute(text("DELETE FROM bench_fx_backup"))
            session.execute(text("DELETE FROM fx_rates WHERE currency = 'USD'"))
        lines = session.execute(text("SELECT count(*) FROM subscriptions WHERE currency = 'USD'")).scalar_one()
    rt.close()
    return {"usd_lines": int(lines)}


def _run(*args: str, src: str | None = None) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": src} if src else None
    out = subprocess.run([sys.executable, __file__, *args], check=True, capture_output=True, text=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=os.environ.get("KIZUNA_DATA_DIR"), help="a COPY of a demo data dir")
    parser.add_argument("--as-of", required=True)
    parser.add_argument("--share", type=float, default=0.05, help="share of the accounts billed in dollars")
    parser.add_argument("--runs", type=int, default=2, help="pairs of refreshes (one currency, two currencies)")
    parser.add_argument("--today-src", help="also time the step of this source tree (e.g. main's src) in one currency")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "refresh":
            result = _child_refresh(args.data_dir, args.as_of)
        else:
            result = _child_dollars(args.data_dir, rest[0] == "on", args.share)
        print(json.dumps(result))
        return
    if not args.data_dir:
        parser.error("--data-dir (or KIZUNA_DATA_DIR): a copy of a demo data directory")
    base = ["--data-dir", args.data_dir, "--as-of", args.as_of, "--share", str(args.share)]
    _run(*base, "--child", "dollars", "off")
    warm = _run(*base, "--child", "refresh")
    print(f"warm-up refresh (builds the usage rollups): {warm['seconds']:.1f} s", flush=True)
    times: dict[str, list[tuple[float, float]]] = {"today": [], "one currency": [], "two currencies": []}
    for _ in range(args.runs):
        if args.today_src:
            today = _run(*base, "--child", "refresh", src=args.today_src)
            times["today"].append((today["seconds"], today["cpu"]))
            print(f"today's code, one currency: {today['seconds']:.1f} s ({today['cpu']:.1f} s CPU)", flush=True)
        one = _run(*base, "--child", "refresh")
        times["one currency"].append((one["seconds"], one["cpu"]))
        switched = _run(*base, "--child", "dollars", "on")
        two = _run(*base, "--child", "refresh")
        times["two currencies"].append((two["seconds"], two["cpu"]))
        _run(*base, "--child", "dollars", "off")
        print(
            f"one currency {one['seconds']:.1f} s ({one['cpu']:.1f} s CPU); {switched['usd_lines']:,} lines in USD: "
            f"{two['seconds']:.1f} s ({two['cpu']:.1f} s CPU), reported in {two['currency']}, "
            f"currencies {two['currencies']}",
            flush=True,
        )
    for i, unit in ((0, "s"), (1, "s CPU")):
        med = {k: statistics.median(v[i] for v in runs) for k, runs in times.items() if runs}
        one_m, two_m = med["one currency"], med["two currencies"]
        change = 100 * (two_m / one_m - 1)
        line = f"median: one currency {one_m:.1f} {unit}, two currencies {two_m:.1f} {unit} ({change:+.1f} %)"
        if "today" in med:
            line += (
                f"; today's code {med['today']:.1f} {unit}: one currency {100 * (one_m / med['today'] - 1):+.1f} %, "
            )
            line += f"two currencies {100 * (two_m / med['today'] - 1):+.1f} %"
        print(line)


if __name__ == "__main__":
    main()
