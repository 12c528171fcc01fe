"""Server time of the QBR deck: the page, the PDF and the PowerPoint, cold (first drawing) and kept (drawn before).

    python bench/qbr_report.py --data-dir /tmp/demo50k [--accounts 20]

Runs the app as ``kizuna serve`` builds it, in this process (Starlette's test client: no network, no second process,
so the figures are the server's own work), as an administrator, on ``--accounts`` accounts spread over the demo, in
Japanese. A route the checked-out version lacks (``.pptx`` before the deck) is reported as missing. Prints a Markdown
table of p50 / p95 / max per request kind.
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import statistics
import time
import warnings
from pathlib import Path

from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select

from kizuna.accounts.models import Account
from kizuna.auth import service as auth_service
from kizuna.auth.models import User
from kizuna.runtime import Runtime
from kizuna.settings import Settings
from kizuna.web.app import create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

EMAIL = "qbr-bench@kizuna.example"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--accounts", type=int, default=20)
    args = parser.parse_args()
    settings = Settings(data_dir=args.data_dir, scheduler_in_process=False)
    runtime = Runtime.open(settings)
    with runtime.transaction() as session:
        user = session.scalar(select(User).where(User.email == EMAIL))
        if user is None:
            user = auth_service.create_user(
                session, actor="bench", email=EMAIL, name="bench", password=secrets.token_urlsafe(16), role="admin"
            )
        ids = list(session.scalars(select(Account.id).order_by(Account.id)))
        user_id = user.id
    runtime.close()
    step = max(1, len(ids) // args.accounts)
    accounts = ids[::step][: args.accounts]
    shutil.rmtree(settings.data_dir / "reports", ignore_errors=True)  # every first drawing is cold
    token = URLSafeTimedSerializer(settings.secret_key, salt="kizuna-session").dumps(
        {"u": user_id, "v": 1, "c": secrets.token_urlsafe(24)}
    )
    kinds = {
        "PDF, cold": "/accounts/{id}/report.pdf",
        "PDF, kept": "/accounts/{id}/report.pdf",
        "PowerPoint, cold": "/accounts/{id}/report.pptx",
        "PowerPoint, kept": "/accounts/{id}/report.pptx",
        "page": "/accounts/{id}/report",
    }
    times: dict[str, list[float]] = {k: [] for k in kinds}
    missing: set[str] = set()
    with TestClient(create_app(settings)) as client:
        client.cookies.set("kizuna_session", token)
        client.cookies.set("kizuna_lang", "ja")
        client.get(f"/accounts/{accounts[0]}/report")  # imports and first connections
        for account in accounts:
            for kind, path in kinds.items():
                start = time.perf_counter()
                response = client.get(path.format(id=account))
                elapsed = time.perf_counter() - start
                if response.status_code == 404:
                    missing.add(kind)
                    continue
                assert response.status_code == 200, (kind, account, response.status_code)
                times[kind].append(elapsed * 1000)
    print(f"{len(accounts)} accounts of {len(ids):,}, data dir {args.data_dir}")
    print("| Request | p50 | p95 | max |\n| --- | --- | --- | --- |")
    for kind, values in times.items():
        if kind in missing or not values:
            print(f"| {kind} | — | — | — |")
            continue
        values.sort()
        p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
        print(f"| {kind} | {statistics.median(values):.0f} ms | {p95:.0f} ms | {values[-1]:.0f} ms |")


if __name__ == "__main__":
    main()
