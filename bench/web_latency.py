"""p50/p95 latency of every page of the web app under concurrent load: every page of the sidebar (as the domains
list them), the accounts list with searches, sorts and pages, and the detail pages (customer 360 of random accounts,
a segment's members, a playbook).

    python bench/web_latency.py --data-dir /tmp/demo50k            # an existing demo (kizuna demo --accounts 50000)
    python bench/web_latency.py --accounts 2000 --data-dir /tmp/d  # builds the demo first if the dir is empty
    python bench/web_latency.py --database-url postgresql+psycopg://postgres@127.0.0.1/kizuna_bench --data-dir ...

Starts ``kizuna serve`` in a subprocess on a free loopback port, logs in once, then sends ``--requests`` requests per
page with ``--concurrency`` in flight (httpx async client) and prints p50/p95/max per page. The first dashboard request
(cold: computes the portfolio) is reported apart; later ones hit the one-minute portfolio cache, as in real use.
``--markdown`` prints the table docs/web.md carries.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
KIZUNA = ROOT / ".venv" / "bin" / "kizuna"
EMAIL, PASSWORD = "bench@kizuna.example", "bench-password-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def base_cmd(args: argparse.Namespace) -> list[str]:
    cmd = [str(KIZUNA), "--data-dir", str(args.data_dir)]
    if args.database_url:
        cmd += ["--database-url", args.database_url]
    return cmd


def prepare(args: argparse.Namespace) -> tuple[list[int], str, str]:
    from sqlalchemy import select

    from kizuna.auth import service
    from kizuna.auth.models import User
    from kizuna.migrations import upgrade
    from kizuna.models import Account
    from kizuna.playbooks.models import Playbook
    from kizuna.runtime import Runtime
    from kizuna.segments.models import Segment
    from kizuna.settings import Settings

    settings = Settings(data_dir=args.data_dir, database_url=args.database_url)
    settings.ensure_dirs()
    upgrade(settings.sqlalchemy_url)
    runtime = Runtime.open(settings)
    with runtime.transaction() as session:
        has_accounts = session.scalar(select(Account.id).limit(1)) is not None
    if not has_accounts:
        print(f"building the demo company ({args.accounts:,} accounts) ...", flush=True)
        subprocess.run([*base_cmd(args), "demo", "--accounts", str(args.accounts)], check=True)
    with runtime.transaction() as session:
        if session.scalar(select(User.id).where(User.email == EMAIL)) is None:
            service.create_user(session, actor="bench", email=EMAIL, name="bench", password=PASSWORD, role="admin")
        ids = list(session.scalars(select(Account.id)))
        segment = session.scalars(select(Segment.key).order_by(Segment.id)).first() or ""
        playbook = session.scalars(select(Playbook.key).order_by(Playbook.id)).first() or ""
    runtime.close()
    if not segment or not playbook:
        raise SystemExit("run `kizuna refresh` on the data dir first (segments and playbooks are made by it)")
    return ids, segment, playbook


async def login(client: httpx.AsyncClient) -> None:
    page = await client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    response = await client.post(
        "/login", data={"email": EMAIL, "password": PASSWORD, "csrf_token": token.group(1), "next": "/"}
    )
    assert response.status_code == 303, response.text[:300]


async def measure(client: httpx.AsyncClient, urls: list[str], concurrency: int) -> list[float]:
    queue: asyncio.Queue[str] = asyncio.Queue()
    for url in urls:
        queue.put_nowait(url)
    timings: list[float] = []

    async def worker() -> None:
        while not queue.empty():
            url = queue.get_nowait()
            started = time.perf_counter()
            response = await client.get(url)
            timings.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise RuntimeError(f"{url}: {response.status_code} {response.text[:200]}")

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return timings


def summary(name: str, timings: list[float]) -> str:
    timings = sorted(timings)
    p95 = timings[max(0, math.ceil(0.95 * len(timings)) - 1)]
    return (
        f"{name:<36} n={len(timings):>4}  p50={statistics.median(timings):7.1f} ms  p95={p95:7.1f} ms  "
        f"max={timings[-1]:7.1f} ms"
    )


async def run(args: argparse.Namespace, port: int, account_ids: list[int], segment: str, playbook: str) -> None:
    rng = random.Random(args.seed)
    limits = httpx.Limits(max_connections=args.concurrency)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120, limits=limits) as client:
        await login(client)
        started = time.perf_counter()
        await client.get("/")
        print(f"dashboard (cold, computes the portfolio): {(time.perf_counter() - started) * 1000:.0f} ms")
        searches = ["株式会社", "サクラ", "テック", "ホールディングス", "システム", "合同会社"]
        from kizuna.domains import DOMAINS

        pages: dict[str, list[str]] = {
            link.url: [link.url] * args.requests for domain in DOMAINS for link in domain.nav if link.url != "/accounts"
        }
        pages |= {
            "/accounts (pages, searches, sorts)": [
                rng.choice(
                    [
                        f"/accounts?page={rng.randint(1, 200)}",
                        f"/accounts?q={rng.choice(searches)}",
                        "/accounts?sort=-mrr",
                        "/accounts?lifecycle_stage=at_risk&sort=renewal",
                    ]
                )
                for _ in range(args.requests)
            ],
            "/accounts/{id} (customer 360)": [f"/accounts/{rng.choice(account_ids)}" for _ in range(args.requests)],
            "/segments/{key} (members)": [f"/segments/{segment}"] * args.requests,
            "/playbooks/{key}": [f"/playbooks/{playbook}"] * args.requests,
        }
        rows = []
        for name, urls in pages.items():
            await measure(client, urls[: args.concurrency], args.concurrency)  # warm-up
            timings = await measure(client, urls, args.concurrency)
            rows.append((name, timings))
            print(summary(name, timings), flush=True)
        if args.markdown:
            print("\n| page | n | p50 | p95 | max |\n|---|---:|---:|---:|---:|")
            for name, timings in rows:
                ordered = sorted(timings)
                p95 = ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]
                print(
                    f"| `{name}` | {len(ordered)} | {statistics.median(ordered):.0f} ms | {p95:.0f} ms "
                    f"| {ordered[-1]:.0f} ms |"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--accounts", type=int, default=50_000, help="Demo size when the data dir is empty.")
    parser.add_argument("--requests", type=int, default=40, help="Requests per page.")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--markdown", action="store_true", help="Also print the figures as a Markdown table.")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=1, help="Server worker processes.")
    args = parser.parse_args()
    account_ids, segment, playbook = prepare(args)
    port = free_port()
    server = subprocess.Popen(
        [*base_cmd(args), "serve", "--port", str(port), "--workers", str(args.workers)],
        stdout=subprocess.DEVNULL,
        env={**os.environ},
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        print(
            f"{len(account_ids):,} accounts; {args.concurrency} concurrent clients; database "
            f"{'PostgreSQL' if args.database_url else 'SQLite'}"
        )
        asyncio.run(run(args, port, account_ids, segment, playbook))
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    sys.exit(main())
