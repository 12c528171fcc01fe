"""Churn-risk drivers in words a CSM can act on: "ログインが先月比40%減", "更新日まで30日".

A stored driver is ``{feature, kind, value, contribution}`` (see :func:`kizuna.risk.service.score_accounts`); each
feature has a sentence in the risk domain's catalogues (``risk.reason.<feature>``, with ``.down`` / ``.up`` /
``.none`` variants where the value's sign or absence changes the words), filled with the value in the unit a person
reads (a percentage, whole days, months, yen). ``kind`` is ``signal`` (behaviour the CSM can change), ``context``
(tenure, size, contract timing: shown apart, never as the reason to act) or ``notice`` (the account gave notice).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from kizuna.platform.web import i18n

#: features whose value is a ratio shown as a whole percentage
_PERCENT = frozenset({"seat_utilisation", "stickiness", "adoption_breadth", "onboarding_progress"})
#: features whose value is a count or a number of days shown as a whole number
_COUNT = frozenset(
    {
        "dau",
        "wau",
        "mau",
        "features_used_30d",
        "logins_30d",
        "days_since_last_login",
        "tickets_90d",
        "severe_tickets_90d",
        "onboarding_overdue",
        "failed_payments_90d",
        "days_since_csm_touch",
        "contract_seats",
        "days_to_renewal",
    }
)
#: features whose missing value is itself a signal worth saying ("no NPS answer")
_SAY_MISSING = frozenset({"days_since_last_login", "nps_latest", "csat_latest", "days_since_csm_touch"})


def _number(value: float) -> str:
    return f"{round(value):,}"


def _behaviour_sentence(feature: str, value: float | None, language: str) -> str | None:
    """A behaviour column (``ev__<event>__<stat>`` or ``ev_all__<stat>``) in words, the event type named as the
    product records it; the log-ratio columns (trend, against the account's own level) as a percentage."""
    from kizuna.analytics.risk.behaviour import LOOKBACK_DAYS, behaviour_event, pair_events

    if value is None:
        return None
    t = i18n.translator(language)
    pair = pair_events(feature)
    if pair is not None:
        a, b = (e.replace("_", " ") for e in pair)
        return t("risk.reason.ev_pair", a=a, b=b, x=f"{math.exp(value):.2f}")
    slug = behaviour_event(feature)
    event = None if slug is None else slug.replace("_", " ")  # "report created": the product's name, in words
    stat = feature.rsplit("__", 1)[1]
    scope = "ev" if event is not None else "ev_all"
    key = f"risk.reason.{scope}.{stat}"
    if stat in ("trend30", "vs_base", "trend90", "recent7", "vs_life"):
        pct = round(abs(1.0 - math.exp(value)) * 100)
        if pct == 0:
            return t(key + ".flat", event=event)
        return t(key + (".down" if value < 0 else ".up"), event=event, pct=pct)
    if stat == "since" and value > LOOKBACK_DAYS:
        return t(key + ".none", event=event, n=LOOKBACK_DAYS)
    if stat == "share30":
        return t(key, event=event, pct=round(value * 100))
    if stat in ("per_day30", "per_seat30"):
        return t(key, event=event, n=f"{value:.1f}")
    if stat == "breadth_change":
        return t(key + (".down" if value < 0 else ".up"), n=_number(abs(value)))
    return t(key, event=event, n=_number(value))


def sentence(driver: dict[str, Any], language: str) -> str | None:
    """One driver as a sentence in ``language``; None for a driver with nothing to say (a missing value that is
    not a signal in itself)."""
    from kizuna.analytics.risk.behaviour import is_behaviour_feature

    feature = str(driver.get("feature"))
    value = driver.get("value")
    t = i18n.translator(language)
    if is_behaviour_feature(feature):
        return _behaviour_sentence(feature, None if value is None else float(value), language)
    if feature == "notice_given":
        ends = driver.get("ends_on")
        if ends:
            return t("risk.reason.notice_given", date=i18n.format_date(dt.date.fromisoformat(ends), language))
        return t("risk.reason.notice_given.undated")
    if value is None:
        return t(f"risk.reason.{feature}.none") if feature in _SAY_MISSING else None
    v = float(value)
    if feature in ("usage_trend", "mrr_change_90d"):
        pct = round(abs(v) * 100)
        if pct == 0:
            return t(f"risk.reason.{feature}.flat")
        return t(f"risk.reason.{feature}.{'down' if v < 0 else 'up'}", pct=pct)
    if feature == "voc_sentiment":
        mood = "negative" if v < -0.2 else "positive" if v > 0.2 else "neutral"
        return t(f"risk.reason.voc_sentiment.{mood}")
    if feature == "tenure_days":
        if v < 60:
            return t("risk.reason.tenure_days.days", n=_number(v))
        return t("risk.reason.tenure_days", months=_number(v / 30.4))
    if feature == "mrr_minor":
        return t("risk.reason.mrr_minor", amount=i18n.format_money(v, "JPY", language))
    if feature in _PERCENT:
        return t(f"risk.reason.{feature}", pct=round(v * 100))
    if feature in _COUNT:
        return t(f"risk.reason.{feature}", n=_number(v))
    if feature in ("nps_latest", "csat_latest"):
        return t(f"risk.reason.{feature}", n=f"{v:g}")
    return t(f"risk.reason.{feature}", n=f"{v:g}")


def feature_label(feature: str, language: str) -> str:
    """The short name of a model feature (``risk.feature.<name>``)."""
    return i18n.translate(language, f"risk.feature.{feature}")
