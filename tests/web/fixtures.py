"""Fixtures for the web app: a real app on a fresh migrated SQLite data dir, users of every role, logged-in clients.

Imported by the conftest.py of tests/web, tests/auth, tests/accounts, tests/tracking and tests/browser.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kizuna import models as m
from kizuna.auth import service as auth_service
from kizuna.auth import sessions
from kizuna.auth.deps import SESSION_COOKIE
from kizuna.migrations import upgrade
from kizuna.platform import cache
from kizuna.runtime import Runtime
from kizuna.settings import Settings
from kizuna.web.app import create_app

with warnings.catch_warnings():
    # Starlette's TestClient warns that its httpx use is deprecated; it is still the way to drive an ASGI app.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

PASSWORD = "correct horse battery"
ROLES = ("admin", "manager", "csm", "viewer")


@dataclasses.dataclass
class WebWorld:
    runtime: Runtime
    app: Any
    users: dict[str, int]
    team_member_id: int
    account_id: int
    other_account_id: int
    api_keys: dict[str, str]
    clients: list[TestClient] = dataclasses.field(default_factory=list)

    def client(self, role: str | None = None) -> TestClient:
        """A client of the app, logged in as the user with ``role`` (None: anonymous)."""
        client = TestClient(self.app, follow_redirects=False)
        client.__enter__()
        self.clients.append(client)
        if role is not None:
            # A session cookie signed exactly as the login page signs it (argon2 is slow on a shared machine;
            # tests/auth logs in through the form).
            client.cookies.set(SESSION_COOKIE, session_token(self.runtime.settings, self.users[role]))
        return client


def session_token(settings: Settings, user_id: int) -> str:
    """A session cookie's value for ``user_id``: a session started on the server as the login page starts one
    (argon2 is slow on a shared machine; tests/auth logs in through the form)."""
    runtime = Runtime.open(settings)
    try:
        with runtime.transaction(write=True) as session:
            user = session.get(m.User, user_id)
            assert user is not None, user_id
            return sessions.start(session, user, address="testclient", user_agent="pytest")
    finally:
        runtime.close()


def refresh_metrics(world: WebWorld) -> None:
    """Store today's KPI snapshot (the metrics step of ``kizuna refresh``): the dashboard's revenue figures need it."""
    from kizuna.domains import refresh

    refresh(world.runtime, as_of=dt.datetime.now(dt.UTC).date(), only=["kpis"])


def csrf_of(html: str) -> str:
    """The CSRF token of the page; every form on it must carry the same, non-empty token."""
    tokens = set(re.findall(r'name="csrf_token" value="([^"]*)"', html))
    assert len(tokens) == 1 and "" not in tokens, f"forms disagree on the CSRF token: {tokens}"
    return tokens.pop()


def login(client: TestClient, email: str, password: str) -> None:
    page = client.get("/login")
    response = client.post(
        "/login", data={"email": email, "password": password, "csrf_token": csrf_of(page.text), "next": "/"}
    )
    assert response.status_code == 303, response.text


def seed_world(runtime: Runtime) -> dict[str, Any]:
    """A small portfolio: one CSM, two accounts with contracts, contacts, tickets, VoC and NPS."""
    today = dt.date.today()
    with runtime.transaction() as session:
        member = m.TeamMember(external_id="TM-web-1", name="佐藤 花子", email="sato@example.jp")
        session.add(member)
        session.flush()
        users = {}
        for role in ROLES:
            user = auth_service.create_user(
                session,
                actor="test",
                email=f"{role}@example.jp",
                name=f"{role} user",
                password=PASSWORD,
                role=role,
                team_member_id=member.id,
            )
            users[role] = user.id
        product = m.Product(external_id="P-web", name="kizuna Cloud")
        session.add(product)
        session.flush()
        plan = m.Plan(external_id="PL-web", product_id=product.id, name="Pro", list_price_minor=5000)
        session.add(plan)
        session.flush()
        accounts = []
        for i, (name, stage) in enumerate([("株式会社サクラ商事", "at_risk"), ("Acme Japan合同会社", "adoption")]):
            account = m.Account(
                external_id=f"ACC-web-{i}",
                name=name,
                industry="製造" if i == 0 else "IT",
                region="関東",
                owner_id=member.id,
                lifecycle_stage=stage,
                touch_tier="high",
                created_at=dt.datetime(2024, 4, 1, tzinfo=dt.UTC),
            )
            session.add(account)
            session.flush()
            accounts.append(account.id)
            start = dt.date(today.year - 2, today.month, 1)
            session.add(
                m.Subscription(
                    external_id=f"S-web-{i}-1",
                    contract_id=f"C-web-{i}",
                    account_id=account.id,
                    plan_id=plan.id,
                    quantity=10,
                    mrr_minor=50_000 * (i + 1),
                    start_date=start,
                    end_date=dt.date(today.year, today.month, 1) - dt.timedelta(days=200),
                    status="active",
                )
            )
            session.add(
                m.Subscription(
                    external_id=f"S-web-{i}-2",
                    contract_id=f"C-web-{i}",
                    account_id=account.id,
                    plan_id=plan.id,
                    quantity=14,
                    mrr_minor=70_000 * (i + 1),
                    start_date=dt.date(today.year, today.month, 1) - dt.timedelta(days=200),
                    renewal_date=today + dt.timedelta(days=30 + i),
                    status="active",
                )
            )
            contact = m.Contact(
                external_id=f"CON-web-{i}", account_id=account.id, name="山田 太郎", email=f"yamada{i}@example.jp"
            )
            session.add(contact)
            now = dt.datetime.now(dt.UTC)
            session.add(
                m.Ticket(
                    external_id=f"T-web-{i}",
                    account_id=account.id,
                    subject="<script>alert('ticket')</script>ログインできない",
                    opened_at=now - dt.timedelta(days=3),
                )
            )
            session.add(
                m.VocEntry(
                    external_id=f"V-web-{i}",
                    account_id=account.id,
                    channel="call_center",
                    text="<script>alert('voc')</script>画面が重いです",
                    recorded_at=now - dt.timedelta(days=5),
                )
            )
            session.add(
                m.SurveyResponse(
                    external_id=f"NPS-web-{i}",
                    account_id=account.id,
                    kind="nps",
                    score=9 - 4 * i,
                    comment="<img src=x onerror=alert(1)>",
                    responded_at=now - dt.timedelta(days=10),
                )
            )
        keys = {}
        for scope in ("ingest", "read", "admin"):
            _, secret = auth_service.create_api_key(session, actor="test", name=f"{scope} key", scopes=[scope])
            keys[scope] = secret
    return {
        "users": users,
        "team_member_id": member.id,
        "account_id": accounts[0],
        "other_account_id": accounts[1],
        "api_keys": keys,
    }


@pytest.fixture(scope="session")
def _world_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """Migrate and seed once per test process (argon2 and 20 migrations take seconds); tests get a copy."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("web-template"))
    settings.ensure_dirs()
    upgrade(settings.sqlalchemy_url)
    runtime = Runtime.open(settings)
    try:
        seeded = seed_world(runtime)
    finally:
        runtime.close()
    return settings.data_dir / "kizuna.sqlite3", seeded


@pytest.fixture
def world(_world_template: tuple[Path, dict[str, Any]], tmp_path: Path) -> Iterator[WebWorld]:
    template, seeded = _world_template
    settings = Settings(data_dir=tmp_path / "kizuna-data", scheduler_in_process=False)
    settings.ensure_dirs()
    shutil.copyfile(template, settings.data_dir / "kizuna.sqlite3")
    runtime = Runtime.open(settings)
    cache.clear_all()
    app = create_app(runtime.settings)
    world = WebWorld(runtime=runtime, app=app, **seeded)
    yield world
    for client in world.clients:
        client.__exit__(None, None, None)
    runtime.close()
    cache.clear_all()
