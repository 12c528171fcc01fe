"""A month of operation in compressed time: does kizuna lose, repeat or slow down anything?

    python bench/soak.py --data-dir /tmp/soak --accounts 10000 --days 30 --day-seconds 120

One "day" lasts ``--day-seconds`` of real time. Throughout:

- ``kizuna serve`` (its in-process scheduler on) and a ``kizuna worker`` that is killed (SIGKILL) and restarted every
  ``--kill-every`` seconds; both ask for the leader lock, both run jobs and deliver;
- 4 web clients, logged in, reading the pages CSMs and managers read (the nav, accounts, customer 360);
- tracking load from the real Segment (``segment-analytics-python``) and RudderStack (``rudder-sdk-python``) Python
  clients, each event with its own messageId;
- a webhook peer on loopback that is sometimes slow (longer than an in-line try) and sometimes down (503), and an
  SMTP server on loopback (aiosmtpd), both counting what they receive per idempotency key.

Each day: a tickets import (some escalated: the ``ticket-escalated`` playbook posts to the webhook peer) and
``kizuna refresh``. At the end it reports events sent vs stored, sends per idempotency key, page p95 by day, table
sizes by day and tracebacks in the processes' logs. Figures in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import json
import math
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
EMAIL, PASSWORD = "soak@kizuna.example", "soak-password-1"
TABLES = [
    "pending_jobs",
    "outbound_messages",
    "playbook_runs",
    "playbook_run_accounts",
    "tasks",
    "audit_log",
    "health_scores",
    "kpi_snapshots",
    "import_runs",
    "tickets",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def kizuna_cmd() -> list[str]:
    return [sys.executable, "-c", "from kizuna.cli import main; main()"]


# --- the peers ---------------------------------------------------------------------------------------------------


@dataclass
class Peers:
    posts: Counter[str] = field(default_factory=Counter)  # 2xx answers per Idempotency-Key
    refused: Counter[str] = field(default_factory=Counter)  # POSTs answered 503 (down)
    mails: Counter[str] = field(default_factory=Counter)  # per X-Kizuna-Idempotency-Key
    # answers the sender no longer waited for (its timeout passed while the peer was slow): it sends again, with the
    # same Idempotency-Key, which is there for the peer to drop that copy
    abandoned: Counter[str] = field(default_factory=Counter)
    mode: str = "up"  # up, slow, down
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.original_content or envelope.content)
        with self.lock:
            self.mails[str(message["X-Kizuna-Idempotency-Key"])] += 1
        return "250 OK"


def start_webhook_peer(peers: Peers) -> tuple[str, ThreadingHTTPServer]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            key = self.headers.get("Idempotency-Key", "")
            mode = peers.mode
            if mode == "slow":
                # slow, within the sender's 10 s timeout (beyond it, the sender cannot tell a slow success from a
                # failure and sends again: the Idempotency-Key header is there for the peer to drop that copy)
                time.sleep(8)
            status = 503 if mode == "down" else 200
            with peers.lock:
                (peers.refused if status == 503 else peers.posts)[key] += 1
            try:
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok")
            except (BrokenPipeError, ConnectionResetError):
                with peers.lock:
                    peers.abandoned[key] += 1

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{httpd.server_address[1]}", httpd


# --- set-up ------------------------------------------------------------------------------------------------------


def prepare(args: argparse.Namespace, env: dict[str, str], hook_url: str) -> tuple[str, list[str], list[int]]:
    """The demo company (built once), a login, an ingest key and the playbooks posting to the webhook peer."""
    from sqlalchemy import select

    from kizuna.accounts.models import Account
    from kizuna.auth import service
    from kizuna.auth.models import User
    from kizuna.migrations import upgrade
    from kizuna.playbooks.service import LIBRARY_DIR, import_playbook, set_enabled
    from kizuna.runtime import Runtime
    from kizuna.settings import Settings

    settings = Settings(data_dir=args.data_dir, database_url=args.database_url)
    settings.ensure_dirs()
    upgrade(settings.sqlalchemy_url)
    runtime = Runtime.open(settings)
    with runtime.transaction() as session:
        empty = session.scalar(select(Account.id).limit(1)) is None
    if empty:
        print(f"building the demo company ({args.accounts:,} accounts) ...", flush=True)
        subprocess.run([*kizuna_cmd(), "demo", "--accounts", str(args.accounts), "--years", "2"], env=env, check=True)
    with runtime.transaction() as session:
        for path in sorted(LIBRARY_DIR.glob("*.yaml")):
            text = path.read_text(encoding="utf-8").replace("http://127.0.0.1:9", hook_url)
            playbook, _ = import_playbook(session, actor="soak", yaml_text=text, source=path.name)
            set_enabled(session, actor="soak", key=playbook.key, enabled=True)
        if session.scalar(select(User.id).where(User.email == EMAIL)) is None:
            service.create_user(session, actor="soak", email=EMAIL, name="soak", password=PASSWORD, role="admin")
        _, secret = service.create_api_key(session, actor="soak", name="soak", scopes=["ingest"])
        externals = list(session.scalars(select(Account.external_id).order_by(Account.id)))
        ids = list(session.scalars(select(Account.id).order_by(Account.id)))
    runtime.close()
    return secret, externals, ids


def table_sizes(args: argparse.Namespace) -> dict[str, int]:
    from sqlalchemy import inspect, text

    from kizuna.db import make_engine
    from kizuna.settings import Settings

    engine = make_engine(Settings(data_dir=args.data_dir, database_url=args.database_url).sqlalchemy_url)
    try:
        present = set(inspect(engine).get_table_names())
        with engine.connect() as conn:
            return {t: int(conn.scalar(text(f"SELECT count(*) FROM {t}")) or 0) for t in TABLES if t in present}
    finally:
        engine.dispose()


def daily_tickets(path: Path, externals: list[str], day: int, rng: random.Random, n: int) -> None:
    now = dt.datetime.now(dt.UTC)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["external_id", "account_external_id", "subject", "opened_at", "priority", "escalated"])
        for i in range(n):
            writer.writerow(
                [
                    f"SOAK-{day}-{i}",
                    rng.choice(externals),
                    f"ログインできない ({day}-{i})",
                    (now - dt.timedelta(minutes=rng.randint(1, 600))).isoformat(),
                    rng.choice(["low", "normal", "high"]),
                    "true" if i % 10 == 0 else "false",
                ]
            )


# --- the load ----------------------------------------------------------------------------------------------------


class Tracking:
    """Segment's and RudderStack's own clients sending ``track`` calls with our messageIds."""

    def __init__(self, base_url: str, write_key: str, externals: list[str]) -> None:
        from rudderstack.analytics.client import Client as RudderClient
        from segment.analytics.client import Client as SegmentClient

        self.failures: list[str] = []
        self.sent: list[str] = []
        self.dropped = 0  # refused by the client's own queue (full): never sent, so not expected
        self.externals = externals
        on_error = lambda error, _batch: self.failures.append(str(error))  # noqa: E731
        self.clients = {
            "segment": SegmentClient(write_key, host=base_url, on_error=on_error, max_retries=10, upload_size=100),
            "rudder": RudderClient(write_key, host=base_url, on_error=on_error, max_retries=10, upload_size=100),
        }
        self.stop = threading.Event()
        self.threads = [
            threading.Thread(target=self._send, args=(name,), daemon=True, name=f"track-{name}")
            for name in self.clients
        ]

    def _send(self, name: str) -> None:
        rng = random.Random(name)
        client = self.clients[name]
        n = 0
        while not self.stop.is_set():
            for _ in range(10):
                message_id = f"{name}-{n}"
                account = rng.choice(self.externals)
                queued, _message = client.track(
                    f"{account}-u{rng.randint(1, 5)}",
                    rng.choice(["Report Viewed", "Dashboard Opened", "Export Run"]),
                    {"feature": "reports"},
                    context={"groupId": account},
                    message_id=message_id,
                )
                if queued:  # the client's own queue was not full: it will send it, or report an error
                    self.sent.append(message_id)
                else:
                    self.dropped += 1
                n += 1
            self.stop.wait(1.0)  # ~10 events/s per client

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()
        for client in self.clients.values():
            client.flush()
            client.join()


async def web_clients(
    base_url: str,
    ids: list[int],
    stop: asyncio.Event,
    timings: list[tuple[int, str, float]],
    day: list[int],
    errors: list[str],
) -> None:
    from kizuna.domains import DOMAINS

    nav = [link.url for domain in DOMAINS for link in domain.nav]

    async def one(i: int) -> None:
        rng = random.Random(i)
        async with httpx.AsyncClient(base_url=base_url, timeout=120) as client:
            page = await client.get("/login")
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            assert token, page.text[:200]
            await client.post(
                "/login", data={"email": EMAIL, "password": PASSWORD, "csrf_token": token.group(1), "next": "/"}
            )
            while not stop.is_set():
                url = rng.choice([*nav, f"/accounts/{rng.choice(ids)}", f"/accounts/{rng.choice(ids)}"])
                started = time.perf_counter()
                try:
                    response = await client.get(url)
                except httpx.HTTPError as exc:  # when, to match it with the server's log
                    errors.append(f"{time.strftime('%H:%M:%S')} day {day[0]} {url}: {exc!r}")
                    await asyncio.sleep(1)
                    continue
                name = "/accounts/{id}" if re.fullmatch(r"/accounts/\d+", url) else url
                timings.append((day[0], name, (time.perf_counter() - started) * 1000))
                if response.status_code != 200:
                    errors.append(f"{time.strftime('%H:%M:%S')} day {day[0]} {url}: {response.status_code}")
                await asyncio.sleep(0.2)

    await asyncio.gather(*(one(i) for i in range(4)))


# --- the month ---------------------------------------------------------------------------------------------------


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)] if ordered else float("nan")


def stored_event_ids(args: argparse.Namespace) -> Counter[str]:
    import pyarrow.dataset as ds

    events = args.data_dir / "events"
    files = [p for p in events.rglob("*.parquet") if "_rollups" not in p.parts and not p.name.startswith(".")]
    if not files:
        return Counter()
    table = ds.dataset(files, format="parquet").to_table(columns=["event_id"])
    return Counter(table.column("event_id").to_pylist())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--day-seconds", type=float, default=120.0, help="Real seconds one day lasts (at least).")
    parser.add_argument("--kill-every", type=float, default=20.0, help="Seconds between SIGKILLs of the worker.")
    parser.add_argument("--tickets", type=int, default=50, help="Tickets imported a day (one in ten escalated).")
    args = parser.parse_args()
    args.data_dir = args.data_dir.resolve()
    logs = args.data_dir / "soak-logs"
    logs.mkdir(parents=True, exist_ok=True)

    peers = Peers()
    hook_url, httpd = start_webhook_peer(peers)
    from aiosmtpd.controller import Controller

    smtp_port = free_port()
    smtp = Controller(peers, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    env = {
        **os.environ,
        "KIZUNA_DATA_DIR": str(args.data_dir),
        "KIZUNA_SMTP_HOST": "127.0.0.1",
        "KIZUNA_SMTP_PORT": str(smtp_port),
        "PYTHONPATH": os.pathsep.join(sys.path),
    }
    if args.database_url:
        env["KIZUNA_DATABASE_URL"] = args.database_url
    write_key, externals, ids = prepare(args, env, hook_url)
    rng = random.Random(7)

    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [*kizuna_cmd(), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(logs / "serve.log").open("ab"),
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base_url}/healthz", timeout=5).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.5)
    worker_log = (logs / "worker.log").open("ab")

    def start_worker() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [*kizuna_cmd(), "worker", "--interval", "2"], env=env, stdout=subprocess.DEVNULL, stderr=worker_log
        )

    workers = [start_worker()]
    kills = [0]
    stop_killing = threading.Event()

    def kill_and_restart() -> None:  # the worker dies (SIGKILL: no clean-up) every --kill-every seconds
        while not stop_killing.wait(args.kill_every):
            workers[0].send_signal(signal.SIGKILL)
            workers[0].wait()
            kills[0] += 1
            workers[0] = start_worker()

    killer = threading.Thread(target=kill_and_restart, daemon=True)
    killer.start()
    tracking = Tracking(base_url, write_key, externals)
    tracking.start()
    timings: list[tuple[int, str, float]] = []
    web_errors: list[str] = []
    day = [1]
    stop_web = asyncio.Event()
    loop = asyncio.new_event_loop()
    web_thread = threading.Thread(
        target=lambda: loop.run_until_complete(web_clients(base_url, ids, stop_web, timings, day, web_errors)),
        daemon=True,
    )
    web_thread.start()
    sizes: dict[int, dict[str, int]] = {0: table_sizes(args)}
    step_seconds: dict[int, dict[str, float]] = {}
    refresh_log = (logs / "refresh.log").open("ab")
    started = time.monotonic()
    for d in range(1, args.days + 1):
        day[0] = d
        day_started = time.monotonic()
        peers.mode = peer_mode(d)
        tickets = args.data_dir / f"tickets-{d}.csv"
        daily_tickets(tickets, externals, d, rng, args.tickets)
        t0 = time.monotonic()
        subprocess.run(
            [*kizuna_cmd(), "import", "tickets", str(tickets)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=refresh_log,
            check=False,
        )
        t1 = time.monotonic()
        subprocess.run([*kizuna_cmd(), "refresh"], env=env, stdout=subprocess.DEVNULL, stderr=refresh_log, check=False)
        t2 = time.monotonic()
        step_seconds[d] = {"import": t1 - t0, "refresh": t2 - t1}
        while time.monotonic() - day_started < args.day_seconds:
            time.sleep(0.5)
        if peers.mode != "up":
            peers.mode = "up"
        sizes[d] = table_sizes(args)
        day_timings = [ms for dd, _name, ms in timings if dd == d]
        print(
            f"day {d:>2}: import {step_seconds[d]['import']:5.1f} s, refresh {step_seconds[d]['refresh']:6.1f} s, "
            f"pages n={len(day_timings)} p95={p95(day_timings):6.0f} ms, webhook peer {peer_mode(d)}, "
            f"pending_jobs {sizes[d].get('pending_jobs', 0):,}, run log {sizes[d].get('playbook_run_accounts', 0):,}",
            flush=True,
        )
    # wind down: stop the load, let the last messages go out (the peer is up), then count
    loop.call_soon_threadsafe(stop_web.set)
    web_thread.join(120)
    tracking.finish()
    peers.mode = "up"
    stop_killing.set()
    killer.join()
    drain_until = time.monotonic() + 400  # a killed worker's claim ends with its lease (5 minutes)
    while time.monotonic() < drain_until and unfinished_messages(args) > 0:
        time.sleep(2)
    workers[0].send_signal(signal.SIGTERM)
    workers[0].wait(60)
    server.send_signal(signal.SIGTERM)
    server.wait(60)
    smtp.stop()
    httpd.shutdown()
    report(args, peers, tracking, timings, web_errors, sizes, step_seconds, kills[0], time.monotonic() - started, logs)


def peer_mode(d: int) -> str:
    """The webhook peer's day: up, then slow (answers after the sender's timeout), then down (503), and again."""
    return ("down", "up", "slow")[d % 3]


def unfinished_messages(args: argparse.Namespace) -> int:
    from sqlalchemy import text

    from kizuna.db import make_engine
    from kizuna.settings import Settings

    engine = make_engine(Settings(data_dir=args.data_dir, database_url=args.database_url).sqlalchemy_url)
    try:
        with engine.connect() as conn:
            return int(
                conn.scalar(
                    text(
                        "SELECT count(*) FROM outbound_messages WHERE status = 'sending' "
                        "OR (status = 'queued' AND attempts > 0)"
                    )
                )
                or 0
            )
    finally:
        engine.dispose()


def report(
    args: argparse.Namespace,
    peers: Peers,
    tracking: Tracking,
    timings: list[tuple[int, str, float]],
    web_errors: list[str],
    sizes: dict[int, dict[str, int]],
    step_seconds: dict[int, dict[str, float]],
    kills: int,
    elapsed: float,
    logs: Path,
) -> None:
    from sqlalchemy import text

    from kizuna.db import make_engine
    from kizuna.settings import Settings

    stored = stored_event_ids(args)
    sent = set(tracking.sent)
    lost = len(sent - set(stored))
    duplicated = sum(n - 1 for key, n in stored.items() if key in sent and n > 1)
    engine = make_engine(Settings(data_dir=args.data_dir, database_url=args.database_url).sqlalchemy_url)
    with engine.connect() as conn:
        statuses = dict(
            conn.execute(text("SELECT channel || ':' || status, count(*) FROM outbound_messages GROUP BY 1")).all()
        )
        sent_hooks = {
            k
            for (k,) in conn.execute(
                text("SELECT idempotency_key FROM outbound_messages WHERE channel = 'webhook' AND status = 'sent'")
            )
        }
        sent_mails = {
            k
            for (k,) in conn.execute(
                text("SELECT idempotency_key FROM outbound_messages WHERE channel = 'email' AND status = 'sent'")
            )
        }
        # claimed more than once: a worker killed holding them (each claim uses an attempt)
        mails_retried = {
            k
            for (k,) in conn.execute(
                text("SELECT idempotency_key FROM outbound_messages WHERE channel = 'email' AND attempts > 1")
            )
        }
    engine.dispose()
    hooks_twice = {k: n for k, n in peers.posts.items() if n > 1}
    mails_twice = {k: n for k, n in peers.mails.items() if n > 1}
    tracebacks = {p.name: p.read_text(errors="replace").count("Traceback") for p in sorted(logs.glob("*.log"))}
    by_day: dict[int, list[float]] = defaultdict(list)
    by_page: dict[tuple[int, str], list[float]] = defaultdict(list)
    for d, name, ms in timings:
        by_day[d].append(ms)
        by_page[(d, name)].append(ms)
    first, last = min(sizes) + 1 if len(sizes) > 1 else 0, max(sizes)
    figures = {
        "days": args.days,
        "day_seconds": args.day_seconds,
        "elapsed_minutes": round(elapsed / 60, 1),
        "worker_kills": kills,
        "events": {
            "sent": len(sent),
            "stored": sum(stored[k] for k in sent),
            "lost": lost,
            "duplicated": duplicated,
            "client_errors": len(tracking.failures),
            "dropped_by_a_full_client_queue": tracking.dropped,
        },
        "webhooks": {
            "keys_sent": len(sent_hooks),
            "keys_posted_2xx": len(peers.posts),
            "keys_posted_more_than_once": len(hooks_twice),
            "of_which_after_the_sender_timed_out": len(set(hooks_twice) & set(peers.abandoned)),
            "posted_more_than_once": sorted(hooks_twice)[:20],
            "sent_but_never_received": len(sent_hooks - set(peers.posts)),
            "refused_posts_while_down": sum(peers.refused.values()),
        },
        "emails": {
            "keys_sent": len(sent_mails),
            "keys_received": len(peers.mails),
            "keys_received_more_than_once": len(mails_twice),
            "keys_claimed_again_after_a_kill": len(mails_retried),
            "of_which_received_twice": len(set(mails_twice) & mails_retried),
            # the keys themselves, to find them in the database and the logs
            "received_more_than_once": sorted(mails_twice)[:20],
        },
        "messages_by_status": statuses,
        "pages": {
            "requests": len(timings),
            "errors": len(web_errors),
            "p95_ms_by_day": {d: round(p95(v)) for d, v in sorted(by_day.items())},
            "p95_ms_day_1_by_page": {n: round(p95(v)) for (d, n), v in sorted(by_page.items()) if d == 1},
            f"p95_ms_day_{args.days}_by_page": {
                n: round(p95(v)) for (d, n), v in sorted(by_page.items()) if d == args.days
            },
        },
        "table_rows": {"before": sizes[0], "day_1": sizes.get(first, {}), f"day_{last}": sizes[last]},
        "step_seconds": step_seconds,
        "tracebacks_in_logs": tracebacks,
        "web_errors_sample": web_errors[:10],
    }
    print(json.dumps(figures, ensure_ascii=False, indent=2, default=str))


if __name__ == "__main__":
    main()
