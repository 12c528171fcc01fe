"""Triggers: which accounts a playbook fires for now, why, and with which fingerprint.

A trigger returns :class:`Signal` s. The ``fingerprint`` names the event that fired (a ticket, a payment, the renewal
window of a contract, the day health turned red, ...): the same event always gives the same fingerprint, so a
playbook acts on it once however often it is evaluated. Event triggers look back ``within_days`` only, so switching
on a playbook does not act on old history. Triggers on snapshots others compute (metrics, health, risk) are skipped
with a reason while those tables do not exist.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from kizuna.accounts.models import Account, Contact
from kizuna.billing.models import Payment, Subscription
from kizuna.lifecycle.models import LifecycleChange
from kizuna.onboarding.models import OnboardingMilestone
from kizuna.playbooks import schemas as s
from kizuna.segments import snapshots
from kizuna.support.models import Ticket
from kizuna.voc.models import SurveyResponse, VocEntry


def _moment(value: Any) -> dt.datetime | None:
    """An aware UTC datetime of a timestamp or a date (a date's moment is its start, UTC)."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    return snapshots._as_datetime(value)


log = logging.getLogger(__name__)


@dataclass
class Signal:
    account_id: int
    fingerprint: str
    reason: str
    facts: dict[str, Any] = field(default_factory=dict)
    contact_id: int | None = None
    #: when what fired happened (a ticket opened, a milestone fell overdue, health turned red): back-fill mode acts
    #: only on signals after the watermark (kizuna.hub.watermark); None: a state of now
    at: dt.datetime | None = None


@dataclass
class TriggerResult:
    signals: list[Signal]
    skipped: str | None = None  # why the trigger could not be evaluated (its data is missing)


def _t(language: str, ja: str, en: str) -> str:
    return ja if language == "ja" else en


def _iso(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _day(value: Any) -> str:
    return _iso(value.date() if isinstance(value, dt.datetime) else value)


Evaluator = Callable[[Session, Any, dt.datetime, str], TriggerResult]


def champion_left(session: Session, trigger: s.ChampionLeft, now: dt.datetime, lang: str) -> TriggerResult:
    since = now - dt.timedelta(days=trigger.within_days)
    rows = session.execute(
        select(Contact.id, Contact.account_id, Contact.name, Contact.deactivated_at).where(
            Contact.is_champion.is_(True),
            Contact.is_active.is_(False),
            Contact.deactivated_at >= since,
            Contact.deactivated_at <= now,
        )
    )
    return TriggerResult(
        [
            Signal(
                account_id,
                f"contact:{cid}",
                _t(lang, f"チャンピオン {name} が離任({_day(at)})", f"champion {name} left on {_day(at)}"),
                {"contact_name": name, "left_on": _day(at)},
                cid,
                at=_moment(at),
            )
            for cid, account_id, name, at in rows
        ]
    )


def _survey(
    session: Session, kind: str, max_score: int, within_days: int, now: dt.datetime, lang: str, label: str
) -> list[Signal]:
    since = now - dt.timedelta(days=within_days)
    rows = session.execute(
        select(
            SurveyResponse.id,
            SurveyResponse.account_id,
            SurveyResponse.contact_id,
            SurveyResponse.score,
            SurveyResponse.comment,
            SurveyResponse.responded_at,
        ).where(
            SurveyResponse.kind == kind,
            SurveyResponse.score <= max_score,
            SurveyResponse.responded_at >= since,
            SurveyResponse.responded_at <= now,
        )
    )
    return [
        Signal(
            account_id,
            f"response:{rid}",
            _t(lang, f"{label} {score}点の回答({_day(at)})", f"{label} answer {score} on {_day(at)}"),
            {"score": score, "comment": comment, "response_id": rid, "kind": kind},
            contact_id,
            at=_moment(at),
        )
        for rid, account_id, contact_id, score, comment, at in rows
    ]


def nps_detractor(session: Session, trigger: s.NpsDetractor, now: dt.datetime, lang: str) -> TriggerResult:
    return TriggerResult(_survey(session, "nps", trigger.max_score, trigger.within_days, now, lang, "NPS"))


def low_csat(session: Session, trigger: s.LowCsat, now: dt.datetime, lang: str) -> TriggerResult:
    signals = _survey(session, "csat", trigger.max_score, trigger.within_days, now, lang, "CSAT")
    since = now - dt.timedelta(days=trigger.within_days)
    rows = session.execute(
        select(Ticket.id, Ticket.account_id, Ticket.contact_id, Ticket.csat, Ticket.subject, Ticket.closed_at).where(
            Ticket.csat <= trigger.max_score, Ticket.closed_at >= since, Ticket.closed_at <= now
        )
    )
    signals += [
        Signal(
            account_id,
            f"ticket-csat:{tid}",
            _t(lang, f"問い合わせ「{subject}」のCSAT {csat}", f"CSAT {csat} on ticket '{subject}'"),
            {"score": csat, "ticket_id": tid, "kind": "csat"},
            contact_id,
            at=_moment(closed),
        )
        for tid, account_id, contact_id, csat, subject, closed in rows
    ]
    return TriggerResult(signals)


def ticket_escalated(session: Session, trigger: s.TicketEscalated, now: dt.datetime, lang: str) -> TriggerResult:
    since = now - dt.timedelta(days=trigger.within_days)
    rows = session.execute(
        select(
            Ticket.id, Ticket.account_id, Ticket.contact_id, Ticket.subject, Ticket.priority, Ticket.opened_at
        ).where(Ticket.escalated.is_(True), Ticket.opened_at >= since, Ticket.opened_at <= now)
    )
    return TriggerResult(
        [
            Signal(
                account_id,
                f"ticket:{tid}",
                _t(lang, f"エスカレーション: {subject}", f"escalated ticket: {subject}"),
                {"ticket_id": tid, "subject": subject, "priority": priority},
                contact_id,
                at=_moment(opened),
            )
            for tid, account_id, contact_id, subject, priority, opened in rows
        ]
    )


def too_many_tickets(session: Session, trigger: s.TooManyTickets, now: dt.datetime, lang: str) -> TriggerResult:
    since = now - dt.timedelta(days=trigger.days)
    rows = session.execute(
        select(Ticket.account_id, func.count(), func.max(Ticket.opened_at))
        .where(Ticket.opened_at >= since, Ticket.opened_at <= now)
        .group_by(Ticket.account_id)
        .having(func.count() >= trigger.count)
    )
    bucket = now.date().toordinal() // trigger.days  # at most once per window length
    return TriggerResult(
        [
            Signal(
                account_id,
                f"tickets:{bucket}",
                _t(lang, f"直近{trigger.days}日で問い合わせ{n}件", f"{n} tickets in the last {trigger.days} days"),
                {"tickets": n, "days": trigger.days},
                at=_moment(latest),  # the ticket that made it too many
            )
            for account_id, n, latest in rows
        ]
    )


def payment_failed(session: Session, trigger: s.PaymentFailed, now: dt.datetime, lang: str) -> TriggerResult:
    since = now - dt.timedelta(days=trigger.within_days)
    rows = session.execute(
        select(
            Payment.id,
            Payment.account_id,
            Payment.amount_minor,
            Payment.currency,
            Payment.failure_reason,
            Payment.attempted_at,
        ).where(Payment.status == "failed", Payment.attempted_at >= since, Payment.attempted_at <= now)
    )
    return TriggerResult(
        [
            Signal(
                account_id,
                f"payment:{pid}",
                _t(
                    lang,
                    f"決済失敗 {amount:,} {currency}({reason or '理由不明'})",
                    f"payment of {amount:,} {currency} failed ({reason or 'no reason given'})",
                ),
                {
                    "payment_id": pid,
                    "amount_minor": amount,
                    "currency": currency,
                    "failure_reason": reason,
                    "attempted_on": _day(at),
                },
                at=_moment(at),
            )
            for pid, account_id, amount, currency, reason, at in rows
        ]
    )


def milestone_overdue(session: Session, trigger: s.MilestoneOverdue, now: dt.datetime, lang: str) -> TriggerResult:
    cutoff = now.date() - dt.timedelta(days=trigger.grace_days)
    stmt = select(
        OnboardingMilestone.id, OnboardingMilestone.account_id, OnboardingMilestone.kind, OnboardingMilestone.due_on
    ).where(OnboardingMilestone.completed_at.is_(None), OnboardingMilestone.due_on < cutoff)
    if trigger.milestones:
        stmt = stmt.where(OnboardingMilestone.kind.in_(trigger.milestones))
    # one firing per account: its earliest overdue milestone (the next one fires when this one is done)
    overdue: dict[int, list[tuple[int, str, dt.date]]] = defaultdict(list)
    for mid, account_id, kind, due in session.execute(
        stmt.order_by(OnboardingMilestone.account_id, OnboardingMilestone.due_on, OnboardingMilestone.id)
    ):
        overdue[account_id].append((mid, kind, due))
    signals = []
    for account_id, items in overdue.items():
        mid, kind, due = items[0]
        late = (now.date() - due).days
        more_ja = f"、ほか{len(items) - 1}件" if len(items) > 1 else ""
        more_en = f", and {len(items) - 1} more" if len(items) > 1 else ""
        signals.append(
            Signal(
                account_id,
                f"milestone:{mid}",
                _t(
                    lang,
                    f"オンボーディング「{kind}」が期限超過(期限 {_iso(due)}、{late}日超過{more_ja})",
                    f"onboarding '{kind}' overdue since {_iso(due)} ({late} days{more_en})",
                ),
                {"milestone": kind, "due_on": _iso(due), "days_overdue": late, "overdue_milestones": len(items)},
                # it fell overdue the day after its due date and the grace days
                at=_moment(due + dt.timedelta(days=trigger.grace_days + 1)),
            )
        )
    return TriggerResult(signals)


def renewal_due(session: Session, trigger: s.RenewalDue, now: dt.datetime, lang: str) -> TriggerResult:
    today = now.date()
    horizon = today + dt.timedelta(days=max(trigger.days))
    rows = session.execute(
        select(
            Subscription.account_id,
            Subscription.contract_id,
            Subscription.renewal_date,
            func.sum(Subscription.mrr_minor),
            func.max(Subscription.currency),
        )
        .where(
            Subscription.status == "active",
            Subscription.term_months >= trigger.min_term_months,
            Subscription.renewal_date > today,
            Subscription.renewal_date <= horizon,
            Subscription.start_date <= today,
            or_(Subscription.end_date.is_(None), Subscription.end_date > today),
        )
        .group_by(Subscription.account_id, Subscription.contract_id, Subscription.renewal_date)
    )
    signals = []
    for account_id, contract_id, renewal_date, mrr, currency in rows:
        days_left = (renewal_date - today).days if renewal_date else 0
        window = min(d for d in trigger.days if days_left <= d)  # the tightest window reached: fire once per window
        signals.append(
            Signal(
                account_id,
                f"renewal:{contract_id}:{_iso(renewal_date)}:{window}",
                _t(
                    lang,
                    f"契約 {contract_id} の更新日 {_iso(renewal_date)} まで{days_left}日({window}日前の案内)",
                    f"contract {contract_id} renews on {_iso(renewal_date)} in {days_left} days ({window}-day window)",
                ),
                {
                    "contract_id": contract_id,
                    "renewal_date": _iso(renewal_date),
                    "days_left": days_left,
                    "window_days": window,
                    "mrr_minor": int(mrr or 0),
                    "currency": currency,
                },
                at=_moment(renewal_date - dt.timedelta(days=window))
                if renewal_date
                else None,  # the day it entered its window
            )
        )
    return TriggerResult(signals)


def account_created(session: Session, trigger: s.AccountCreated, now: dt.datetime, lang: str) -> TriggerResult:
    since = now - dt.timedelta(days=trigger.within_days)
    rows = session.execute(
        select(Account.id, Account.created_at).where(Account.created_at >= since, Account.created_at <= now)
    )
    return TriggerResult(
        [
            Signal(
                account_id,
                "created",
                _t(lang, f"新規アカウント({_day(at)})", f"new account ({_day(at)})"),
                {"created_on": _day(at)},
                at=_moment(at),
            )
            for account_id, at in rows
        ]
    )


def lifecycle_changed(session: Session, trigger: s.LifecycleChanged, now: dt.datetime, lang: str) -> TriggerResult:
    since = now - dt.timedelta(days=trigger.within_days)
    stmt = select(
        LifecycleChange.id,
        LifecycleChange.account_id,
        LifecycleChange.from_stage,
        LifecycleChange.to_stage,
        LifecycleChange.changed_at,
    ).where(LifecycleChange.changed_at >= since, LifecycleChange.changed_at <= now)
    if trigger.to:
        stmt = stmt.where(LifecycleChange.to_stage.in_(trigger.to))
    if trigger.from_:
        stmt = stmt.where(LifecycleChange.from_stage.in_(trigger.from_))
    return TriggerResult(
        [
            Signal(
                account_id,
                f"lifecycle:{cid}",
                _t(lang, f"ライフサイクル {before} → {after}", f"lifecycle {before} -> {after}"),
                {"from_stage": before, "to_stage": after},
                at=_moment(changed),
            )
            for cid, account_id, before, after, changed in session.execute(stmt)
        ]
    )


def silent_customer(session: Session, trigger: s.SilentCustomer, now: dt.datetime, lang: str) -> TriggerResult:
    """Paying accounts with no ticket, survey answer or VoC entry for ``days`` (Goodman: the unhappy stay silent)."""
    today = now.date()
    since = now - dt.timedelta(days=trigger.days)
    paying = (
        select(Subscription.account_id)
        .where(
            Subscription.status == "active",
            Subscription.start_date <= today,
            or_(Subscription.end_date.is_(None), Subscription.end_date > today),
        )
        .distinct()
    )
    last_touch: dict[int, dt.datetime] = {}
    for column, account in (
        (Ticket.opened_at, Ticket.account_id),
        (SurveyResponse.responded_at, SurveyResponse.account_id),
        (VocEntry.recorded_at, VocEntry.account_id),
    ):
        for account_id, at in session.execute(
            select(account, func.max(column)).where(account.in_(paying), column <= now).group_by(account)
        ):
            if account_id is not None and at is not None:
                at = snapshots._as_datetime(at)
                if account_id not in last_touch or at > last_touch[account_id]:
                    last_touch[account_id] = at
    candidates = session.execute(
        select(Account.id, Account.created_at).where(Account.id.in_(paying), Account.created_at < since)
    )
    usage: dict[int, list[tuple[dt.datetime, Any]]] | None = None
    if trigger.max_usage is not None:
        try:
            usage, _source = snapshots.metric_series(session, trigger.metric, health_measure=trigger.metric, until=now)
        except snapshots.MissingData as exc:
            return TriggerResult([], skipped=f"silent_customer needs usage: {exc}")
    signals = []
    for account_id, created in candidates:
        touched = last_touch.get(account_id)
        if touched is not None and touched >= since:
            continue
        facts: dict[str, Any] = {"last_touch": _iso(touched.date()) if touched else None, "days": trigger.days}
        if usage is not None:
            points = usage.get(account_id)
            if not points or float(points[-1][1]) > trigger.max_usage:  # type: ignore[operator]
                continue
            facts["usage"] = float(points[-1][1])
        quiet = _iso(touched.date()) if touched else _t(lang, "記録なし", "never")
        signals.append(
            Signal(
                account_id,
                f"silent-since:{facts['last_touch'] or 'never'}",
                _t(
                    lang,
                    f"{trigger.days}日以上、問い合わせ・回答・声がない(最終: {quiet})",
                    f"no ticket, survey answer or feedback for {trigger.days}+ days (last: {quiet})",
                ),
                facts,
                at=(_moment(touched or created) or now) + dt.timedelta(days=trigger.days),  # when it fell silent
            )
        )
    return TriggerResult(signals)


# --- triggers on snapshots computed by other domains -------------------------------------------------------------


def _when(at: dt.datetime, before: Any) -> str:
    """The fingerprint's time: the day of the crossing, or -- when there is no earlier snapshot to tell a crossing
    from a steady state (a latest-only table, or the first refresh) -- the month, so it fires at most monthly."""
    return _day(at) if before is not None else f"{at:%Y-%m}"


def _crossings(
    points_by_account: dict[int, list[tuple[dt.datetime, Any]]], crossed: Callable[[Any], bool]
) -> dict[int, tuple[dt.datetime, Any, Any]]:
    """Accounts whose latest point meets ``crossed`` while the point before it did not (or there was none)."""
    out = {}
    for account_id, points in points_by_account.items():
        at, latest = points[-1]
        before = points[-2][1] if len(points) > 1 else None
        if crossed(latest) and (before is None or not crossed(before)):
            out[account_id] = (at, latest, before)
    return out


def health_red(session: Session, trigger: s.HealthRed, now: dt.datetime, lang: str) -> TriggerResult:
    try:
        points = snapshots.series(
            session,
            "health",
            value=snapshots.HEALTH_COLOR_COLUMNS,
            filters={c: trigger.scorecard for c in snapshots.SCORECARD_COLUMNS},
            until=now,
        )
    except snapshots.MissingData as exc:
        return TriggerResult([], skipped=str(exc))
    fired = _crossings(points, lambda v: str(v).lower() in ("red", "赤"))
    return TriggerResult(
        [
            Signal(
                account_id,
                f"health-red:{_when(at, before)}",
                _t(
                    lang,
                    f"ヘルススコアが赤に({_day(at)}、前回 {before})",
                    f"health turned red on {_day(at)} (was {before})",
                ),
                {"turned_red_on": _day(at), "previous": before},
                at=_moment(at),
            )
            for account_id, (at, _latest, before) in fired.items()
        ]
    )


def health_drop(session: Session, trigger: s.HealthDrop, now: dt.datetime, lang: str) -> TriggerResult:
    try:
        points = snapshots.series(
            session,
            "health",
            value=snapshots.HEALTH_SCORE_COLUMNS,
            filters={c: trigger.scorecard for c in snapshots.SCORECARD_COLUMNS},
            lookback_days=trigger.days,
            until=now,
        )
    except snapshots.MissingData as exc:
        return TriggerResult([], skipped=str(exc))
    signals = []
    for account_id, series in points.items():
        at, latest = series[-1]
        reference = [v for t, v in series if t <= at - dt.timedelta(days=trigger.days)]
        if not reference:
            continue
        before = float(reference[-1])
        drop = before - float(latest)
        if drop >= trigger.points:
            signals.append(
                Signal(
                    account_id,
                    f"health-drop:{_day(at)}",
                    _t(
                        lang,
                        f"ヘルススコアが{trigger.days}日で{drop:.0f}点低下({before:.0f} → {float(latest):.0f})",
                        f"health fell {drop:.0f} points in {trigger.days} days ({before:.0f} -> {float(latest):.0f})",
                    ),
                    {"drop": drop, "score": float(latest), "previous_score": float(reference[-1])},
                    at=_moment(at),
                )
            )
    return TriggerResult(signals)


def churn_risk(session: Session, trigger: s.ChurnRisk, now: dt.datetime, lang: str) -> TriggerResult:
    try:
        points = snapshots.series(session, "risk", value=snapshots.RISK_COLUMNS, until=now)
    except snapshots.MissingData as exc:
        return TriggerResult([], skipped=str(exc))
    fired = _crossings(points, lambda v: float(v) >= trigger.threshold)
    return TriggerResult(
        [
            Signal(
                account_id,
                f"risk:{_when(at, before)}",
                _t(
                    lang,
                    f"離脱リスクが{trigger.threshold:.0%}を超過({float(latest):.0%})",
                    f"churn risk crossed {trigger.threshold:.0%} ({float(latest):.0%})",
                ),
                {"risk": float(latest), "previous_risk": None if before is None else float(before)},
                at=_moment(at),
            )
            for account_id, (at, latest, before) in fired.items()
        ]
    )


def usage_drop(session: Session, trigger: s.UsageDrop, now: dt.datetime, lang: str) -> TriggerResult:
    """Usage fell ``percent`` %. ``metric: usage_trend`` (default) is already a relative change (active user-days,
    last 30 days vs the 30 before, minus 1; from ``account_metrics`` or the health measure) and fires when it crosses
    -percent; any other metric column is compared with its value ``days`` earlier."""
    try:
        points, used = snapshots.metric_series(
            session, trigger.metric, health_measure="usage_trend", lookback_days=trigger.days, until=now
        )
    except snapshots.MissingData as exc:
        return TriggerResult([], skipped=str(exc))
    relative = used == "usage_trend"
    signals = []
    for account_id, series in points.items():
        at, latest = series[-1]
        before: float | None
        if relative:
            change = float(latest) * 100
            before = float(series[-2][1]) * 100 if len(series) > 1 else None
            if before is not None and before <= -trigger.percent:
                continue  # it was already below the line
        else:
            reference = [v for t, v in series if t <= at - dt.timedelta(days=trigger.days)]
            if not reference or float(reference[-1]) <= 0:
                continue
            before = float(reference[-1])
            change = (float(latest) - before) / before * 100
        if change > -trigger.percent:
            continue
        signals.append(
            Signal(
                account_id,
                f"usage-drop:{used}:{_when(at, before)}",
                _t(
                    lang,
                    f"利用が{-change:.0f}%減少（{'直近30日、その前の30日比' if relative else used}）",
                    f"usage fell {-change:.0f}% ({'last 30 days against the 30 before' if relative else used})",
                ),
                {"metric": used, "change_percent": round(change, 1)},
                at=_moment(at),
            )
        )
    return TriggerResult(signals)


def seat_utilisation(session: Session, trigger: s.SeatUtilisation, now: dt.datetime, lang: str) -> TriggerResult:
    try:
        points, _used = snapshots.metric_series(
            session, ("seat_utilisation", "seat_utilization"), health_measure="seat_utilisation", until=now
        )
    except snapshots.MissingData as exc:
        return TriggerResult([], skipped=str(exc))
    fired = _crossings(points, lambda v: float(v) >= trigger.at_least)
    return TriggerResult(
        [
            Signal(
                account_id,
                f"seats:{_when(at, _before)}",
                _t(lang, f"シート利用率 {float(latest):.0%}(拡大の余地)", f"seat utilisation {float(latest):.0%}"),
                {"seat_utilisation": float(latest)},
                at=_moment(at),
            )
            for account_id, (at, latest, _before) in fired.items()
        ]
    )


EVALUATORS: dict[str, Evaluator] = {
    "health_red": health_red,
    "health_drop": health_drop,
    "churn_risk": churn_risk,
    "usage_drop": usage_drop,
    "champion_left": champion_left,
    "nps_detractor": nps_detractor,
    "low_csat": low_csat,
    "ticket_escalated": ticket_escalated,
    "too_many_tickets": too_many_tickets,
    "payment_failed": payment_failed,
    "milestone_overdue": milestone_overdue,
    "seat_utilisation": seat_utilisation,
    "renewal_due": renewal_due,
    "silent_customer": silent_customer,
    "account_created": account_created,
    "lifecycle_changed": lifecycle_changed,
}


def evaluate_trigger(session: Session, trigger: Any, *, now: dt.datetime, language: str = "ja") -> TriggerResult:
    result = EVALUATORS[trigger.type](session, trigger, now, language)
    if result.skipped:
        log.warning("trigger %s skipped: %s", trigger.type, result.skipped)
    return result
