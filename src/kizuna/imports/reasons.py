"""Why a row was rejected, in the page's language: the reasons the importer writes (in English, into the rejects
file and the CLI's output) matched to catalogue labels. A reason no pattern knows is shown as it is."""

from __future__ import annotations

import re
from collections.abc import Callable

#: (pattern over the importer's reason, catalogue key); named groups fill the label's placeholders
PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), key)
    for pattern, key in (
        (r"^required$", "imports.reason.required"),
        (r"^not a date: a number alone\b.*$", "imports.reason.number_not_a_date"),
        (r"^not a date in the format (?P<format>.+)$", "imports.reason.not_a_date_format"),
        (r"^not a date\b.*$", "imports.reason.not_a_date"),
        (r"^not a whole number\b.*$", "imports.reason.not_a_whole_number"),
        (r"^not an amount of money$", "imports.reason.not_money"),
        (r"^more decimals than (?P<currency>\S+) has\b.*$", "imports.reason.too_many_decimals"),
        (r"^not yes/no\b.*$", "imports.reason.not_yes_no"),
        (r"^not one of: (?P<choices>.+)$", "imports.reason.not_one_of"),
        (r"^must not be negative$", "imports.reason.negative"),
        (r"^must be at least (?P<n>\S+)$", "imports.reason.at_least"),
        (r"^must be at most (?P<n>\S+)$", "imports.reason.at_most"),
        (
            r"^out of range: (?P<column>\S+) holds whole numbers from (?P<lo>\S+) to (?P<hi>\S+)$",
            "imports.reason.out_of_range",
        ),
        (r"^out of range: a date and time\b.*$", "imports.reason.date_out_of_range"),
        (r"^contains a NUL character\b.*$", "imports.reason.nul"),
        (r"^not valid Unicode text\b.*$", "imports.reason.surrogate"),
        (r"^too long: (?P<n>\d+) characters, at most (?P<max>\d+)$", "imports.reason.too_long"),
        (r"^a spreadsheet formula\b.*$", "imports.reason.formula"),
        (r"^unknown account: no accounts with external_id (?P<value>.+)$", "imports.reason.unknown_account"),
        (r"^unknown \w+: no \w+ with \w+ (?P<value>.+)$", "imports.reason.unknown_ref"),
        (r"^ambiguous \w+: several match \w+ (?P<value>.+)$", "imports.reason.ambiguous_ref"),
        (r"^duplicate .*: already in row (?P<row>\d+)$", "imports.reason.duplicate"),
        (r"^same .* as row (?P<row>\d+)$", "imports.reason.duplicate"),
        (r"^same .* as the existing .*$", "imports.reason.clash_existing"),
        (r"^before start_date$", "imports.reason.before_start"),
        (r"^not an ISO 4217 currency code\b.*$", "imports.reason.currency"),
        (r"^no currency for this money\b.*$", "imports.reason.no_currency"),
        (r"^minor units \(.* of (?P<currency>[A-Z]{3})\) are whole numbers\b.*$", "imports.reason.minor_units"),
        (r"^\w+ scores run (?P<lo>[\d.-]+)\.\.(?P<hi>[\d.-]+)$", "imports.reason.score_range"),
    )
)


def reason_words(reason: str, t: Callable[..., str]) -> str | None:
    """The reason in words, or None when no pattern knows it (the page then shows it as the importer wrote it)."""
    text = reason.lstrip("'").strip()
    for pattern, key in PATTERNS:
        found = pattern.match(text)
        if found:
            return t(key, **found.groupdict()) if found.groupdict() else t(key)
    return None
