"""Chargebee's runs on ``/connectors``: the back-fill and the hour's batch of webhooks, with their counts, ja and
en, and no secret on the page."""

from __future__ import annotations

from kizuna.auth.deps import LANGUAGE_COOKIE
from kizuna.chargebee import jobs
from kizuna.connectors import credentials
from tests.chargebee.chargebee_api import API_KEY, WEBHOOK_PASSWORD, ChargebeePeer, customer, event, post_event
from tests.chargebee.conftest import CREDENTIALS
from tests.web.fixtures import WebWorld
from tests.web.test_words import problems


def test_the_connector_page_shows_chargebee_backfills_and_webhook_batches(
    world: WebWorld, peer: tuple[ChargebeePeer, str]
) -> None:
    _, url = peer
    settings = world.runtime.settings
    credentials.save(settings, "chargebee", {**CREDENTIALS, "api_base": url})
    jobs.backfill(world.runtime, client=jobs.client_of(settings), actor="test", page_size=50)
    chargebee_peer = world.client()
    renamed = {**customer(1), "company": "株式会社さくら製作所 本社", "resource_version": 2_000_000_000_000}
    body = event("ev_page_1", "customer_changed", {"customer": renamed}, occurred_at=2_000_000_000)
    for _ in range(2):
        assert post_event(chargebee_peer, body).status_code == 200
    admin = world.client("admin")
    page = admin.get("/connectors/chargebee")
    assert page.status_code == 200
    assert "Chargebee" in page.text and "過去分の取り込み" in page.text and "重複受信 1" in page.text
    assert API_KEY not in page.text and WEBHOOK_PASSWORD not in page.text
    assert problems(page.text, "ja") == []
    overview = admin.get("/connectors")
    assert "Chargebee" in overview.text and problems(overview.text, "ja") == []
    admin.cookies.set(LANGUAGE_COOKIE, "en")
    english = admin.get("/connectors/chargebee")
    assert "Back-fill" in english.text and "Webhooks" in english.text and "Duplicates 1" in english.text
    assert problems(english.text, "en") == []
