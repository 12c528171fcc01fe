"""A small demo company ending today, with the portfolio's refresh steps run (touch tiers, RFM and rule segments,
renewals, expansion signals), served by the app ``kizuna serve`` builds and an administrator logged in: the pages of
segments, coverage, renewals and expansion are tested through it."""

from __future__ import annotations

import dataclasses
import re
import warnings
from collections.abc import Iterator
from pathlib import Path

from typer.testing import CliRunner

from kizuna.auth import service as auth_service
from kizuna.auth.deps import LANGUAGE_COOKIE, SESSION_COOKIE
from kizuna.cli import build_app
from kizuna.platform.clock import today
from kizuna.runtime import Runtime
from kizuna.settings import Settings
from kizuna.web.app import create_app
from tests.web.fixtures import session_token

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


@dataclasses.dataclass
class PortfolioDemo:
    client: TestClient
    runtime: Runtime


def portfolio_demo(data: Path) -> Iterator[PortfolioDemo]:
    cli = build_app()

    def kizuna(*args: str) -> None:
        result = CliRunner().invoke(cli, ["--data-dir", str(data), *args])
        assert result.exit_code == 0, result.output

    day = today().isoformat()
    kizuna("init")
    kizuna("demo", "--accounts", "60", "--years", "2", "--seed", "5", "--end-date", day, "--no-playbooks")
    kizuna("refresh", "--as-of", day, "--only", "segments", "--only", "renewals")
    settings = Settings(data_dir=data, scheduler_in_process=False)
    runtime = Runtime.open(settings)
    with runtime.transaction() as session:
        admin = auth_service.create_user(
            session, actor="test", email="admin@example.jp", name="管理者", password="correct horse", role="admin"
        )
        admin_id = admin.id
    try:
        with TestClient(create_app(settings), follow_redirects=False) as client:
            client.cookies.set(SESSION_COOKIE, session_token(settings, admin_id))
            client.cookies.set(LANGUAGE_COOKIE, "ja")
            yield PortfolioDemo(client=client, runtime=runtime)
    finally:
        runtime.close()


def csrf(html: str) -> str:
    return re.findall(r'name="csrf_token" value="([^"]+)"', html)[0]


def yen(html: str, element_id: str) -> int:
    """The first amount in yen (``￥1,234`` or ``¥1,234``) after the element with ``element_id`` opens."""
    found = re.search(rf'id="{element_id}".*?[￥¥](-?[\d,]+)', html, re.S)
    assert found, f"no amount in #{element_id} on the page"
    return int(found.group(1).replace(",", ""))


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def words_problems(client: TestClient, path: str) -> list[str]:
    """What test_words finds on the page in either language."""
    from tests.web.test_words import problems

    found: list[str] = []
    for language in ("ja", "en"):
        client.cookies.set(LANGUAGE_COOKIE, language)
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        found += [f"{language} {path}: {p}" for p in problems(response.text, language)]
    client.cookies.set(LANGUAGE_COOKIE, "ja")
    return found
