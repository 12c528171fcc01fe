"""Settings (``/settings``) in words: scorecards and their measures by the YAML's titles, API keys' scopes by name,
in both languages (the YAML names and the keys' own names are shown as what they are: code, names)."""

from __future__ import annotations

from kizuna.auth.deps import LANGUAGE_COOKIE
from tests.web.fixtures import WebWorld
from tests.web.test_words import problems


def test_settings_show_scorecards_and_keys_in_words(world: WebWorld) -> None:
    admin = world.client("admin")
    for language, words in (
        ("ja", ("総合ヘルス", "シート利用率", "取り込み (トラッキング)", "第1版")),
        ("en", ("Overall health", "Seat utilisation", "Ingest (tracking)", "version 1")),
    ):
        admin.cookies.set(LANGUAGE_COOKIE, language)
        page = admin.get("/settings")
        assert page.status_code == 200
        # from the scorecards on: the users' table above names the people (the world's "admin user" ...)
        part = page.text.split('id="scorecards"', 1)[1]
        for word in words:
            assert word in part, (word, language)
        assert "['" not in part  # scopes were shown as a Python list
        assert problems(part, language) == [], language
        assert '<code translate="no">seat_utilisation</code>' in part
