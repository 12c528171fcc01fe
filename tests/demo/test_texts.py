"""The VoC grammar: varied, natural, with negations, and English now and then."""

from __future__ import annotations

import numpy as np

from kizuna.demo import texts


def test_texts_are_varied_and_use_negation_and_every_register() -> None:
    rng = np.random.default_rng(1)
    made = [
        texts.voc_text(rng, topic, channel) for topic in texts.TOPICS for channel in texts.FRAMES for _ in range(30)
    ]
    assert len(set(made)) > 0.8 * len(made)
    joined = "\n".join(made)
    for form in (
        "使いやすくありません",
        "使いやすくない",
        "不満はありません",
        "不満はない",
        "とのこと",
        "です。",
        "ない。",
    ):
        assert form in joined, form


def test_english_texts_and_theme_fillers() -> None:
    rng = np.random.default_rng(2)
    english = texts.voc_text(rng, "feature_request", "survey", english=True, theme="salesforce")
    assert "Salesforce" in english and english.isascii()
    japanese = texts.voc_text(rng, "missing_features", "web_inquiry", theme="sso")
    assert "SSO" in japanese or "機能" in japanese


def test_ticket_text_is_polite_japanese() -> None:
    subject, body, severity = texts.ticket_text(np.random.default_rng(3), "株式会社テスト", "山田")
    assert subject and "株式会社テスト" in body and severity in ("low", "normal", "high")
