"""Segments (rule-based and RFM, with membership history), ACV touch tiers, books of business and CSM assignment.

Rule segments reuse the playbooks' conditions (:mod:`kizuna.segments.attributes`): any column of ``accounts``,
``plan``, ``mrr_minor``, ``arr_minor``, ``seats``, ``metrics.*``, ``health.*``, ``risk.*`` -- and here also
``rfm.segment``, ``rfm.r_score``, ``rfm.f_score``, ``rfm.m_score``, ``rfm.rfm_cell``.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections import Counter, defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError
from sqlalchemy import func, insert, select, type_coerce, update
from sqlalchemy.orm import Session
from sqlalchemy.types import NullType

from kizuna.accounts.models import Account, TeamMember, TeamRole
from kizuna.audit.service import record_audit
from kizuna.billing.models import Payment, PaymentStatus, Subscription
from kizuna.billing.service import paid_lines_on
from kizuna.db import expire_held, utcnow
from kizuna.errors import Conflict, InvalidInput, NotFound
from kizuna.segments.attributes import account_attributes, failed_condition
from kizuna.segments.models import (
    Segment,
    SegmentKind,
    SegmentMembership,
    TierCapacity,
    TouchTierChange,
    TouchTierPolicy,
)
from kizuna.segments.schemas import Assignment, Book, SegmentDefinition

log = logging.getLogger(__name__)

# Defaults when no policy was saved: ACV >= ¥3,000,000 high touch, >= ¥600,000 low touch, else tech touch.
DEFAULT_HIGH_TOUCH_MIN_ACV = 3_000_000
DEFAULT_LOW_TOUCH_MIN_ACV = 600_000
# A book is over-covered above 100% of capacity and under-covered below this share of it.
UNDER_COVERED_BELOW = 0.7
# Accounts one CSM can carry in each touch tier when none was saved: a high-touch account (regular meetings, QBRs)
# takes about five times the time of a low-touch one, which takes about five times that of a tech-touch one.
DEFAULT_TIER_CAPACITY = {"high": 20, "low": 80, "tech": 400}
TIERS = ("high", "low", "tech")
# Accounts without a tier (no live paid contract yet) weigh like low-touch ones.
UNTIERED_AS = "low"


# ------------------------------------------------------------------------------------------------ definitions
def parse_definition(definition: dict[str, Any]) -> SegmentDefinition:
    try:
        return SegmentDefinition.model_validate(definition)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidInput(f"segment definition: {where}: {first['msg']}", value=definition) from exc


def create_segment(
    session: Session,
    *,
    actor: str,
    key: str,
    name: str,
    definition: dict[str, Any],
    description: str | None = None,
) -> Segment:
    """Save a segment definition (members are computed by :func:`evaluate_segments`)."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]{0,99}", key):
        raise InvalidInput(f"segment key {key!r}: use lower-case letters, digits, '-', '_' or '.'", value=key)
    if session.scalar(select(Segment.id).where(Segment.key == key)) is not None:
        raise Conflict(f"segment {key!r} already exists", key=key)
    parsed = parse_definition(definition)
    segment = Segment(
        key=key,
        name=name.strip() or key,
        description=description,
        kind=SegmentKind.rfm if parsed.rfm_segment else SegmentKind.rule,
        definition=parsed.as_json(),
        created_by=actor,
    )
    session.add(segment)
    session.flush()
    record_audit(
        session,
        actor=actor,
        action="create",
        entity="segment",
        entity_id=segment.id,
        after={"key": key, "definition": segment.definition},
    )
    return segment


def update_segment(
    session: Session,
    *,
    actor: str,
    key: str,
    definition: dict[str, Any] | None = None,
    active: bool | None = None,
    name: str | None = None,
) -> Segment:
    segment = get_segment(session, key)
    before = {"name": segment.name, "definition": segment.definition, "active": segment.active}
    if name is not None and name.strip():
        segment.name = name.strip()[:300]
    if definition is not None:
        if segment.kind == SegmentKind.rfm:
            raise InvalidInput(f"segment {key!r} is an RFM segment: its definition comes from the RFM analysis")
        parsed = parse_definition(definition)
        segment.definition = parsed.as_json()
        segment.kind = SegmentKind.rfm if parsed.rfm_segment else SegmentKind.rule
    if active is not None:
        segment.active = active
    session.flush()
    record_audit(
        session,
        actor=actor,
        action="update",
        entity="segment",
        entity_id=segment.id,
        before=before,
        after={"name": segment.name, "definition": segment.definition, "active": segment.active},
    )
    return segment


def get_segment(session: Session, key: str) -> Segment:
    segment = session.scalar(select(Segment).where(Segment.key == key))
    if segment is None:
        raise NotFound(f"no segment {key!r}", key=key)
    return segment


def list_segments(session: Session) -> list[Segment]:
    return list(session.scalars(select(Segment).order_by(Segment.key)))


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def ensure_rfm_segments(session: Session, *, actor: str) -> list[Segment]:
    """Create one segment per named RFM segment (``rfm-champions``, ``rfm-at-risk``, ...) if missing."""
    from kizuna.analytics.ltv import RFM_SEGMENTS

    made = []
    existing = set(session.scalars(select(Segment.key)))
    for name in RFM_SEGMENTS:
        key = f"rfm-{_slug(name)}"
        if key not in existing:
            made.append(
                create_segment(session, actor=actor, key=key, name=f"RFM: {name}", definition={"rfm_segment": name})
            )
    return made


# ------------------------------------------------------------------------------------------------------- RFM
def rfm_by_account(session: Session, *, today: dt.date) -> dict[int, dict[str, Any]]:
    """RFM scores per account from successful payments (the transactions), observed up to ``today``.

    Returns ``{account_id: {"rfm.segment", "rfm.r_score", "rfm.f_score", "rfm.m_score", "rfm.rfm_cell"}}``;
    monthly periods, since SaaS payments are monthly or rarer.
    """
    import numpy as np
    import pandas as pd

    from kizuna.analytics.ltv import rfm_scores, rfm_summary

    end = dt.datetime(today.year, today.month, today.day, 23, 59, 59, tzinfo=dt.UTC)
    # Read as columns (at 50,000 accounts, 371,705 payments): the stored times as the driver gives them (SQLite's
    # naive UTC text, PostgreSQL's aware datetimes), not converted to an aware datetime one by one, through Core (no
    # ORM row handling), every succeeded payment (SQLite walked the time index for nearly every row, three times a
    # scan), then the end applied to the parsed column. This took the RFM read from 3.2-4 s of CPU to about 1.3.
    session.flush()
    rows = (
        session.connection()
        .execute(
            select(Payment.account_id, type_coerce(Payment.attempted_at, NullType()), Payment.amount_minor).where(
                Payment.status == PaymentStatus.succeeded
            )
        )
        .all()
    )
    if not rows:
        return {}
    account_ids, stored_ats, amounts = zip(*rows, strict=True)
    ats = _naive_utc(stored_ats)
    kept = ats <= np.datetime64(end.replace(tzinfo=None))
    if not kept.any():
        return {}
    frame = pd.DataFrame(
        {"account_id": np.array(account_ids)[kept], "at": ats[kept], "amount": np.array(amounts)[kept]}
    )
    summary = rfm_summary(frame, "account_id", "at", "amount", observation_period_end=pd.Timestamp(today), freq="M")
    scores = rfm_scores(summary)
    out: dict[int, dict[str, Any]] = {}
    m_present = "m_score" in scores.columns
    m_scores = scores["m_score"] if m_present else [None] * len(scores)
    for account_id, segment, r_score, f_score, m_score, cell in zip(
        scores.index, scores["segment"], scores["r_score"], scores["f_score"], m_scores, scores["rfm_cell"], strict=True
    ):
        out[int(account_id)] = {
            "rfm.segment": str(segment),
            "rfm.r_score": int(r_score),
            "rfm.f_score": int(f_score),
            "rfm.m_score": int(m_score) if m_present else None,
            "rfm.rfm_cell": str(cell),
        }
    return out


def _naive_utc(stored: tuple[Any, ...]) -> Any:
    """Stored times as naive UTC ``datetime64[ns]``: SQLite's ISO text parsed by NumPy as one array, PostgreSQL's
    aware datetimes converted by pandas."""
    import numpy as np
    import pandas as pd

    if isinstance(stored[0], str):
        return np.array(stored, dtype="datetime64[us]").astype("datetime64[ns]")
    return pd.to_datetime(pd.Series(stored), utc=True).dt.tz_localize(None).to_numpy()


# ------------------------------------------------------------------------------------------------ evaluation
@dataclass
class SegmentEvaluation:
    key: str
    members: int
    joined: int
    left: int


@dataclass
class EvaluationReport:
    segments: list[SegmentEvaluation] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "segments": len(self.segments),
            "memberships": sum(s.members for s in self.segments),
            "joined": sum(s.joined for s in self.segments),
            "left": sum(s.left for s in self.segments),
        }


def _matches(definition: SegmentDefinition, attrs: dict[str, Any]) -> str | None:
    """Why the account is a member (text), or None if it is not."""
    if definition.rfm_segment is not None:
        seg = attrs.get("rfm.segment")
        return f"rfm {attrs.get('rfm.rfm_cell')} {seg}" if seg == definition.rfm_segment else None
    if definition.match == "all":
        if failed_condition(definition.rules, attrs) is not None:
            return None
        return "; ".join(f"{c.field}={attrs.get(c.field)!r}" for c in definition.rules)[:500]
    for condition in definition.rules:
        if failed_condition([condition], attrs) is None:
            return f"{condition.field}={attrs.get(condition.field)!r}"[:500]
    return None


def account_segment_attributes(
    session: Session, *, today: dt.date, rfm: bool = True, names: Collection[str] | None = None
) -> dict[int, dict[str, Any]]:
    """Every attribute a segment rule may name (or those of ``names``, see :func:`account_attributes`), for every
    account."""
    ids = list(session.scalars(select(Account.id)))
    attrs = account_attributes(session, ids, today=today, names=names)
    if rfm:
        for account_id, values in rfm_by_account(session, today=today).items():
            if account_id in attrs:
                attrs[account_id].update(values)
    return attrs


def evaluate_segments(
    session: Session,
    *,
    actor: str,
    today: dt.date,
    keys: list[str] | None = None,
    now: dt.datetime | None = None,
    attributes: dict[int, dict[str, Any]] | None = None,
) -> EvaluationReport:
    """Re-evaluate active segments (or ``keys``): members who joined get a new membership row, those who left get
    ``left_at``; the rows are the membership history. Running it twice changes nothing the second time."""
    now = now or utcnow()
    stmt = select(Segment).order_by(Segment.key)
    stmt = stmt.where(Segment.key.in_(keys)) if keys else stmt.where(Segment.active.is_(True))
    segments = list(session.scalars(stmt))
    if keys and len(segments) != len(set(keys)):
        missing = sorted(set(keys) - {s.key for s in segments})
        raise NotFound(f"no segment {', '.join(missing)}", keys=missing)
    report = EvaluationReport()
    if not segments:
        return report
    definitions = {segment.id: parse_definition(segment.definition) for segment in segments}
    needs_rfm = any(s.kind == SegmentKind.rfm or "rfm." in str(s.definition) for s in segments)
    attrs = attributes
    if attrs is None:  # what the definitions read, and only that
        names = {c.field for d in definitions.values() for c in d.rules}
        if any(d.rfm_segment is not None for d in definitions.values()):
            names |= {"rfm.segment", "rfm.rfm_cell"}
        attrs = account_segment_attributes(session, today=today, rfm=needs_rfm, names=names)
    for segment in segments:
        definition = definitions[segment.id]
        wanted = {aid: why for aid, a in attrs.items() if (why := _matches(definition, a)) is not None}
        # (account, membership id) pairs, no ORM object per member: at 50,000 accounts those were a third of the step
        current: dict[int, int] = {
            account_id: membership_id
            for account_id, membership_id in session.execute(
                select(SegmentMembership.account_id, SegmentMembership.id).where(
                    SegmentMembership.segment_id == segment.id, SegmentMembership.left_at.is_(None)
                )
            )
        }
        joined = [aid for aid in wanted if aid not in current]
        left = [membership_id for aid, membership_id in current.items() if aid not in wanted]
        if joined:  # one statement, no ORM object per new member
            session.execute(
                insert(SegmentMembership),
                [
                    {"segment_id": segment.id, "account_id": aid, "joined_at": now, "reason": wanted[aid]}
                    for aid in joined
                ],
            )
        if left:  # one executemany by id; memberships this session holds read the new end
            session.execute(update(SegmentMembership), [{"id": mid, "left_at": now} for mid in left])
            expire_held(session, SegmentMembership, ids=set(left), attributes=["left_at"])
        segment.member_count = len(wanted)
        segment.evaluated_at = now
        report.segments.append(SegmentEvaluation(segment.key, len(wanted), len(joined), len(left)))
        if joined or left:
            record_audit(
                session,
                actor=actor,
                action="evaluate",
                entity="segment",
                entity_id=segment.id,
                after={"members": len(wanted), "joined": len(joined), "left": len(left)},
            )
    session.flush()
    log.info("evaluated %s segments", len(segments))
    return report


def segment_members(session: Session, *, key: str, limit: int | None = None, offset: int = 0) -> list[dict[str, Any]]:
    """Current members of a segment (by name; ``limit`` of them from ``offset``), with when and why they joined."""
    segment = get_segment(session, key)
    rows = session.execute(
        select(Account.id, Account.name, Account.touch_tier, SegmentMembership.joined_at, SegmentMembership.reason)
        .join(SegmentMembership, SegmentMembership.account_id == Account.id)
        .where(SegmentMembership.segment_id == segment.id, SegmentMembership.left_at.is_(None))
        .order_by(Account.name, Account.id)
        .limit(limit)
        .offset(offset)
    )
    return [{"account_id": a, "name": n, "touch_tier": t, "joined_at": j, "reason": r} for a, n, t, j, r in rows]


def count_members(session: Session, *, key: str) -> int:
    """How many accounts are in the segment now."""
    segment = get_segment(session, key)
    return int(
        session.scalar(
            select(func.count()).where(SegmentMembership.segment_id == segment.id, SegmentMembership.left_at.is_(None))
        )
        or 0
    )


def membership_history(session: Session, *, key: str, account_id: int | None = None) -> list[SegmentMembership]:
    segment = get_segment(session, key)
    stmt = select(SegmentMembership).where(SegmentMembership.segment_id == segment.id)
    if account_id is not None:
        stmt = stmt.where(SegmentMembership.account_id == account_id)
    return list(session.scalars(stmt.order_by(SegmentMembership.joined_at, SegmentMembership.id)))


def account_segments(session: Session, *, account_id: int) -> list[str]:
    """Keys of the segments an account is in now."""
    return list(
        session.scalars(
            select(Segment.key)
            .join(SegmentMembership, SegmentMembership.segment_id == Segment.id)
            .where(SegmentMembership.account_id == account_id, SegmentMembership.left_at.is_(None))
            .order_by(Segment.key)
        )
    )


# ------------------------------------------------------------------------------------------------------ tiers
def tier_policy(session: Session) -> TouchTierPolicy:
    """The thresholds in force (the newest saved policy, else the defaults -- not saved)."""
    policy = session.scalar(select(TouchTierPolicy).order_by(TouchTierPolicy.id.desc()).limit(1))
    return policy or TouchTierPolicy(
        high_touch_min_acv_minor=DEFAULT_HIGH_TOUCH_MIN_ACV,
        low_touch_min_acv_minor=DEFAULT_LOW_TOUCH_MIN_ACV,
        currency="JPY",
        created_by="default",
    )


def set_tier_policy(
    session: Session, *, actor: str, high_touch_min_acv_minor: int, low_touch_min_acv_minor: int, currency: str = "JPY"
) -> TouchTierPolicy:
    if not 0 <= low_touch_min_acv_minor <= high_touch_min_acv_minor:
        raise InvalidInput(
            f"tier thresholds need 0 <= low ({low_touch_min_acv_minor}) <= high ({high_touch_min_acv_minor})"
        )
    policy = TouchTierPolicy(
        high_touch_min_acv_minor=high_touch_min_acv_minor,
        low_touch_min_acv_minor=low_touch_min_acv_minor,
        currency=currency.upper(),
        created_by=actor,
    )
    session.add(policy)
    session.flush()
    record_audit(
        session,
        actor=actor,
        action="create",
        entity="touch_tier_policy",
        entity_id=policy.id,
        after={"high": high_touch_min_acv_minor, "low": low_touch_min_acv_minor, "currency": currency},
    )
    return policy


def tier_for(acv_minor: int, policy: TouchTierPolicy) -> str:
    if acv_minor >= policy.high_touch_min_acv_minor:
        return "high"
    if acv_minor >= policy.low_touch_min_acv_minor:
        return "low"
    return "tech"


def account_acv(session: Session, *, today: dt.date) -> dict[int, tuple[int, str]]:
    """Annual contract value (12 x live MRR, minor units) and currency per account with a live paid subscription."""
    rows = session.execute(
        select(Subscription.account_id, func.sum(Subscription.mrr_minor), func.max(Subscription.currency))
        .where(paid_lines_on(today))
        .group_by(Subscription.account_id)
    )
    return {int(a): (int(m or 0) * 12, c or "JPY") for a, m, c in rows}


@dataclass
class TierReport:
    changed: int
    counts: dict[str, int]
    policy: dict[str, Any]


def apply_tiers(session: Session, *, actor: str, today: dt.date, now: dt.datetime | None = None) -> TierReport:
    """Set ``accounts.touch_tier`` from ACV for every account with a live subscription (others keep theirs);
    each change is a :class:`TouchTierChange` row. Idempotent."""
    now = now or utcnow()
    policy = tier_policy(session)
    acv = account_acv(session, today=today)
    counts: Counter[str] = Counter()
    # plain rows in, the changes written as two statements (an ORM object per account was most of the step)
    changes: list[dict[str, Any]] = []
    for account_id, touch_tier in session.execute(select(Account.id, Account.touch_tier).order_by(Account.id)):
        if account_id not in acv:
            continue
        value, currency = acv[account_id]
        tier = tier_for(value, policy)
        counts[tier] += 1
        if touch_tier != tier:
            changes.append(
                {
                    "account_id": account_id,
                    "from_tier": touch_tier,
                    "to_tier": tier,
                    "acv_minor": value,
                    "currency": currency,
                    "changed_at": now,
                    "actor": actor,
                }
            )
    changed = len(changes)
    if changes:
        session.execute(insert(TouchTierChange), changes)
        session.execute(update(Account), [{"id": c["account_id"], "touch_tier": c["to_tier"]} for c in changes])
        # accounts this session holds read their new tier
        expire_held(session, Account, ids={c["account_id"] for c in changes}, attributes=["touch_tier", "updated_at"])
    session.flush()
    if changed:
        record_audit(session, actor=actor, action="apply_tiers", entity="account", after={"changed": changed})
    return TierReport(
        changed=changed,
        counts=dict(counts),
        policy={
            "high_touch_min_acv_minor": policy.high_touch_min_acv_minor,
            "low_touch_min_acv_minor": policy.low_touch_min_acv_minor,
            "currency": policy.currency,
        },
    )


def tier_history(session: Session, *, account_id: int) -> list[TouchTierChange]:
    return list(
        session.scalars(
            select(TouchTierChange).where(TouchTierChange.account_id == account_id).order_by(TouchTierChange.id)
        )
    )


# ------------------------------------------------------------------------------------------- books and coverage
def tier_capacities(session: Session) -> dict[str, int]:
    """Accounts one CSM can carry per touch tier (``high``, ``low``, ``tech``): the saved ones, else the defaults."""
    saved = {str(t): int(n) for t, n in session.execute(select(TierCapacity.tier, TierCapacity.accounts_per_csm))}
    return {tier: int(saved.get(tier, DEFAULT_TIER_CAPACITY[tier])) for tier in TIERS}


def set_tier_capacities(session: Session, *, actor: str, capacities: dict[str, int]) -> dict[str, int]:
    """Save the accounts-per-CSM capacity of the tiers given (the others keep theirs)."""
    unknown = sorted(set(capacities) - set(TIERS))
    if unknown:
        raise InvalidInput(f"unknown touch tier {', '.join(unknown)}; use high, low or tech", value=unknown)
    for tier, value in capacities.items():
        if not 1 <= int(value) <= 100_000:
            raise InvalidInput(f"capacity of {tier} touch: {value} is not 1 to 100,000 accounts per CSM", value=value)
    before = tier_capacities(session)
    rows = {r.tier: r for r in session.scalars(select(TierCapacity))}
    for tier, value in capacities.items():
        row = rows.get(tier)
        if row is None:
            session.add(TierCapacity(tier=tier, accounts_per_csm=int(value), updated_by=actor))
        else:
            row.accounts_per_csm, row.updated_by = int(value), actor
    session.flush()
    after = tier_capacities(session)
    if after != before:
        record_audit(session, actor=actor, action="update", entity="tier_capacity", before=before, after=after)
    return after


def _csms(session: Session, ids: list[int] | None = None) -> list[TeamMember]:
    stmt = select(TeamMember).where(TeamMember.active.is_(True))
    stmt = stmt.where(TeamMember.id.in_(ids)) if ids else stmt.where(TeamMember.role == TeamRole.csm)
    return list(session.scalars(stmt.order_by(TeamMember.id)))


def _coverage(load: float | None) -> Literal["over", "balanced", "under", "no_capacity"]:
    if load is None:
        return "no_capacity"
    if load > 1.0:
        return "over"
    return "under" if load < UNDER_COVERED_BELOW else "balanced"


def tier_load(by_tier: dict[str | None, int], capacities: dict[str, int]) -> float:
    """Share of one CSM's time a book takes: the sum over tiers of its accounts / the tier's capacity."""
    return sum(n / capacities[tier if tier in capacities else UNTIERED_AS] for tier, n in by_tier.items())


def _load(
    by_tier: dict[str | None, int], arr: int, member: TeamMember, capacities: dict[str, int]
) -> tuple[float, float | None, float]:
    account_load = tier_load(by_tier, capacities)
    arr_load = arr / member.capacity_arr_minor if member.capacity_arr_minor else None
    return account_load, arr_load, max(account_load, arr_load or 0.0)


def coverage_fingerprint(session: Session) -> tuple[Any, ...]:
    """What coverage depends on, cheaply: when accounts (owner, tier, stage), tier capacities, contract lines and
    risk scores last changed. Equal fingerprints mean equal books of business on the same day."""
    from kizuna.risk.models import RiskScore

    accounts = session.execute(select(func.count(), func.max(Account.updated_at))).one()
    return (
        tuple(accounts),
        session.scalar(select(func.max(TierCapacity.updated_at))),
        session.scalar(select(func.max(Subscription.id))),
        session.scalar(select(func.max(RiskScore.id))),
    )


def high_risk_accounts(session: Session) -> set[int]:
    """Accounts in the newest churn-risk scores' high band (the active model's latest day); empty before risk ran."""
    from kizuna.risk.models import RiskScore

    latest = session.execute(
        select(RiskScore.model_id, RiskScore.as_of).order_by(RiskScore.as_of.desc(), RiskScore.model_id.desc()).limit(1)
    ).first()
    if latest is None:
        return set()
    return set(
        session.scalars(
            select(RiskScore.account_id).where(
                RiskScore.model_id == latest[0], RiskScore.as_of == latest[1], RiskScore.band == "high"
            )
        )
    )


def books_of_business(session: Session, *, today: dt.date, acv: dict[int, tuple[int, str]] | None = None) -> list[Book]:
    """Per active CSM: the accounts owned (not churned), their ARR, how many are at risk (the at-risk lifecycle
    stage, or the churn model's high band), the tiers, and the load against the tiers' capacities (and the CSM's ARR
    capacity, where set). ``acv``: :func:`account_acv` when the caller has it already."""
    acv = acv if acv is not None else account_acv(session, today=today)
    capacities = tier_capacities(session)
    high_risk = high_risk_accounts(session)
    per_owner: dict[int, list[tuple[int, str | None, str]]] = defaultdict(list)
    for account_id, owner_id, tier, stage in session.execute(
        select(Account.id, Account.owner_id, Account.touch_tier, Account.lifecycle_stage).where(
            Account.owner_id.is_not(None), Account.lifecycle_stage != "churned"
        )
    ):
        per_owner[int(owner_id or 0)].append((int(account_id), tier, str(stage)))
    members = _csms(session)
    members += [m for m in _csms(session, list(per_owner)) if m not in members]
    books = []
    for member in members:
        owned = per_owner.get(member.id, [])
        arr = sum(acv.get(a, (0, "JPY"))[0] for a, _, _ in owned)
        currencies = {acv[a][1] for a, _, _ in owned if a in acv}
        by_tier: Counter[str | None] = Counter(tier for _, tier, _ in owned)
        account_load, arr_load, load = _load(dict(by_tier), arr, member, capacities)
        books.append(
            Book(
                owner_id=member.id,
                owner_name=member.name,
                accounts=len(owned),
                arr_minor=arr,
                currency=currencies.pop() if len(currencies) == 1 else "JPY",
                at_risk=sum(stage == "at_risk" or a in high_risk for a, _, stage in owned),
                capacity_accounts=member.capacity_accounts,
                capacity_arr_minor=member.capacity_arr_minor,
                account_load=account_load,
                arr_load=arr_load,
                load=load,
                coverage=_coverage(load),
                by_tier={tier or "none": n for tier, n in by_tier.items()},
            )
        )
    return books


@dataclass
class TierCoverage:
    """One touch tier across the team: accounts, ARR, the capacity, and how many CSMs it needs."""

    tier: str
    accounts: int
    arr_minor: int
    unassigned: int
    accounts_per_csm: int
    csms_needed: float  # accounts / capacity


def coverage_by_tier(
    session: Session, *, today: dt.date, acv: dict[int, tuple[int, str]] | None = None
) -> list[TierCoverage]:
    """Every live (not churned) account by touch tier, against that tier's capacity (untiered ones last)."""
    acv = acv if acv is not None else account_acv(session, today=today)
    capacities = tier_capacities(session)
    counts: Counter[str] = Counter()
    arr: Counter[str] = Counter()
    unowned: Counter[str] = Counter()
    for account_id, tier, owner_id in session.execute(
        select(Account.id, Account.touch_tier, Account.owner_id).where(Account.lifecycle_stage != "churned")
    ):
        key = tier if tier in capacities else "none"
        counts[key] += 1
        arr[key] += acv.get(account_id, (0, "JPY"))[0]
        unowned[key] += owner_id is None
    out = []
    for tier in (*TIERS, "none"):
        if tier == "none" and not counts[tier]:
            continue
        capacity = capacities[tier if tier in capacities else UNTIERED_AS]
        out.append(
            TierCoverage(
                tier=tier,
                accounts=counts[tier],
                arr_minor=arr[tier],
                unassigned=unowned[tier],
                accounts_per_csm=capacity,
                csms_needed=counts[tier] / capacity,
            )
        )
    return out


def unassigned_accounts(session: Session, *, tier: str | None = None, limit: int | None = None) -> list[Account]:
    """Live accounts without an owner, oldest first (``limit`` of them)."""
    stmt = select(Account).where(Account.owner_id.is_(None), Account.lifecycle_stage != "churned")
    if tier is not None:
        stmt = stmt.where(Account.touch_tier == tier)
    return list(session.scalars(stmt.order_by(Account.created_at, Account.id).limit(limit)))


def assign_accounts(
    session: Session,
    *,
    actor: str,
    today: dt.date,
    strategy: str = "least_loaded",
    tier: str | None = None,
    csm_ids: list[int] | None = None,
    account_ids: list[int] | None = None,
) -> list[Assignment]:
    """Give an owner to accounts without one (or ``account_ids``), CSM by CSM within each tier.

    ``round_robin`` takes the CSMs of the pool in turn, starting after the one who got the tier's newest account;
    ``least_loaded`` gives each account to the CSM whose load (the larger of accounts / capacity and ARR / ARR
    capacity; accounts per CSM when no capacity is set) is lowest after taking it.
    """
    if strategy not in ("least_loaded", "round_robin"):
        raise InvalidInput(f"unknown assignment strategy {strategy!r}; use least_loaded or round_robin", value=strategy)
    pool = _csms(session, csm_ids)
    if not pool:
        raise InvalidInput("no active CSM to assign accounts to")
    if account_ids:
        accounts = list(session.scalars(select(Account).where(Account.id.in_(account_ids)).order_by(Account.id)))
        if len(accounts) != len(set(account_ids)):
            raise NotFound(f"no account {sorted(set(account_ids) - {a.id for a in accounts})}")
    else:
        accounts = unassigned_accounts(session, tier=tier)
    if not accounts:
        return []
    acv = account_acv(session, today=today)
    capacities = tier_capacities(session)
    books = {b.owner_id: b for b in books_of_business(session, today=today, acv=acv)}
    load_tiers: dict[int, Counter[str | None]] = {
        m.id: Counter(
            {(None if t == "none" else t): n for t, n in (books[m.id].by_tier if m.id in books else {}).items()}
        )
        for m in pool
    }
    load_arr = {m.id: books[m.id].arr_minor if m.id in books else 0 for m in pool}
    by_tier: dict[str | None, list[Account]] = defaultdict(list)
    for account in accounts:
        by_tier[account.touch_tier].append(account)
    out: list[Assignment] = []
    for account_tier, group in by_tier.items():
        cursor = 0
        if strategy == "round_robin":
            last_owner = session.scalar(
                select(Account.owner_id)
                .where(
                    Account.touch_tier == account_tier if account_tier else Account.touch_tier.is_(None),
                    Account.owner_id.in_([m.id for m in pool]),
                )
                .order_by(Account.created_at.desc(), Account.id.desc())
                .limit(1)
            )
            ids = [m.id for m in pool]
            cursor = (ids.index(last_owner) + 1) % len(pool) if last_owner in ids else 0
        for account in group:
            arr = acv.get(account.id, (0, "JPY"))[0]
            if strategy == "round_robin":
                member = pool[cursor % len(pool)]
                cursor += 1
            else:

                def after(m: TeamMember, arr: int = arr, tier: str | None = account.touch_tier) -> tuple[float, int]:
                    _, _, load = _load(load_tiers[m.id] + Counter([tier]), load_arr[m.id] + arr, m, capacities)
                    return (load, m.id)

                member = min(pool, key=after)
            before = account.owner_id
            account.owner_id = member.id
            load_tiers[member.id][account.touch_tier] += 1
            load_arr[member.id] += arr
            record_audit(
                session,
                actor=actor,
                action="assign",
                entity="account",
                entity_id=account.id,
                before={"owner_id": before},
                after={"owner_id": member.id, "strategy": strategy},
            )
            out.append(
                Assignment(
                    account_id=account.id,
                    account_name=account.name,
                    tier=account.touch_tier,
                    owner_id=member.id,
                    owner_name=member.name,
                )
            )
    session.flush()
    return out
