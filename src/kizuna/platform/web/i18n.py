"""Translations and Japanese-style formatting of dates and money.

Labels live in message catalogues per language: the app's shared labels in ``kizuna/platform/web/locales/ja.json``
and ``en.json``, and each domain's own in its ``locales/`` folder (``kizuna/voc/locales/ja.json``), found the way
templates are; a key defined twice is an error naming both files. Japanese is the default. A missing key falls back
to the other language, then to the key itself (``tests/web/test_words.py`` fails on any page that shows one).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

LANGUAGES = ("ja", "en")
DEFAULT_LANGUAGE = "ja"
_LOCALES = Path(__file__).parent / "locales"
_PACKAGE = _LOCALES.parents[2]
_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def catalogue_files(language: str) -> list[Path]:
    """The shared catalogue of ``language`` first, then every domain's, in path order."""
    domains = sorted(p / f"{language}.json" for p in _PACKAGE.rglob("locales") if p.is_dir() and p != _LOCALES)
    return [_LOCALES / f"{language}.json", *(p for p in domains if p.is_file())]


@functools.cache
def catalogue(language: str) -> dict[str, str]:
    merged: dict[str, str] = {}
    origin: dict[str, Path] = {}
    for path in catalogue_files(language):
        data: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
        for key, text in data.items():
            if key in origin:
                raise ValueError(f"label {key!r} is defined in {origin[key]} and again in {path}")
            merged[key] = text
            origin[key] = path
    return merged


def translate(language: str, key: str, **values: object) -> str:
    """The label ``key`` in ``language``, with ``{name}`` placeholders filled from ``values``."""
    lang = language if language in LANGUAGES else DEFAULT_LANGUAGE
    text = catalogue(lang).get(key)
    if text is None:
        other = "en" if lang == "ja" else "ja"
        text = catalogue(other).get(key, key)
    return text.format(**values) if values else text


def translator(language: str) -> Callable[..., str]:
    return functools.partial(translate, language)


def format_date(value: dt.date | dt.datetime | None, language: str, tz: str = "Asia/Tokyo") -> str:
    """``2026年11月22日`` in Japanese, ``Nov 22, 2026`` in English; datetimes are shown in the business time zone."""
    if value is None:
        return "—"
    if isinstance(value, dt.datetime):
        value = value.astimezone(ZoneInfo(tz)).date() if value.tzinfo else value.date()
    if language == "ja":
        return f"{value.year}年{value.month}月{value.day}日"
    return f"{_MONTHS_EN[value.month - 1]} {value.day}, {value.year}"


def format_datetime(value: dt.datetime | None, language: str, tz: str = "Asia/Tokyo") -> str:
    if value is None:
        return "—"
    local = value.astimezone(ZoneInfo(tz)) if value.tzinfo else value
    return f"{format_date(local.date(), language)} {local:%H:%M}"


def format_month(value: dt.date | None, language: str) -> str:
    if value is None:
        return "—"
    return f"{value.year}年{value.month}月" if language == "ja" else f"{_MONTHS_EN[value.month - 1]} {value.year}"


def _minor_to_major(amount_minor: int, currency: str) -> float:
    return amount_minor if currency == "JPY" else amount_minor / 100


def format_money(amount_minor: int | float | None, currency: str = "JPY", language: str = "ja") -> str:
    """Full amount: ``¥1,234,567`` (JPY has no minor unit); other currencies as ``1,234.56 USD``."""
    if amount_minor is None:
        return "—"
    if currency == "JPY":
        sign = "-" if amount_minor < 0 else ""
        return f"{sign}¥{abs(round(amount_minor)):,}"
    return f"{_minor_to_major(int(amount_minor), currency):,.2f} {currency}"


def format_money_short(amount_minor: int | float | None, currency: str = "JPY", language: str = "ja") -> str:
    """Compact amount for tiles: ``123万円`` / ``1.2億円`` in Japanese, ``¥1.23M`` in English."""
    if amount_minor is None:
        return "—"
    if currency != "JPY":
        return format_money(amount_minor, currency, language)
    value = float(amount_minor)
    sign = "-" if value < 0 else ""
    value = abs(value)
    if language == "ja":
        if value >= 100_000_000:
            return f"{sign}{value / 100_000_000:,.1f}億円"
        if value >= 10_000:
            return f"{sign}{value / 10_000:,.0f}万円"
        return f"{sign}{value:,.0f}円"
    if value >= 1_000_000_000:
        return f"{sign}¥{value / 1_000_000_000:,.2f}B"
    if value >= 1_000_000:
        return f"{sign}¥{value / 1_000_000:,.2f}M"
    if value >= 10_000:
        return f"{sign}¥{value / 1_000:,.0f}K"
    return f"{sign}¥{value:,.0f}"


def format_percent(value: float | None, digits: int = 1) -> str:
    """``value`` is a ratio (0.953 -> ``95.3%``)."""
    if value is None:
        return "—"
    return f"{value * 100:.{digits}f}%"


def format_number(value: int | float | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"
