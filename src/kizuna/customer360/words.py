"""A churn-risk driver in words a CSM reads ("最終ログインから45日", "利用が前期比-40%"), from the stored driver
(``{feature, value, contribution}``) through the catalogue keys ``customer360.driver.<feature>``."""

from __future__ import annotations

import math
from typing import Any

from kizuna.platform.web import i18n

#: ratios shown as a percentage
PERCENT = frozenset({"seat_utilisation", "stickiness", "adoption_breadth", "onboarding_progress"})
#: changes shown as a signed percentage
CHANGE = frozenset({"mrr_change_90d", "usage_trend"})
MONEY = frozenset({"mrr_minor"})
#: what the CSM cannot change, shown apart as context
CONTEXT = frozenset({"tenure_days", "days_to_renewal", "mrr_minor", "contract_seats"})


def driver_value(feature: str, value: Any, language: str) -> str:
    """The driver's value as the sentence shows it."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if not isinstance(value, int | float):
        return str(value)
    if feature in PERCENT:
        return f"{100 * value:.0f}%"
    if feature in CHANGE:
        return f"{100 * value:+.0f}%"
    if feature in MONEY:
        return i18n.format_money(int(value), "JPY", language)
    if feature == "voc_sentiment":
        return f"{value:+.2f}"
    return f"{value:,.0f}" if float(value).is_integer() or abs(value) >= 10 else f"{value:.1f}"


def driver_words(driver: dict[str, Any] | None, language: str, *, notice_given: bool = False) -> str:
    """One driver as a sentence; a feature without a sentence of its own falls back to a neutral one."""
    if notice_given:
        return i18n.translate(language, "customer360.driver.notice_given")
    if not driver:
        return i18n.translate(language, "customer360.driver.none")
    feature = str(driver.get("feature") or "")
    key = f"customer360.driver.{feature}"
    value = driver_value(feature, driver.get("value"), language)
    if key in i18n.catalogue(language):
        return i18n.translate(language, key, value=value)
    return i18n.translate(language, "customer360.driver.other", value=value)


def is_context(driver: dict[str, Any]) -> bool:
    """Whether a driver is context (tenure, contract timing, size) rather than something the CSM can act on."""
    return driver.get("kind") == "context" or str(driver.get("feature") or "") in CONTEXT
