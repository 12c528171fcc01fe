"""Expansion: signals (seat utilisation, usage growth, plan limits, add-on interest in the voice of the customer)
turned into upsell / cross-sell opportunities (``opportunities`` rows of kind ``upsell`` / ``cross_sell``).

Seat utilisation and usage growth come from the KPI engineer's metric snapshots when they exist
(``metrics.seat_utilisation``, ``metrics.usage_trend``); otherwise they are computed here from the event files:
active users in the last 30 days over licensed seats, and events in the last 30 days over the 30 days before.
Add-on interest is a term search over VoC entries with the Japanese-aware analyser (Sudachi normalised forms),
with the add-on product names kept whole as user-dictionary entries.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from kizuna.accounts.models import Account
from kizuna.audit.models import AuditEntry
from kizuna.audit.service import record_audit
from kizuna.billing.models import Plan, Product, Subscription
from kizuna.billing.service import paid_lines_on
from kizuna.db import utcnow
from kizuna.funnel.models import Opportunity, OpportunityKind, OpportunityStage
from kizuna.hub.watermark import Watermark
from kizuna.platform.cache import TtlCache
from kizuna.renewals.models import ExpansionSignal
from kizuna.segments import snapshots
from kizuna.voc.models import VocEntry

log = logging.getLogger(__name__)

SEAT_UTILISATION_MIN = 0.9
USAGE_GROWTH_MIN = 0.3  # +30% events, last 30 days over the 30 before
MIN_EVENTS_FOR_GROWTH = 50
REOPEN_AFTER_DAYS = 90  # after an expansion opportunity closes, the same kind is not reopened for this long
VOC_LOOKBACK_DAYS = 180
# terms (Sudachi normalised forms / English lemmas) that show interest in buying more
ADDON_TERMS = frozenset(
    {
        "アドオン",
        "オプション",
        "オプション機能",
        "追加",
        "拡張",
        "上位プラン",
        "アップグレード",
        "有償",
        "導入検討",
        "add-on",
        "addon",
        "upgrade",
        "option",
        "integration",
        "extra",
    }
)
LIMIT_TERMS = frozenset({"上限", "制限", "容量", "足りる", "不足", "limit", "quota", "capacity"})
KIND_OF_SIGNAL = {
    "seat_utilisation": OpportunityKind.upsell,
    "usage_growth": OpportunityKind.upsell,
    "plan_limit": OpportunityKind.upsell,
    "addon_interest": OpportunityKind.cross_sell,
}


@dataclass
class Signal:
    account_id: int
    signal: str
    detail: str  # in English, for the CLI and the audit log
    strength: float
    facts: dict[str, Any] = field(default_factory=dict)  # the values behind it, which pages put into words


def licensed_seats(session: Session, *, today: dt.date) -> dict[int, tuple[int, int]]:
    """Per account: seats on live base-plan lines and the base-plan MRR (minor units). Seats are 0 (unknown) when a
    line's seat count is unknown: a blank count is never one seat (one active user would be 100 % utilisation)."""
    out: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    unknown: set[int] = set()
    for account_id, quantity, mrr in session.execute(
        select(Subscription.account_id, Subscription.quantity, Subscription.mrr_minor)
        .join(Plan, Plan.id == Subscription.plan_id)
        .where(paid_lines_on(today), Plan.is_addon.is_(False))
    ):
        if quantity is None:
            unknown.add(int(account_id))
        out[int(account_id)][0] += int(quantity or 0)
        out[int(account_id)][1] += int(mrr or 0)
    return {a: (0 if a in unknown else s, m) for a, (s, m) in out.items()}


def usage_from_events(events_dir: Path, *, today: dt.date) -> dict[int, dict[str, float]]:
    """Active users in the last 30 days and events in the last 30 days and the 30 before, per account."""
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    from kizuna.usage.store import EventStore

    store = EventStore(events_dir)
    if not store.files():
        return {}
    end = dt.datetime(today.year, today.month, today.day, tzinfo=dt.UTC) + dt.timedelta(days=1)
    mid = end - dt.timedelta(days=30)
    start = end - dt.timedelta(days=60)
    table = store.dataset().to_table(
        columns=["account_id", "user_id", "timestamp"],
        filter=(ds.field("timestamp") >= start) & (ds.field("timestamp") < end),
    )
    if table.num_rows == 0:
        return {}
    recent = pc.greater_equal(table["timestamp"], mid)
    out: dict[int, dict[str, float]] = defaultdict(
        lambda: {"active_users": 0.0, "events_recent": 0.0, "events_before": 0.0}
    )
    last = table.filter(recent)
    users = last.group_by("account_id").aggregate([("user_id", "count_distinct"), ([], "count_all")])
    for account_id, n_users, n_events in zip(
        users["account_id"].to_pylist(),
        users["user_id_count_distinct"].to_pylist(),
        users["count_all"].to_pylist(),
        strict=True,
    ):
        out[int(account_id)]["active_users"] = float(n_users)
        out[int(account_id)]["events_recent"] = float(n_events)
    before = table.filter(pc.invert(recent)).group_by("account_id").aggregate([([], "count_all")])
    for account_id, n_events in zip(before["account_id"].to_pylist(), before["count_all"].to_pylist(), strict=True):
        out[int(account_id)]["events_before"] = float(n_events)
    return dict(out)


def _voc_signals(session: Session, *, today: dt.date, account_ids: set[int]) -> list[Signal]:
    """Add-on interest and plan-limit complaints in recent VoC, by term search (Japanese-aware)."""
    from kizuna.analytics.text.tokenize import TextAnalyzer

    since = dt.datetime(today.year, today.month, today.day, tzinfo=dt.UTC) - dt.timedelta(days=VOC_LOOKBACK_DAYS)
    rows = session.execute(
        select(VocEntry.account_id, VocEntry.text).where(
            VocEntry.account_id.is_not(None),
            VocEntry.recorded_at >= since,
            VocEntry.recorded_at
            < dt.datetime(today.year, today.month, today.day, tzinfo=dt.UTC) + dt.timedelta(days=1),
        )
    ).all()
    entries = [(int(a), str(t)) for a, t in rows if a in account_ids]
    if not entries:
        return []
    addon_names = [n for (n,) in session.execute(select(Product.name).where(Product.is_addon.is_(True)))]
    analyzer = TextAnalyzer(user_dictionary=addon_names)
    addon_terms = ADDON_TERMS | {n.lower() for n in addon_names}
    docs = analyzer.analyze_many([t for _, t in entries])
    found: dict[tuple[int, str], list[tuple[list[str], str]]] = defaultdict(list)
    for (account_id, text), doc in zip(entries, docs, strict=True):
        terms = {t.removesuffix("+NEG") for t in doc.terms if not t.endswith("+NEG")}
        hits = sorted(terms & addon_terms)
        if hits:
            found[(account_id, "addon_interest")].append((hits, text[:60]))
        limits = sorted(terms & LIMIT_TERMS)
        if limits:
            found[(account_id, "plan_limit")].append((limits, text[:60]))
    return [
        Signal(
            account_id,
            signal,
            f"VoC ({len(quotes)}x) {'/'.join(quotes[-1][0])}: {quotes[-1][1]}"[:500],
            min(1.0, 0.5 + 0.25 * len(quotes)),
            {
                "source": "voc",
                "mentions": len(quotes),
                "terms": sorted({t for hits, _ in quotes for t in hits}),
                "quote": quotes[-1][1],
            },
        )
        for (account_id, signal), quotes in found.items()
    ]


def detect_signals(session: Session, *, today: dt.date, events_dir: Path | None = None) -> list[Signal]:
    """Every expansion signal of live accounts on ``today``."""
    seats = licensed_seats(session, today=today)
    live_ids = set(seats)
    if not live_ids:
        return []
    metrics = snapshots.latest_attributes(session, "metrics", sorted(live_ids))
    usage = usage_from_events(events_dir, today=today) if events_dir is not None else {}
    signals: list[Signal] = []
    for account_id in sorted(live_ids):
        n_seats, _ = seats[account_id]
        m = metrics.get(account_id, {})
        u = usage.get(account_id, {})
        utilisation = m.get("metrics.seat_utilisation")
        if utilisation is None and n_seats and u:
            utilisation = u["active_users"] / n_seats
        if utilisation is not None:
            utilisation = float(utilisation)
            if utilisation > 1.0 + 1e-9:
                signals.append(
                    Signal(
                        account_id,
                        "plan_limit",
                        f"{utilisation:.0%} of {n_seats} licensed seats in use",
                        min(1.0, utilisation - 0.5),
                        {"utilisation": round(utilisation, 4), "seats": n_seats},
                    )
                )
            elif utilisation >= SEAT_UTILISATION_MIN:
                signals.append(
                    Signal(
                        account_id,
                        "seat_utilisation",
                        f"{utilisation:.0%} of {n_seats} seats in use",
                        utilisation,
                        {"utilisation": round(utilisation, 4), "seats": n_seats},
                    )
                )
        growth = m.get("metrics.usage_trend")
        if growth is not None and (m.get("metrics.events_30d") or 0) < MIN_EVENTS_FOR_GROWTH:
            growth = None  # a handful of events swings by +100% from one week to the next
        if growth is None and u and u["events_before"] >= MIN_EVENTS_FOR_GROWTH:
            growth = u["events_recent"] / u["events_before"] - 1.0
        if growth is not None and float(growth) >= USAGE_GROWTH_MIN:
            signals.append(
                Signal(
                    account_id,
                    "usage_growth",
                    f"usage {float(growth):+.0%} over the previous 30 days",
                    min(1.0, float(growth)),
                    {"growth": round(float(growth), 4), "days": 30},
                )
            )
    signals += _voc_signals(session, today=today, account_ids=live_ids)
    return signals


def _amount(signal: str, seats: tuple[int, int], addon_price: int) -> int:
    """Expected MRR added (minor units): 20% more seats at the account's price per seat for an upsell, the
    cheapest add-on's monthly list price times seats (at least one unit) for a cross-sell."""
    n_seats, mrr = seats
    if KIND_OF_SIGNAL[signal] == OpportunityKind.cross_sell:
        return addon_price
    per_seat = mrr / n_seats if n_seats else 0
    return round(per_seat * max(1, round(n_seats * 0.2)))


@dataclass
class ExpansionReport:
    signals: int = 0
    new_signals: int = 0
    opportunities_opened: int = 0
    history: int = 0  # signals of the baseline (back-fill mode): recorded, no opportunity opened
    by_signal: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "signals": self.signals,
            "new_signals": self.new_signals,
            "opportunities_opened": self.opportunities_opened,
            "history": self.history,
            **self.by_signal,
        }


def open_expansion_opportunities(
    session: Session,
    *,
    actor: str,
    today: dt.date,
    events_dir: Path | None = None,
    watermark: Watermark | None = None,
) -> ExpansionReport:
    """Record today's signals and open one upsell / cross-sell opportunity per account and kind where none is open.

    Idempotent: a signal seen again only moves ``last_seen_on``; an account with an open opportunity of that kind
    gets no second one. Back-fill mode (``watermark``, :mod:`kizuna.hub.watermark`): a quiet refresh records the
    signals as the baseline and opens nothing; after it, a signal opens an opportunity only when it is new since the
    previous refresh (first seen now, or back after it was not seen then) or it had one before.
    """
    signals = detect_signals(session, today=today, events_dir=events_dir)
    report = ExpansionReport(signals=len(signals))
    if not signals:
        return report
    quiet = watermark is not None and watermark.quiet
    since = None if watermark is None else watermark.since_day
    seats = licensed_seats(session, today=today)
    addon_price = int(
        session.scalar(
            select(func.min(Plan.list_price_minor / Plan.billing_period_months)).where(Plan.is_addon.is_(True))
        )
        or 0
    )
    known = {(r.account_id, r.signal): r for r in session.scalars(select(ExpansionSignal))}
    open_opps: dict[tuple[int, str], Opportunity] = {}
    for opp in session.scalars(
        select(Opportunity)
        .where(
            Opportunity.stage == OpportunityStage.open,
            Opportunity.kind.in_((OpportunityKind.upsell, OpportunityKind.cross_sell)),
        )
        .order_by(Opportunity.id)
    ):
        if opp.account_id is not None:
            open_opps.setdefault((opp.account_id, opp.kind), opp)
    # an account whose opportunity of that kind was closed recently is not offered another one yet
    cooling = {
        (a, k)
        for a, k in session.execute(
            select(Opportunity.account_id, Opportunity.kind).where(
                Opportunity.stage != OpportunityStage.open,
                Opportunity.kind.in_((OpportunityKind.upsell, OpportunityKind.cross_sell)),
                Opportunity.close_date >= today - dt.timedelta(days=REOPEN_AFTER_DAYS),
            )
        )
    }
    owners: dict[int, int | None] = {}
    names: dict[int, str] = {}
    for account_id, owner_id, name in session.execute(select(Account.id, Account.owner_id, Account.name)):
        owners[account_id], names[account_id] = owner_id, name
    counts: dict[str, int] = defaultdict(int)
    now = dt.datetime(today.year, today.month, today.day, 12, tzinfo=dt.UTC)
    # each signal row's opportunity and the opportunities opened, written in one flush after the loop (one flush per
    # opened opportunity was most of the step on a first refresh: thousands of them); new signal rows and the audit
    # rows are plain rows, inserted once the opportunities have their ids
    links: dict[tuple[int, str], tuple[ExpansionSignal | dict[str, Any], Opportunity]] = {}
    opened: list[tuple[Opportunity, Signal]] = []
    fresh: dict[tuple[int, str], dict[str, Any]] = {}
    for s in signals:
        counts[s.signal] += 1
        key = (s.account_id, s.signal)
        row = known.get(key)
        # new since the previous refresh: first seen now, or not seen at the previous refresh; or acted on before
        acts = not quiet and (
            (row is None and key not in fresh)
            or since is None
            or (row is not None and (row.last_seen_on < since or row.opportunity_id is not None))
            or key in links
        )
        target: ExpansionSignal | dict[str, Any]
        if row is None:
            values = {"detail": s.detail, "facts": s.facts, "strength": s.strength, "last_seen_on": today}
            if key in fresh:
                fresh[key].update(values)
            else:
                fresh[key] = {
                    "account_id": s.account_id,
                    "signal": s.signal,
                    "first_seen_on": today,
                    "opportunity_id": None,
                    **values,
                }
                report.new_signals += 1
            target = fresh[key]
        else:
            row.detail, row.facts, row.strength, row.last_seen_on = s.detail, s.facts, s.strength, today
            target = row
        if not acts:
            report.history += 1
            continue
        kind = KIND_OF_SIGNAL[s.signal]
        existing = open_opps.get((s.account_id, kind))
        if existing is None and (s.account_id, kind) in cooling:
            continue
        if existing is not None:
            opp = existing
        else:
            label = "Upsell" if kind == OpportunityKind.upsell else "Cross-sell"
            opp = Opportunity(
                external_id=f"kizuna-expansion-{s.account_id}-{kind}-{today:%Y%m%d}",
                name=f"{label}: {names.get(s.account_id, s.account_id)} ({s.signal})"[:300],
                account_id=s.account_id,
                owner_id=owners.get(s.account_id),
                kind=kind,
                stage=OpportunityStage.open,
                source=f"signal:{s.signal}",
                amount_minor=_amount(s.signal, seats.get(s.account_id, (0, 0)), addon_price),
                created_at=now,
            )
            session.add(opp)
            open_opps[(s.account_id, kind)] = opp
            opened.append((opp, s))
            report.opportunities_opened += 1
        links[key] = (target, opp)
    session.flush()  # the opened opportunities get their ids
    for target, opp in links.values():
        if isinstance(target, dict):
            target["opportunity_id"] = opp.id
        else:
            target.opportunity_id = opp.id
    if fresh:
        session.execute(insert(ExpansionSignal), list(fresh.values()))
    if opened:
        at = utcnow()
        session.execute(
            insert(AuditEntry),
            [
                {
                    "at": at,
                    "actor": actor,
                    "action": "open_opportunity",
                    "entity": "opportunity",
                    "entity_id": str(opp.id),
                    "before": None,
                    "after": {
                        "account_id": s.account_id,
                        "kind": KIND_OF_SIGNAL[s.signal],
                        "signal": s.signal,
                        "detail": s.detail,
                    },
                }
                for opp, s in opened
            ],
        )
    session.flush()
    report.by_signal = dict(counts)
    return report


def close_opportunity(
    session: Session, *, actor: str, opportunity_id: int, won: bool, amount_minor: int | None = None
) -> Opportunity:
    """Close an expansion opportunity as won or lost."""
    from kizuna.db import utcnow
    from kizuna.errors import InvalidInput, NotFound

    opp = session.get(Opportunity, opportunity_id)
    if opp is None:
        raise NotFound(f"no opportunity {opportunity_id}", opportunity_id=opportunity_id)
    if opp.stage != OpportunityStage.open:
        raise InvalidInput(f"opportunity {opportunity_id} is already {opp.stage}")
    opp.stage = OpportunityStage.won if won else OpportunityStage.lost
    _totals.clear()  # the pipeline page counts it closed at once
    opp.closed_at = utcnow()
    opp.close_date = opp.closed_at.date()
    if amount_minor is not None:
        opp.amount_minor = amount_minor
    session.flush()
    record_audit(
        session,
        actor=actor,
        action="close_opportunity",
        entity="opportunity",
        entity_id=opp.id,
        after={"stage": opp.stage, "amount_minor": opp.amount_minor},
    )
    return opp


#: the pipeline's counts and sums per (kind, signal) filter
_totals: TtlCache[tuple[dict[str, dict[str, dict[str, int]]], dict[str, int], int, int]] = TtlCache(ttl=60.0)


def expansion_pipeline(
    session: Session,
    *,
    kind: str | None = None,
    signal: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> dict[str, Any]:
    """Upsell and cross-sell opportunities by kind and stage (count and expected MRR added, minor units); the open
    ones (of ``kind``, opened for ``signal``; ``limit`` of them from ``offset``, largest first) with the signals
    behind them (``signal``, ``facts``, ``detail``, ``strength``); how many open ones each signal backs."""
    kinds = (OpportunityKind.upsell, OpportunityKind.cross_sell)
    open_filter: list[Any] = [Opportunity.stage == OpportunityStage.open, Opportunity.kind.in_(kinds)]
    if kind is not None:
        open_filter.append(Opportunity.kind == kind)
    if signal is not None:
        open_filter.append(
            Opportunity.id.in_(select(ExpansionSignal.opportunity_id).where(ExpansionSignal.signal == signal))
        )

    def totals() -> tuple[dict[str, dict[str, dict[str, int]]], dict[str, int], int, int]:
        summary: dict[str, dict[str, dict[str, int]]] = {
            k: {st: {"opportunities": 0, "amount_minor": 0} for st in OpportunityStage} for k in kinds
        }
        for k, stage, n, amount in session.execute(
            select(Opportunity.kind, Opportunity.stage, func.count(), func.sum(Opportunity.amount_minor))
            .where(Opportunity.kind.in_(kinds))
            .group_by(Opportunity.kind, Opportunity.stage)
        ):
            if stage in summary[k]:
                summary[k][stage] = {"opportunities": int(n), "amount_minor": int(amount or 0)}
        by_signal = {
            str(name): int(n)
            for name, n in session.execute(
                select(ExpansionSignal.signal, func.count(func.distinct(ExpansionSignal.opportunity_id)))
                .join(Opportunity, Opportunity.id == ExpansionSignal.opportunity_id)
                .where(Opportunity.stage == OpportunityStage.open)
                .group_by(ExpansionSignal.signal)
            )
        }
        total, total_amount = session.execute(
            select(func.count(), func.coalesce(func.sum(Opportunity.amount_minor), 0)).where(*open_filter)
        ).one()
        return summary, by_signal, int(total), int(total_amount)

    # grouped over every opportunity (200,000 on the 50,000-account demo): kept a minute, emptied by a close here
    summary, by_signal, total, total_amount = _totals.get(session, (kind, signal), totals)
    page = session.execute(
        select(Opportunity, Account.name)
        .outerjoin(Account, Account.id == Opportunity.account_id)
        .where(*open_filter)
        .order_by(Opportunity.amount_minor.desc(), Opportunity.id)
        .limit(limit)
        .offset(offset)
    ).all()
    signals_by_opp: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in session.scalars(
        select(ExpansionSignal)
        .where(ExpansionSignal.opportunity_id.in_([o.id for o, _ in page]))
        .order_by(ExpansionSignal.strength.desc(), ExpansionSignal.id)
    ):
        signals_by_opp[int(row.opportunity_id or 0)].append(
            {
                "signal": row.signal,
                "facts": row.facts or {},
                "detail": row.detail,
                "strength": row.strength,
                "last_seen_on": row.last_seen_on,
            }
        )
    open_rows = [
        {
            "opportunity_id": o.id,
            "account_id": o.account_id,
            "account_name": name,
            "kind": o.kind,
            "name": o.name,
            "amount_minor": o.amount_minor,
            "currency": o.currency,
            "created_at": o.created_at,
            "signals": signals_by_opp.get(o.id, []),
        }
        for o, name in page
    ]
    return {
        "by_kind": summary,
        "by_signal": by_signal,
        "open": open_rows,
        "open_total": int(total),
        "open_amount_minor": int(total_amount or 0),
    }


def adoption_of(session: Session, account_ids: list[int]) -> dict[int, dict[str, float]]:
    """Seat utilisation and feature adoption (the share of the product's features used in 30 days) per account, from
    the latest metrics snapshot: what a CSM reads next to an expansion opportunity."""
    out: dict[int, dict[str, float]] = {}
    for account_id, attrs in snapshots.latest_attributes(session, "metrics", account_ids).items():
        values = {
            name: float(attrs[f"metrics.{name}"])
            for name in ("seat_utilisation", "adoption_breadth")
            if attrs.get(f"metrics.{name}") is not None
        }
        if values:
            out[account_id] = values
    return out
