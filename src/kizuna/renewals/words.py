"""Expansion signals in words: what a signal saw (its stored facts) as a sentence in the page's language."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SignalWords:
    """The signal's name, what it saw, and for signals from the voice of the customer the customer's words (terms
    and the latest quote, shown as they are)."""

    label: str
    text: str
    customer_words: str | None = None


def signal_words(signal: dict[str, Any], t: Callable[..., str]) -> SignalWords:
    name = str(signal["signal"])
    facts: dict[str, Any] = signal.get("facts") or {}
    label = t(f"renewals.signal.{name}")
    if facts.get("source") == "voc":
        terms = " / ".join(str(x) for x in facts.get("terms", []))
        quote = str(facts.get("quote", ""))
        return SignalWords(
            label,
            t("renewals.signal.detail.voc", n=facts.get("mentions", 1)),
            f"{terms}: 「{quote}」" if terms else f"「{quote}」",
        )
    if "utilisation" in facts:
        key = "renewals.signal.detail.plan_limit" if name == "plan_limit" else "renewals.signal.detail.seat_utilisation"
        return SignalWords(label, t(key, pct=f"{float(facts['utilisation']):.0%}", seats=f"{int(facts['seats']):,}"))
    if "growth" in facts:
        return SignalWords(label, t("renewals.signal.detail.usage_growth", pct=f"{float(facts['growth']):.0%}"))
    # a signal stored before its facts were: the name only (the English detail is for the CLI)
    return SignalWords(label, "")
