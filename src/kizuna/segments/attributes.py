"""Account attributes and the conditions evaluated over them (playbooks, survey campaigns).

Attributes of an account, by name:

- every column of ``accounts`` (``name``, ``industry``, ``region``, ``employee_band``, ``lifecycle_stage``,
  ``touch_tier`` -- also as ``tier`` --, ``created_at``, ...);
- ``owner`` (the CSM's email), ``owner_name``, ``owner_external_id``;
- ``plan`` / ``plans`` (names of the plans of the account's live subscriptions), ``mrr_minor``, ``arr_minor``,
  ``seats``, ``currency``;
- ``segment`` / ``segments`` (names, once the segments tables exist);
- ``metrics.<name>``, ``health.<name>``, ``risk.<name>``: the latest snapshot of each, once those tables exist;
- ``days_since_customer_email`` (days since the customer's last e-mail read in by ``kizuna mail import``; None if
  never: silence) and ``email_sentiment`` (the mean sentiment score, -1..1, of their e-mails of the last
  :data:`EMAIL_TONE_DAYS` days, once the VoC step has analysed them; None without any: tone).

A condition on a list attribute (``plans``, ``segments``) holds if it holds for any element, so
``{field: segment, eq: Enterprise}`` reads as "is in the Enterprise segment".
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from kizuna.accounts.models import Account, TeamMember
from kizuna.billing.models import Plan, Subscription
from kizuna.segments import snapshots
from kizuna.segments.schemas import Condition
from kizuna.voc.models import VocChannel, VocEntry, VocTextAnalysis

ACCOUNT_COLUMNS = [c.name for c in Account.__table__.columns]
ACCOUNT_ATTRIBUTES = [getattr(Account, c) for c in ACCOUNT_COLUMNS]

#: the window (days) of the customer's e-mails whose sentiment is ``email_sentiment``
EMAIL_TONE_DAYS = 90


#: the attributes of the accounts' live subscriptions, of their e-mails and of their segments
LIVE_ATTRIBUTES = frozenset({"plans", "plan", "mrr_minor", "arr_minor", "seats", "currency"})
EMAIL_ATTRIBUTES = frozenset({"days_since_customer_email", "email_sentiment"})
SEGMENT_ATTRIBUTES = frozenset({"segments", "segment"})
SNAPSHOT_KINDS = ("metrics", "health", "risk")


def account_attributes(
    session: Session, account_ids: list[int], *, today: dt.date, names: Collection[str] | None = None
) -> dict[int, dict[str, Any]]:
    """Every attribute a condition may name, for each of ``account_ids``.

    ``names``: the attributes the caller reads (a playbook's or segment's condition fields, ...); the accounts'
    columns and owner are always there, the live subscriptions, e-mail signals, segments and snapshots only when
    one of ``names`` is theirs (each of those is a read of its own, the snapshots the costly ones). None: all.
    """
    wanted = None if names is None else set(names)

    def needs(group: Collection[str]) -> bool:
        return wanted is None or not wanted.isdisjoint(group)

    live, email, segments = needs(LIVE_ATTRIBUTES), needs(EMAIL_ATTRIBUTES), needs(SEGMENT_ATTRIBUTES)
    kinds = [k for k in SNAPSHOT_KINDS if wanted is None or any(n.startswith(f"{k}.") for n in wanted)]
    out: dict[int, dict[str, Any]] = {}
    ids = sorted(set(account_ids))
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        # the account's columns as plain rows (no ORM object per account: most of the read's time)
        rows = session.execute(
            select(*ACCOUNT_ATTRIBUTES, TeamMember.email, TeamMember.name, TeamMember.external_id)
            .outerjoin(TeamMember, TeamMember.id == Account.owner_id)
            .where(Account.id.in_(chunk))
        )
        for *account_values, owner_email, owner_name, owner_external_id in rows:
            attrs = dict(zip(ACCOUNT_COLUMNS, account_values, strict=True))
            attrs.update(
                tier=attrs["touch_tier"], owner=owner_email, owner_name=owner_name, owner_external_id=owner_external_id
            )
            if live:
                attrs.update(plans=[], plan=[], mrr_minor=0, seats=0, currency=None)
            if segments:
                attrs.update(segments=[], segment=[])
            if email:
                attrs.update(days_since_customer_email=None, email_sentiment=None)
            out[attrs["id"]] = attrs
        if live:
            _live_subscriptions(session, chunk, out, today=today)
        if email:
            _email_signals(session, chunk, out, today=today)
    if live:
        for attrs in out.values():
            attrs["plan"] = attrs["plans"]
            attrs["arr_minor"] = attrs["mrr_minor"] * 12
    if segments:
        for account_id, segment_names in snapshots.segment_memberships(session, ids).items():
            if account_id in out:
                out[account_id]["segments"] = out[account_id]["segment"] = segment_names
    for kind in kinds:
        for account_id, values in snapshots.latest_attributes(session, kind, ids).items():
            if account_id in out:
                out[account_id].update(values)
    return out


def _live_subscriptions(session: Session, chunk: list[int], out: dict[int, dict[str, Any]], *, today: dt.date) -> None:
    """The plans, MRR, seats and currency of the accounts' subscription lines live ``today``."""
    live = (
        select(
            Subscription.account_id,
            Plan.name,
            Subscription.mrr_minor,
            Subscription.quantity,
            Subscription.currency,
            Plan.is_addon,
        )
        .join(Plan, Plan.id == Subscription.plan_id)
        .where(
            Subscription.account_id.in_(chunk),
            Subscription.start_date <= today,
            or_(Subscription.end_date.is_(None), Subscription.end_date > today),
            Subscription.status.in_(("active", "trial", "cancelled")),
        )
    )
    for account_id, plan_name, mrr, quantity, currency, is_addon in session.execute(live):
        attrs = out[account_id]
        if plan_name not in attrs["plans"]:
            attrs["plans"].append(plan_name)
        attrs["mrr_minor"] += int(mrr or 0)
        if not is_addon:
            attrs["seats"] += int(quantity or 0)
        attrs["currency"] = currency


def _email_signals(session: Session, chunk: list[int], out: dict[int, dict[str, Any]], *, today: dt.date) -> None:
    """Silence and tone of the customers' e-mails (see the module's docstring), as of ``today``."""
    end = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    mine = (VocEntry.account_id.in_(chunk), VocEntry.channel == VocChannel.email, VocEntry.recorded_at < end)
    last = select(VocEntry.account_id, func.max(VocEntry.recorded_at)).where(*mine).group_by(VocEntry.account_id)
    for account_id, at in session.execute(last):
        if account_id in out and at is not None:
            out[account_id]["days_since_customer_email"] = (today - at.date()).days
    since = end - dt.timedelta(days=EMAIL_TONE_DAYS + 1)
    tone = (
        select(VocEntry.account_id, func.avg(VocTextAnalysis.sentiment_score))
        .join(VocTextAnalysis, VocTextAnalysis.entry_id == VocEntry.id)
        .where(*mine, VocEntry.recorded_at >= since)
        .group_by(VocEntry.account_id)
    )
    for account_id, score in session.execute(tone):
        if account_id in out and score is not None:
            out[account_id]["email_sentiment"] = round(float(score), 3)


def _compare(op: str, actual: Any, expected: Any) -> bool:
    if op == "exists":
        return (actual not in (None, "", [])) is bool(expected)
    if isinstance(actual, list):
        if op in ("ne", "not_in"):
            return all(_compare(op, a, expected) for a in actual) if actual else True
        return any(_compare(op, a, expected) for a in actual)
    if op == "eq":
        return bool(_norm(actual) == _norm(expected))
    if op == "ne":
        return bool(_norm(actual) != _norm(expected))
    if op == "in":
        return _norm(actual) in [_norm(e) for e in expected]
    if op == "not_in":
        return _norm(actual) not in [_norm(e) for e in expected]
    if op == "contains":
        return actual is not None and str(expected).casefold() in str(actual).casefold()
    if actual is None:
        return False
    try:
        number = float(actual)
    except (TypeError, ValueError):
        return False
    return bool(
        {"gt": number > expected, "gte": number >= expected, "lt": number < expected, "lte": number <= expected}[op]
    )


def _norm(value: Any) -> Any:
    if isinstance(value, str):
        return value.strip().casefold()
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def failed_condition(conditions: list[Condition], attrs: dict[str, Any]) -> str | None:
    """The first condition that does not hold, as text (``None`` when all hold)."""
    for condition in conditions:
        op, expected = condition.operator
        actual = attrs.get(condition.field)
        if not _compare(op, actual, expected):
            return f"{condition.field} {op} {expected!r} (is {actual!r})"
    return None


def count_accounts(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Account)) or 0)


def group_by_account(pairs: list[tuple[int, Any]]) -> dict[int, list[Any]]:
    out: dict[int, list[Any]] = defaultdict(list)
    for account_id, value in pairs:
        out[account_id].append(value)
    return out
