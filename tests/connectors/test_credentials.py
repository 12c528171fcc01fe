"""Credentials: a file only its owner reads, environment overrides, a clear error when one is missing."""

from __future__ import annotations

import stat

import pytest

from kizuna.connectors import credentials
from kizuna.errors import ConfigurationError
from kizuna.settings import Settings


def test_saved_credentials_are_owner_only_and_merge(settings: Settings) -> None:
    path = credentials.save(settings, "stripe", {"api_key": "sk_test_abcdefgh1234"})
    credentials.save(settings, "stripe", {"webhook_secret": "whsec_zzzz9876", "api_key": ""})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    saved = credentials.load(settings, "stripe")
    assert saved == {"api_key": "sk_test_abcdefgh1234", "webhook_secret": "whsec_zzzz9876"}
    assert credentials.configured(settings) == ["stripe"]
    assert credentials.redacted({"api_key": "sk_test_abcdefgh1234"}) == {"api_key": "…1234"}


def test_the_environment_overrides_the_file(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    credentials.save(settings, "hubspot", {"access_token": "from-file-0000"})
    monkeypatch.setenv("KIZUNA_HUBSPOT_ACCESS_TOKEN", "from-env-1111")
    assert credentials.require(settings, "hubspot", "access_token") == {"access_token": "from-env-1111"}


def test_a_missing_credential_says_how_to_set_it(settings: Settings) -> None:
    with pytest.raises(ConfigurationError, match=r"kizuna connect slack.*KIZUNA_SLACK_BOT_TOKEN"):
        credentials.require(settings, "slack", "bot_token")
