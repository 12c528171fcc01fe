"""When an account began, for files that do not say: never the time of the import.

Every point-in-time step reads only the accounts created before its date ("as of D" = 00:00 UTC of D), so an account
dated by the import's clock is invisible to every past date and, on the day of the import, to the refresh itself.
The rule (docs/imports.md, "Accounts without created_at"):

- an account imported without ``created_at`` is dated the start of the import's day in the business time zone (and
  never later than 00:00 UTC of the clock's today, so that a refresh as of today sees it);
- an account is never later than its first subscription line or its first product event: importing subscriptions or
  events dates back the accounts they show to be older (to 00:00 of the line's start date, business time zone, or to
  the event's instant), and the import summary says how many.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from kizuna.accounts.models import Account
from kizuna.billing.models import Subscription
from kizuna.imports.schemas import ImportSummary
from kizuna.platform.clock import today

_CHUNK = 500


def day_start(day: dt.date, tz: ZoneInfo) -> dt.datetime:
    """00:00 of ``day`` in the business time zone, as UTC, and never later than 00:00 UTC of ``day``."""
    local = dt.datetime.combine(day, dt.time(0), tzinfo=tz).astimezone(dt.UTC)
    return min(local, dt.datetime.combine(day, dt.time(0), tzinfo=dt.UTC))


def undated_account(tz: ZoneInfo) -> dt.datetime:
    """The ``created_at`` of a new account whose file gives none: the start of the import's business day, and never
    later than the start of the clock's (UTC) today, which a refresh run today computes as of."""
    business_day = dt.datetime.now(tz).date()
    return min(day_start(business_day, tz), dt.datetime.combine(today(), dt.time(0), tzinfo=dt.UTC))


def earliest_lines(session: Session, account_ids: set[int], tz: ZoneInfo) -> dict[int, dt.datetime]:
    """The start of the first subscription line of each of ``account_ids`` (those with one), as :func:`day_start`."""
    found: dict[int, dt.datetime] = {}
    ids = sorted(account_ids)
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        query = (
            select(Subscription.account_id, func.min(Subscription.start_date))
            .where(Subscription.account_id.in_(chunk))
            .group_by(Subscription.account_id)
        )
        for account_id, first in session.execute(query):
            if first is not None:
                found[account_id] = day_start(first, tz)
    return found


def date_back(session: Session, earliest: Mapping[int, dt.datetime]) -> int:
    """Move back the ``created_at`` of each account later than its ``earliest`` known activity; how many moved."""
    moved: list[dict[str, object]] = []
    ids = sorted(earliest)
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        for account_id, created in session.execute(select(Account.id, Account.created_at).where(Account.id.in_(chunk))):
            if created > earliest[account_id]:
                moved.append({"id": account_id, "created_at": earliest[account_id]})
    if moved:
        session.flush()
        session.execute(update(Account), moved)
        session.expire_all()
    return len(moved)


def add_notes(summary: ImportSummary) -> None:
    """Say in the summary which accounts were dated by rule rather than by the file."""
    if summary.created_at_assumed:
        summary.notes.append(
            f"{summary.created_at_assumed:,} new accounts had no created_at: dated the start of today until their "
            "first subscription line or event dates them back"
        )
    if summary.created_at_dated_back:
        summary.notes.append(
            f"{summary.created_at_dated_back:,} accounts were dated back to their first subscription line or event "
            "(their created_at was later)"
        )
