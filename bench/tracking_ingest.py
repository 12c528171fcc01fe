"""Events per second through the Segment-compatible ``/v1/batch`` endpoint.

    python bench/tracking_ingest.py --events 200000 --batch 1000 --concurrency 4

Builds a fresh data dir with a few accounts and an ingest API key, starts ``kizuna serve`` on a free loopback port and
posts batches of ``track`` calls (each with its own messageId) with ``--concurrency`` requests in flight. Prints the
sustained events/s and checks that every event reached the Parquet store exactly once (re-sends one batch to show
messageId de-duplication).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import datetime as dt
import json
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
KIZUNA = ROOT / ".venv" / "bin" / "kizuna"
FEATURES = ["dashboard", "reports", "export", "search", "workflow", "api", "mobile", "admin"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(data_dir: Path, accounts: int) -> str:
    from kizuna import models as m
    from kizuna.auth import service
    from kizuna.migrations import upgrade
    from kizuna.runtime import Runtime
    from kizuna.settings import Settings

    settings = Settings(data_dir=data_dir)
    settings.ensure_dirs()
    upgrade(settings.sqlalchemy_url)
    runtime = Runtime.open(settings)
    with runtime.transaction() as session:
        session.add_all(m.Account(external_id=f"ACME-{i}", name=f"株式会社ベンチ{i}") for i in range(accounts))
        _, secret = service.create_api_key(session, actor="bench", name="bench", scopes=["ingest"])
    runtime.close()
    return secret


def batch_body(n: int, accounts: int, start: int) -> bytes:
    now = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    batch = [
        {
            "type": "track",
            "messageId": f"bench-{start + i}",
            "userId": f"user-{(start + i) % 5000}",
            "event": "Feature Used",
            "properties": {"feature": FEATURES[(start + i) % len(FEATURES)], "duration_ms": (start + i) % 900},
            "context": {"groupId": f"ACME-{(start + i) % accounts}"},
            "timestamp": (now + dt.timedelta(seconds=start + i)).isoformat(),
        }
        for i in range(n)
    ]
    return json.dumps({"batch": batch}).encode()


async def run(port: int, key: str, args: argparse.Namespace) -> float:
    auth = {
        "authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode(),
        "content-type": "application/json",
    }
    bodies = [batch_body(args.batch, args.accounts, i * args.batch) for i in range(args.events // args.batch)]
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    accepted = 0

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:

        async def worker() -> None:
            nonlocal accepted
            while not queue.empty():
                body = queue.get_nowait()
                response = await client.post("/v1/batch", content=body, headers=auth)
                response.raise_for_status()
                accepted += response.json()["accepted"]

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(args.concurrency)))
        elapsed = time.perf_counter() - started
        again = (await client.post("/v1/batch", content=bodies[0], headers=auth)).json()
    print(
        f"{accepted:,} events in {elapsed:.2f} s = {accepted / elapsed:,.0f} events/s "
        f"(batches of {args.batch}, {args.concurrency} in flight)"
    )
    print(f"re-sent one batch: accepted={again['accepted']} duplicates={again['duplicates']}")
    return accepted / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--accounts", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kizuna-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        key = prepare(data_dir, args.accounts)
        port = free_port()
        server = subprocess.Popen(
            [str(KIZUNA), "--data-dir", str(data_dir), "serve", "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=None,
        )
        try:
            for _ in range(300):
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.2)
            asyncio.run(run(port, key, args))
        finally:
            server.terminate()
            server.wait(timeout=20)
        from kizuna.usage.store import EventStore

        stored = EventStore(data_dir / "events").count()
        print(f"events in the Parquet store: {stored:,} (expected {args.events // args.batch * args.batch:,})")


if __name__ == "__main__":
    sys.exit(main())
