"""``kizuna connect hubspot`` and ``kizuna hubspot sync`` against the loopback peer; the run on /connectors."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from kizuna.auth.deps import LANGUAGE_COOKIE
from kizuna.cli import build_app
from kizuna.crm import jobs
from kizuna.crm.backoff import Backoff
from kizuna.crm.hubspot import HubSpotAdapter
from tests.crm.peers import HubSpotPeer
from tests.web.fixtures import WebWorld
from tests.web.test_words import problems


def test_connect_then_sync_from_the_command_line(tmp_path: Path, hubspot_peer: tuple[HubSpotPeer, str]) -> None:
    peer, url = hubspot_peer
    app, data = build_app(), str(tmp_path / "data")
    assert CliRunner().invoke(app, ["--data-dir", data, "init"]).exit_code == 0
    unset = CliRunner().invoke(app, ["--data-dir", data, "hubspot", "sync"])
    assert unset.exit_code == 1 and "kizuna connect hubspot" in unset.output
    token = "pat-na1-11112222-3333-4444-5555-666677778888"
    connect = ["--data-dir", data, "connect", "hubspot", "--access-token", token, "--host", url]
    connected = CliRunner().invoke(app, connect)
    assert connected.exit_code == 0, connected.output
    assert token not in connected.output and "…8888" in connected.output
    result = CliRunner().invoke(app, ["--data-dir", data, "hubspot", "sync"])
    assert result.exit_code == 0, result.output
    assert "hubspot: partial" in result.output and "created=8" in result.output and "pushed=4" in result.output
    assert "rejected deal 302 amount='35万'" in result.output
    assert len(peer.updates) == 4  # the CS fields of the four companies, written to HubSpot
    status = CliRunner().invoke(app, ["--data-dir", data, "connect", "status"])
    assert "hubspot" in status.output and "configured" in status.output and token not in status.output


def test_a_sync_shows_on_the_connectors_pages_in_ja_and_en(
    world: WebWorld, hubspot_peer: tuple[HubSpotPeer, str]
) -> None:
    _peer, url = hubspot_peer
    adapter = HubSpotAdapter(access_token="pat-na1-test", host=url, backoff=Backoff(attempts=2, base_seconds=0.01))
    jobs.sync(lambda: world.runtime.transaction(write=True), adapter, actor="test")
    admin = world.client("admin")
    page = admin.get("/connectors")
    assert "HubSpot" in page.text and "一部取り込めず" in page.text and "差分の取り込み" in page.text
    assert problems(page.text, "ja") == []
    detail = admin.get("/connectors/hubspot")
    assert "deal 302" in detail.text and "35万" in detail.text and "送信" in detail.text
    assert problems(detail.text, "ja") == []
    admin.cookies.set(LANGUAGE_COOKIE, "en")
    english = admin.get("/connectors/hubspot")
    assert "Pushed" in english.text and "Some records rejected" in english.text
    assert problems(english.text, "en") == []
