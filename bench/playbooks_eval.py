"""Benchmark: evaluate every example playbook over a large demo company and run what they queue.

    .venv/bin/python bench/playbooks_eval.py --accounts 50000 --data-dir /tmp/kizuna-bench-50k

Builds the demo company with ``kizuna demo`` (unless the data dir already holds one; ``--reuse``), optionally runs
the metrics, health and risk refresh steps first (``--scores``), imports the playbook library with every playbook
switched on (webhooks pointed at a local HTTP receiver), then measures, per playbook and in total:

1. a dry run (trigger + conditions, nothing written),
2. the first live evaluation (run log + pending jobs written),
3. a second live evaluation (must queue nothing: idempotency),
4. running the queued jobs (tasks, opportunities, stage changes, emails and webhooks queued in the outbox),
5. delivering the outbox (emails to data_dir/outbox/*.eml, webhooks to the local receiver).

Prints the figures; they are copied into docs/playbooks.md. Not a test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sqlalchemy import func, select


def _receiver() -> tuple[ThreadingHTTPServer, list[int]]:
    hits: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            hits.append(1)
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, hits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=50_000)
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/kizuna-bench-playbooks"))
    parser.add_argument("--reuse", action="store_true", help="Use the demo already in --data-dir.")
    parser.add_argument("--jobs-limit", type=int, default=None, help="Run at most this many of the queued jobs.")
    parser.add_argument(
        "--scores", action="store_true", help="Run the metrics, health and risk refresh steps first (slow)."
    )
    args = parser.parse_args()

    from kizuna import models as m
    from kizuna.migrations import upgrade
    from kizuna.platform.outbox.service import deliver_queued
    from kizuna.playbooks.jobs import process_jobs
    from kizuna.playbooks.service import LIBRARY_DIR, evaluate_playbook, import_playbook
    from kizuna.runtime import Runtime
    from kizuna.settings import Settings

    settings = Settings(data_dir=args.data_dir)
    if not args.reuse:
        from kizuna.demo.generator import generate_demo
        from kizuna.demo.simulate import DemoOptions

        started = time.perf_counter()
        settings.ensure_dirs()
        upgrade(settings.sqlalchemy_url)
        generate_demo(
            settings,
            options=DemoOptions(accounts=args.accounts),
            reset=True,
            progress=lambda msg: print(msg, file=sys.stderr),
        )
        print(f"demo with {args.accounts:,} accounts built in {time.perf_counter() - started:.0f} s")
    upgrade(settings.sqlalchemy_url)
    runtime = Runtime.open(settings)
    if args.scores:
        from kizuna.domains import refresh

        for step in ("metrics", "health", "risk"):
            started = time.perf_counter()
            try:
                summary = refresh(runtime, only=[step])
                print(f"refresh {step} in {time.perf_counter() - started:.0f} s: {summary.get(step)}")
            except Exception as exc:  # the bench reports what it could not do and goes on
                print(f"refresh {step} failed: {type(exc).__name__}: {exc}")

    server, hits = _receiver()
    receiver_url = f"http://127.0.0.1:{server.server_address[1]}"
    with runtime.transaction() as session:
        n_accounts = session.scalar(select(func.count()).select_from(m.Account))
        keys = []
        for path in sorted(LIBRARY_DIR.glob("*.yaml")):
            text = path.read_text(encoding="utf-8").replace("http://127.0.0.1:9", receiver_url)
            text = text.replace("enabled: false", "enabled: true")
            playbook, _ = import_playbook(session, actor="bench", yaml_text=text, source=path.name)
            keys.append(playbook.key)
    print(f"{n_accounts:,} accounts, {len(keys)} playbooks, database {settings.sqlalchemy_url.split(':')[0]}")

    now = dt.datetime.now(dt.UTC)
    rows = []
    totals = {"dry": 0.0, "live": 0.0, "again": 0.0}
    for key in keys:
        with runtime.transaction() as session:
            t0 = time.perf_counter()
            dry = evaluate_playbook(session, key=key, now=now, dry_run=True)
            t1 = time.perf_counter()
        with runtime.transaction() as session:
            live = evaluate_playbook(session, key=key, now=now)
        t2 = time.perf_counter()
        with runtime.transaction() as session:
            again = evaluate_playbook(session, key=key, now=now)
        t3 = time.perf_counter()
        assert again.jobs_queued == 0, f"{key}: the second evaluation queued {again.jobs_queued} jobs"
        totals["dry"] += t1 - t0
        totals["live"] += t2 - t1
        totals["again"] += t3 - t2
        rows.append(
            (key, len(dry.outcomes), dry.count("would_act"), live.jobs_queued, t1 - t0, t2 - t1, t3 - t2, dry.skipped)
        )

    print(f"\n{'playbook':<22} {'signals':>8} {'act':>7} {'jobs':>7} {'dry s':>7} {'live s':>7} {'again s':>8}")
    for key, signals, act, jobs, d, lv, ag, skipped in rows:
        note = f"  skipped: {skipped[:60]}" if skipped else ""
        print(f"{key:<22} {signals:>8,} {act:>7,} {jobs:>7,} {d:>7.2f} {lv:>7.2f} {ag:>8.2f}{note}")
    print(
        f"{'total':<22} {sum(r[1] for r in rows):>8,} {sum(r[2] for r in rows):>7,} "
        f"{sum(r[3] for r in rows):>7,} {totals['dry']:>7.2f} {totals['live']:>7.2f} {totals['again']:>8.2f}"
    )

    started = time.perf_counter()
    done = failed = 0
    while args.jobs_limit is None or done + failed < args.jobs_limit:
        batch = 2000 if args.jobs_limit is None else min(2000, args.jobs_limit - done - failed)
        report = process_jobs(runtime, now=now, limit=batch)
        done += report.done
        failed += report.failed + report.retrying
        if report.done + report.failed + report.retrying == 0:
            break
    jobs_seconds = time.perf_counter() - started
    started = time.perf_counter()
    sent = outbox = 0
    while True:
        delivered = deliver_queued(runtime.sessions, settings=settings, limit=5000)
        sent, outbox = sent + delivered.sent, outbox + delivered.outbox
        if delivered.sent + delivered.outbox + delivered.retrying + delivered.failed == 0:
            break
    deliver_seconds = time.perf_counter() - started
    with runtime.transaction() as session:
        tasks = session.scalar(select(func.count()).select_from(m.Task))
        opportunities = session.scalar(
            select(func.count()).select_from(m.Opportunity).where(m.Opportunity.source.like("playbook:%"))
        )
    print(
        f"\njobs run: {done:,} in {jobs_seconds:.1f} s ({done / max(jobs_seconds, 1e-9):,.0f}/s), "
        f"{failed} failed or retrying; {tasks:,} tasks, {opportunities:,} opportunities"
    )
    print(
        f"delivered: {outbox:,} emails to the outbox and {sent:,} webhooks ({len(hits):,} received) "
        f"in {deliver_seconds:.1f} s"
    )
    server.shutdown()
    runtime.close()


if __name__ == "__main__":
    main()
