"""Stripe's runs on ``/connectors``: the back-fill and the hour's batch of webhooks, with their counts, ja and en."""

from __future__ import annotations

from kizuna.auth.deps import LANGUAGE_COOKIE
from kizuna.connectors import credentials
from kizuna.stripe import jobs
from tests.stripe.conftest import API_KEY, SECRET
from tests.stripe.stripe_api import StripePeer, customer, event, post_event
from tests.web.fixtures import WebWorld
from tests.web.test_words import problems


def test_the_connector_page_shows_stripe_backfills_and_webhook_batches(
    world: WebWorld, peer: tuple[StripePeer, str]
) -> None:
    _, url = peer
    settings = world.runtime.settings
    credentials.save(settings, "stripe", {"api_key": API_KEY, "webhook_secret": SECRET, "api_base": url})
    jobs.backfill(world.runtime, client=jobs.client_of(settings), actor="test", page_size=50)
    stripe_peer = world.client()
    body = event(
        "evt_page_1", "customer.updated", {**customer(1), "name": "株式会社さくら製作所 本社"}, created=2_000_000_000
    )
    for _ in range(2):
        assert post_event(stripe_peer, body, SECRET).status_code == 200
    admin = world.client("admin")
    page = admin.get("/connectors/stripe")
    assert page.status_code == 200
    assert "過去分の取り込み" in page.text and "Webhook" in page.text and "重複受信 1" in page.text
    assert API_KEY not in page.text and SECRET not in page.text
    assert problems(page.text, "ja") == []
    overview = admin.get("/connectors")
    assert "Stripe" in overview.text and problems(overview.text, "ja") == []
    admin.cookies.set(LANGUAGE_COOKIE, "en")
    english = admin.get("/connectors/stripe")
    assert "Back-fill" in english.text and "Webhooks" in english.text and "Duplicates 1" in english.text
    assert problems(english.text, "en") == []
