"""Latency of the voice pages (VoC, VoC analyses, surveys, knowledge base) on an existing demo, in-process.

    kizuna --data-dir /tmp/d2000 demo --accounts 2000 && kizuna --data-dir /tmp/d2000 refresh
    python bench/voice_pages.py --data-dir /tmp/d2000 --requests 20

Builds the app as ``kizuna serve`` does (``create_app(Settings(...))``), logs in as an administrator (a session
started as the login page starts one), and requests each page: the first request of a page (cold: nothing cached
in the process) is reported apart from the p50/p95 of the ``--requests`` that follow. Paths can be given with
``--path``.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from pathlib import Path

from sqlalchemy import select

PATHS = (
    "/voc",
    "/voc/analytics",
    "/voc/analytics?section=network",
    "/voc/analytics?section=characteristic&by=plan",
    "/voc/analytics?section=requests",
    "/voc/analytics?section=reasons",
    "/voc/analytics?q=ログイン",
    "/surveys",
    "/kb",
    "/kb?q=請求書",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--path", action="append", help="a page to time (default: the voice pages)")
    args = parser.parse_args()

    from kizuna.auth import service, sessions
    from kizuna.auth.deps import SESSION_COOKIE
    from kizuna.auth.models import User
    from kizuna.migrations import upgrade
    from kizuna.runtime import Runtime
    from kizuna.settings import Settings
    from kizuna.web.app import create_app

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    settings = Settings(data_dir=args.data_dir, scheduler_in_process=False)
    upgrade(settings.sqlalchemy_url)
    runtime = Runtime.open(settings)
    email = "bench-voice@kizuna.example"
    with runtime.transaction() as session:
        user = session.scalars(select(User).where(User.email == email)).first()
        if user is None:
            user = service.create_user(
                session, actor="bench", email=email, name="bench", password="bench-password-1", role="admin"
            )
        cookie = sessions.start(session, user, address="bench", user_agent="bench/voice_pages.py")
    runtime.close()
    with TestClient(create_app(settings), follow_redirects=False) as client:
        client.cookies.set(SESSION_COOKIE, cookie)
        print(f"{'page':<48} {'first ms':>9} {'p50 ms':>8} {'p95 ms':>8}")
        for path in args.path or PATHS:
            t0 = time.perf_counter()
            response = client.get(path)
            first = (time.perf_counter() - t0) * 1000
            assert response.status_code == 200, (path, response.status_code)
            times = []
            for _ in range(args.requests):
                t0 = time.perf_counter()
                client.get(path)
                times.append((time.perf_counter() - t0) * 1000)
            times.sort()
            p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
            print(f"{path:<48} {first:9.0f} {statistics.median(times):8.0f} {p95:8.0f}", flush=True)


if __name__ == "__main__":
    main()
