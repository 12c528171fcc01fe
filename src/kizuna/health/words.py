"""Scorecards in words: their titles (the YAML's ``title``), each measure's title, and its rule ("7日未満: 100点")
with the value in the unit a person reads (a percentage, days, a count), in Japanese or English.

The titles come from the scorecard YAML (reviewable configuration, Japanese first); a scorecard or measure without
a title in the language falls back to the catalogue (``health.card.<name>``, ``health.measure.<name>``), then to the
other language's title.
"""

from __future__ import annotations

import functools
from typing import Any

from kizuna.analytics.scoring.scorecard import BandScoring, Measure, Scorecard
from kizuna.platform.web import i18n

#: how a measure source's values read: a signed change (ratio), a share (ratio), days, a count, or a plain score
_UNITS = {
    "usage_trend": "change",
    "mrr_change_90d": "change",
    "seat_utilisation": "share",
    "adoption_breadth": "share",
    "stickiness": "share",
    "onboarding_progress": "share",
    "days_since_last_login": "days",
    "days_since_csm_touch": "days",
    "days_since_customer_email": "days",
    "days_to_renewal": "days",
    "tenure_days": "days",
    "severe_tickets_90d": "count",
    "tickets_90d": "count",
    "failed_payments_90d": "count",
    "onboarding_overdue": "count",
    "logins_30d": "count",
    "features_used_30d": "count",
}


@functools.cache
def _builtin_cards() -> dict[str, Scorecard]:
    from kizuna.health.service import scorecards

    return scorecards()


def _pick(titles: Any, language: str) -> str | None:
    if not titles:
        return None
    other = "en" if language == "ja" else "ja"
    text = titles.get(language)
    if text:
        return str(text)
    return None if not titles.get(other) else str(titles[other])


def scorecard_title(name: str, language: str, cards: dict[str, Scorecard] | None = None) -> str:
    """A scorecard's title from its YAML (``総合ヘルス``), else the catalogue's ``health.card.<name>``."""
    card = (cards or _builtin_cards()).get(name)
    title = _pick(card.title, language) if card is not None else None
    return title or i18n.translate(language, f"health.card.{name}")


def measure_title(measure: Measure, language: str) -> str:
    return _pick(measure.title, language) or i18n.translate(language, f"health.measure.{measure.name}")


def measure_titles(language: str, cards: dict[str, Scorecard] | None = None) -> dict[str, str]:
    """Every measure name of the scorecards in force with its title (the first scorecard's title wins)."""
    out: dict[str, str] = {}
    for card in (cards or _builtin_cards()).values():
        for m in card.measures:
            out.setdefault(m.name, measure_title(m, language))
    return out


def value_text(source: str, value: float | None, language: str) -> str:
    """A measure's value in its unit: ``-40%``, ``35%``, ``12日``, ``3件``, ``8``."""
    if value is None:
        return "—"
    unit = _UNITS.get(source)
    t = i18n.translator(language)
    if unit == "change":
        return f"{value * 100:+.0f}%"
    if unit == "share":
        return f"{value * 100:.0f}%"
    if unit == "days":
        return t("health.unit.days", n=f"{value:,.0f}")
    if unit == "count":
        return t("health.unit.count", n=f"{value:,.0f}")
    return f"{value:g}"


def rule_text(measure: Measure, language: str) -> str:
    """How a measure's value turns into points, in words."""
    t = i18n.translator(language)
    scoring = measure.scoring
    sep = t("health.sep")
    if isinstance(scoring, BandScoring):
        parts = [
            t("health.rule.below", value=value_text(measure.source, b.below, language), points=f"{b.points:g}")
            if b.below is not None
            else t("health.rule.otherwise", points=f"{b.points:g}")
            for b in scoring.bands
        ]
        return sep.join(parts)
    knots = sep.join(
        t("health.rule.knot", value=value_text(measure.source, x, language), points=f"{y:g}") for x, y in scoring.knots
    )
    return t("health.rule.linear", knots=knots)


def thresholds_text(card: Scorecard, language: str) -> str:
    return i18n.translate(language, "health.thresholds_text", red=f"{card.red_below:g}", green=f"{card.green_from:g}")


def scorecard_description(card: Scorecard, language: str) -> dict[str, Any]:
    """A scorecard's description: the catalogue's (``health.card.<name>.description``) for a built-in one, else the
    YAML's as written (``yaml`` true: reviewable configuration, shown untranslated)."""
    key = f"health.card.{card.name}.description"
    if key in i18n.catalogue(language):
        return {"text": i18n.translate(language, key), "yaml": False}
    return {"text": card.description, "yaml": True}
