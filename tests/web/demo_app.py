"""A demo company (60 accounts, two years, after ``kizuna refresh``) served by the app ``kizuna serve`` builds, with
an administrator, and the page routes of that app with their path parameters filled from the demo: shared by the
tests that walk every page (``test_every_page``, ``test_words``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts
from sqlalchemy import func, or_, select
from typer.testing import CliRunner

from kizuna.accounts.models import Account
from kizuna.auth import service as auth_service
from kizuna.billing.models import Subscription
from kizuna.cli import build_app
from kizuna.connectors import service as connectors_service
from kizuna.imports.models import ImportRun
from kizuna.knowledge import service as knowledge_service
from kizuna.playbooks.models import Playbook
from kizuna.runtime import Runtime
from kizuna.segments import service as segments_service
from kizuna.segments.models import Segment
from kizuna.settings import Settings
from kizuna.surveys import service as surveys_service
from kizuna.web.app import create_app

END = "2026-11-22"
#: routes that need no login (they authenticate themselves or are public by design)
PUBLIC_MODULES = {"kizuna.auth.public", "kizuna.web.probes", "kizuna.surveys.public"}
#: routes that answer a logged-in user with a redirect by design: choosing the language goes back to the page
REDIRECTS = {"/lang/{language}"}


@dataclasses.dataclass
class DemoApp:
    app: Any
    settings: Settings
    admin_id: int
    params: dict[str, str]
    #: a user per role: admin, manager, and a CSM linked to the team member who owns the most accounts
    users: dict[str, int]


def give_notice(settings: Settings) -> None:
    """One account of the busiest CSM gives notice a week before the demo's end: so small a company may have no
    account in the model's high band (its probabilities are calibrated), and a CSM's morning starts at an account
    at risk."""
    end = dt.date.fromisoformat(END)
    runtime = Runtime.open(settings)
    try:
        with runtime.transaction(write=True) as session:
            busiest = session.scalars(
                select(Account.owner_id)
                .where(Account.owner_id.is_not(None))
                .group_by(Account.owner_id)
                .order_by(func.count().desc(), Account.owner_id)
            ).first()
            line = session.scalars(
                select(Subscription)
                .join(Account, Account.id == Subscription.account_id)
                .where(
                    Account.owner_id == busiest,
                    Subscription.status == "active",
                    Subscription.start_date <= end,
                    or_(Subscription.end_date.is_(None), Subscription.end_date > end),
                )
                .order_by(Subscription.mrr_minor.desc(), Subscription.id)
            ).first()
            assert line is not None, busiest
            line.status, line.cancelled_at = "cancelled", end - dt.timedelta(days=7)
            line.end_date = line.end_date or end + dt.timedelta(days=30)
    finally:
        runtime.close()


@pytest.fixture(scope="session")
def demo_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoApp]:
    yield build_demo_app(tmp_path_factory.mktemp("every-page"), refreshed=True)


def build_demo_app(data: Path, *, refreshed: bool) -> DemoApp:
    """The demo company in ``data`` with its users and page parameters; ``refreshed=False`` stops before the first
    ``kizuna refresh`` (a company that has imported its data and computed nothing yet)."""
    cli = build_app()

    def kizuna(*args: str) -> None:
        result = CliRunner().invoke(cli, ["--data-dir", str(data), *args])
        assert result.exit_code == 0, result.output

    kizuna("init")
    kizuna("demo", "--accounts", "60", "--years", "2", "--seed", "5", "--end-date", END)
    give_notice(Settings(data_dir=data))
    if refreshed:
        kizuna("refresh", "--as-of", END)
    bad = Path(data) / "accounts.csv"
    bad.write_text("external_id,name,created_at\nEP-1,株式会社エブリ,2025-01-01\nEP-2,,not a date\n", encoding="utf-8")
    kizuna("import", "accounts", str(bad))
    settings = Settings(data_dir=data, scheduler_in_process=False)
    runtime = Runtime.open(settings)
    try:
        with runtime.transaction() as session:
            admin = auth_service.create_user(
                session, actor="test", email="admin@example.jp", name="管理者", password="correct horse", role="admin"
            )
            busiest = session.execute(
                select(Account.owner_id, func.count())
                .where(Account.owner_id.is_not(None))
                .group_by(Account.owner_id)
                .order_by(func.count().desc(), Account.owner_id)
            ).first()
            assert busiest is not None
            users = {"admin": admin.id}
            for role in ("manager", "csm"):
                user = auth_service.create_user(
                    session,
                    actor="test",
                    email=f"crawl-{role}@example.jp",
                    name=f"{role} 太郎",
                    password="correct horse",
                    role=role,
                    team_member_id=busiest[0] if role == "csm" else None,
                )
                users[role] = user.id
            # the demo writes no FAQ article and sends no survey campaign: one of each, as a CS team would
            article = knowledge_service.add_article(
                session, actor="test", title="請求書の再発行", body="管理画面の「お問合せ」からご依頼ください。"
            )
            campaign = surveys_service.create_campaign(
                session,
                actor="test",
                name="2026年冬 NPS",
                kind="nps",
                account_filter=[{"field": "touch_tier", "eq": "high"}],
            )
            if not refreshed:  # the refresh makes the RFM segments; before it, a company has the one it defined
                segments_service.create_segment(
                    session,
                    actor="test",
                    key="high-touch",
                    name="ハイタッチ",
                    definition={"rules": [{"field": "touch_tier", "eq": "high"}]},
                )
            synced = connectors_service.start_run(session, vendor="stripe", kind="backfill")
            connectors_service.finish_run(session, synced, connectors_service.RunLog(), actor="test")
            found = {
                "vendor": synced.vendor,
                "article_id": article.id,
                "campaign_id": campaign.id,
                "account_id": session.scalars(select(Account.id).order_by(Account.id)).first(),
                "run_id": session.scalars(select(ImportRun.id).where(ImportRun.rejected > 0)).first(),
                "segment_key": session.scalars(select(Segment.key).order_by(Segment.id)).first(),
                "playbook_key": session.scalars(select(Playbook.key).order_by(Playbook.id)).first(),
                "language": "en",
                "scorecard": "overall",
                "fmt": "pdf",  # a QBR deck's download (pdf or pptx)
            }
            assert None not in found.values(), found
            params = {name: str(value) for name, value in found.items()}
            admin_id = admin.id
    finally:
        runtime.close()
    return DemoApp(app=create_app(settings), settings=settings, admin_id=admin_id, params=params, users=users)


def pages(app: Any) -> list[tuple[str, str]]:
    """(path, module) of every GET route of the app that is not the JSON API or the tracking API."""
    return [
        (route.path, route.endpoint.__module__)
        for route in iter_route_contexts(app.routes)
        if route.methods and "GET" in route.methods and route.endpoint is not None
        if not route.path.startswith(("/api/", "/v1/"))
    ]


def url(path: str, module: str, params: dict[str, str]) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "key":  # a segment's or a playbook's
            name = "segment_key" if module.startswith("kizuna.segments") else "playbook_key"
        assert params.get(name), f"no value for {{{name}}} in {path}: teach this test where to find one"
        return params[name]

    return re.sub(r"\{([^}:]+)\}", fill, path)
