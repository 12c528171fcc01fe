"""Renewal center: contracts coming up for renewal, the CSM's forecast call next to the model's, the
probability-weighted forecast of renewing ARR, and outcomes read back from the subscription history.

The model call is ``1 - churn probability`` from the risk engineer's ``risk_scores`` (read through
:mod:`kizuna.segments.snapshots`, so the center works -- without a model call -- before risk has run). A CSM call
and the model disagree when they are two or more steps apart on commit > likely > at risk > lost.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case, func, insert, or_, select, update
from sqlalchemy.orm import Session

from kizuna.accounts.models import Account, TeamMember
from kizuna.audit.service import record_audit
from kizuna.billing.models import Subscription
from kizuna.db import expire_held, utcnow
from kizuna.errors import InvalidInput, NotFound
from kizuna.platform.cache import TtlCache
from kizuna.platform.paging import count_rows
from kizuna.renewals.models import ForecastCall, Renewal, RenewalOutcome
from kizuna.segments import snapshots

# What each CSM call means as a probability of renewing (for the CSM-weighted forecast).
CALL_PROBABILITY: dict[str, float] = {"commit": 0.95, "likely": 0.75, "at_risk": 0.35, "lost": 0.0}
CALL_ORDER = ["lost", "at_risk", "likely", "commit"]
# An ARR change within this share counts as a flat renewal.
FLAT_TOLERANCE = 0.01


# Contracts shorter than this renew every month and are followed by churn risk instead of the renewal center.
RENEWAL_MIN_TERM_MONTHS = 12


def model_call(probability: float) -> str:
    """The call the model would make for a renewal probability."""
    if probability >= 0.85:
        return ForecastCall.commit
    if probability >= 0.6:
        return ForecastCall.likely
    if probability >= 0.2:
        return ForecastCall.at_risk
    return ForecastCall.lost


def disagrees(csm_call: str | None, probability: float | None) -> bool:
    """True when the CSM's call and the model's are two or more steps apart."""
    if csm_call is None or probability is None:
        return False
    return abs(CALL_ORDER.index(csm_call) - CALL_ORDER.index(model_call(probability))) >= 2


# --------------------------------------------------------------------------------------------------- reading
def _paid_on(day: dt.date) -> Any:
    return (
        Subscription.start_date <= day,
        or_(Subscription.end_date.is_(None), Subscription.end_date > day),
        Subscription.status != "trial",
    )


def _contract_arr(session: Session, contract_ids: list[str], day: dt.date) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for start in range(0, len(contract_ids), 900):
        chunk = contract_ids[start : start + 900]
        for contract_id, mrr in session.execute(
            select(Subscription.contract_id, Subscription.mrr_minor).where(
                Subscription.contract_id.in_(chunk), *_paid_on(day)
            )
        ):
            out[contract_id] += int(mrr or 0) * 12
    return dict(out)


def renewal_probabilities(session: Session, account_ids: list[int]) -> dict[int, float]:
    """P(renew) per account from the latest churn probability, where the risk scores exist."""
    out = {}
    for account_id, attrs in snapshots.latest_attributes(session, "risk", account_ids).items():
        for column in snapshots.RISK_COLUMNS:
            value = attrs.get(f"risk.{column}")
            if value is not None:
                p = float(value)
                out[account_id] = 1.0 - (p / 100.0 if p > 1.0 else p)
                break
    return out


def health_of(session: Session, account_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Latest health score and band per account, where health scores exist."""
    out = {}
    for account_id, attrs in snapshots.latest_attributes(session, "health", account_ids).items():
        score = next((attrs[f"health.{c}"] for c in snapshots.HEALTH_SCORE_COLUMNS if f"health.{c}" in attrs), None)
        band = next((attrs[f"health.{c}"] for c in snapshots.HEALTH_COLOR_COLUMNS if f"health.{c}" in attrs), None)
        out[account_id] = {"score": score, "band": band}
    return out


# --------------------------------------------------------------------------------------------------- syncing
@dataclass
class SyncReport:
    created: int = 0
    updated: int = 0
    outcomes: int = 0
    outcome_counts: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"created": self.created, "updated": self.updated, "outcomes": self.outcomes, **self.outcome_counts}


def sync_renewals(
    session: Session,
    *,
    today: dt.date,
    horizon_days: int = 180,
    lookback_days: int = 400,
    min_term_months: int = RENEWAL_MIN_TERM_MONTHS,
) -> SyncReport:
    """Bring the renewal center up to date from ``subscriptions``.

    Every (contract, renewal date) with a renewal date from ``today - lookback_days`` to ``today + horizon_days``
    on a contract of at least ``min_term_months`` (monthly contracts renew every month and are followed by churn
    risk instead) gets a :class:`Renewal` with the ARR at stake and the model's probability; renewals whose date
    has passed get their outcome from what the contract was worth on the renewal date compared with the day before.
    Idempotent: running it twice writes nothing new.
    """
    since = today - dt.timedelta(days=lookback_days)
    until = today + dt.timedelta(days=horizon_days)
    rows = session.execute(
        select(Subscription.contract_id, Subscription.account_id, Subscription.renewal_date, Subscription.currency)
        .where(
            Subscription.renewal_date >= since,
            Subscription.renewal_date <= until,
            Subscription.term_months >= min_term_months,
            Subscription.status != "trial",
        )
        .distinct()
    ).all()
    wanted: dict[tuple[str, dt.date], tuple[int, str]] = {
        (c, d): (int(a), cur) for c, a, d, cur in rows if d is not None
    }
    existing = {
        (r.contract_id, r.renewal_date): r
        for r in session.scalars(select(Renewal).where(Renewal.renewal_date >= since, Renewal.renewal_date <= until))
    }
    report = SyncReport()
    by_day: dict[dt.date, list[str]] = defaultdict(list)
    for contract_id, day in wanted:
        by_day[day - dt.timedelta(days=1)].append(contract_id)
    arr_before: dict[tuple[str, dt.date], int] = {}
    for before_day, contracts in by_day.items():
        values = _contract_arr(session, contracts, min(before_day, today))
        for c in contracts:
            arr_before[(c, before_day + dt.timedelta(days=1))] = values.get(c, 0)
    probabilities = renewal_probabilities(session, sorted({a for a, _ in wanted.values()}))
    # new renewals as plain rows, written in one statement (an ORM object each was most of a first sync)
    created: list[dict[str, Any]] = []
    for key, (account_id, currency) in sorted(wanted.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        renewal = existing.get(key)
        arr = arr_before.get(key, 0)
        p = probabilities.get(account_id)
        if renewal is None:
            if arr == 0:
                continue  # nothing paid was up for renewal (e.g. cancelled before it)
            upcoming = key[1] > today
            created.append(
                {
                    "account_id": account_id,
                    "contract_id": key[0],
                    "renewal_date": key[1],
                    "arr_minor": arr,
                    "currency": currency,
                    "model_probability": round(p, 4) if upcoming and p is not None else None,
                }
            )
            report.created += 1
            continue
        if renewal.outcome is None and renewal.renewal_date > today and arr and arr != renewal.arr_minor:
            renewal.arr_minor = arr
            report.updated += 1
        open_ahead = renewal.outcome is None and renewal.renewal_date > today
        if open_ahead and p is not None and renewal.model_probability != round(p, 4):
            renewal.model_probability = round(p, 4)
    session.flush()
    if created:
        session.execute(insert(Renewal), created)
    # outcomes of renewals whose date has passed: read and written as plain rows
    due = session.execute(
        select(Renewal.id, Renewal.contract_id, Renewal.renewal_date, Renewal.arr_minor)
        .where(Renewal.outcome.is_(None), Renewal.renewal_date <= today)
        .order_by(Renewal.id)
    ).all()
    by_date: dict[dt.date, list[Any]] = defaultdict(list)
    for r in due:
        by_date[r.renewal_date].append(r)
    counts: dict[str, int] = defaultdict(int)
    decided: list[dict[str, Any]] = []
    for day, renewals in by_date.items():
        after = _contract_arr(session, [r.contract_id for r in renewals], day)
        for r in renewals:
            outcome, value = classify_outcome(r.arr_minor, after.get(r.contract_id, 0))
            decided.append(
                {"id": r.id, "outcome": outcome, "outcome_arr_minor": value, "outcome_recorded_at": utcnow()}
            )
            counts[str(outcome)] += 1
            report.outcomes += 1
    report.outcome_counts = dict(counts)
    if decided:
        session.execute(update(Renewal), decided)
        expire_held(session, Renewal)  # renewals this session holds read their outcome
    session.flush()
    _forecasts.clear()  # a page of this process forecasts the new renewals at once
    _context_cache.clear()
    return report


def classify_outcome(arr_before: int, arr_after: int) -> tuple[str, int]:
    """Churned, downgraded, renewed (flat within 1%) or expanded, from the contract's ARR before and after."""
    if arr_after <= 0:
        return RenewalOutcome.churned, 0
    if arr_after < arr_before * (1 - FLAT_TOLERANCE):
        return RenewalOutcome.downgraded, arr_after
    if arr_after > arr_before * (1 + FLAT_TOLERANCE):
        return RenewalOutcome.expanded, arr_after
    return RenewalOutcome.renewed, arr_after


# ------------------------------------------------------------------------------------------------ the center
def set_forecast_call(session: Session, *, actor: str, renewal_id: int, call: str, note: str | None = None) -> Renewal:
    """Store the CSM's forecast call (commit / likely / at_risk / lost) for a renewal."""
    if call not in ForecastCall.__members__:
        raise InvalidInput(f"unknown forecast call {call!r}; use {', '.join(ForecastCall)}", value=call)
    renewal = session.get(Renewal, renewal_id)
    if renewal is None:
        raise NotFound(f"no renewal {renewal_id}", renewal_id=renewal_id)
    before = {"csm_call": renewal.csm_call, "csm_note": renewal.csm_note}
    renewal.csm_call = call
    renewal.csm_note = note if note is not None else renewal.csm_note
    renewal.called_by = actor
    renewal.called_at = utcnow()
    _forecasts.clear()  # the forecast counts it at once
    session.flush()
    record_audit(
        session,
        actor=actor,
        action="forecast_call",
        entity="renewal",
        entity_id=renewal.id,
        before=before,
        after={"csm_call": call, "csm_note": renewal.csm_note},
    )
    return renewal


def record_outcome(
    session: Session, *, actor: str, renewal_id: int, outcome: str, arr_minor: int | None = None
) -> Renewal:
    """Record a renewal's outcome by hand (it is otherwise read from the subscription history)."""
    if outcome not in RenewalOutcome.__members__:
        raise InvalidInput(f"unknown outcome {outcome!r}; use {', '.join(RenewalOutcome)}", value=outcome)
    renewal = session.get(Renewal, renewal_id)
    if renewal is None:
        raise NotFound(f"no renewal {renewal_id}", renewal_id=renewal_id)
    before = {"outcome": renewal.outcome, "outcome_arr_minor": renewal.outcome_arr_minor}
    renewal.outcome = outcome
    renewal.outcome_arr_minor = (
        (0 if outcome == RenewalOutcome.churned else renewal.arr_minor) if arr_minor is None else arr_minor
    )
    renewal.outcome_recorded_at = utcnow()
    _forecasts.clear()  # the forecast counts it at once
    session.flush()
    record_audit(
        session,
        actor=actor,
        action="record_outcome",
        entity="renewal",
        entity_id=renewal.id,
        before=before,
        after={"outcome": outcome, "outcome_arr_minor": renewal.outcome_arr_minor},
    )
    return renewal


def _upcoming_query(today: dt.date, horizon_days: int, owner_id: int | None) -> Any:
    stmt = (
        select(Renewal, Account.name, Account.owner_id, TeamMember.name)
        .join(Account, Account.id == Renewal.account_id)
        .outerjoin(TeamMember, TeamMember.id == Account.owner_id)
        .where(
            Renewal.outcome.is_(None),
            Renewal.renewal_date >= today,
            Renewal.renewal_date <= today + dt.timedelta(days=horizon_days),
        )
        .order_by(Renewal.renewal_date, Renewal.id)
    )
    return stmt if owner_id is None else stmt.where(Account.owner_id == owner_id)


def count_upcoming(session: Session, *, today: dt.date, horizon_days: int = 120, owner_id: int | None = None) -> int:
    """How many open renewals are due in the next ``horizon_days`` (of ``owner_id``'s accounts)."""
    return count_rows(session, _upcoming_query(today, horizon_days, owner_id))


def upcoming(
    session: Session,
    *,
    today: dt.date,
    horizon_days: int = 120,
    owner_id: int | None = None,
    limit: int | None = None,
    offset: int = 0,
    with_health: bool = True,
) -> list[dict[str, Any]]:
    """Open renewals due in the next ``horizon_days`` (``limit`` of them from ``offset``): ARR, health, risk, the
    CSM's call, the model's call and whether they disagree, and whether the customer gave notice. Soonest first."""
    rows = session.execute(_upcoming_query(today, horizon_days, owner_id).limit(limit).offset(offset)).all()
    account_ids = sorted({r.account_id for r, *_ in rows})
    health = health_of(session, account_ids) if with_health else {}
    noticed = _notice_given(session, [r.contract_id for r, *_ in rows], today) if with_health else set()
    out = []
    for renewal, name, owner, owner_name in rows:
        p = renewal.model_probability
        out.append(
            {
                "renewal_id": renewal.id,
                "account_id": renewal.account_id,
                "account_name": name,
                "owner_id": owner,
                "owner_name": owner_name,
                "contract_id": renewal.contract_id,
                "renewal_date": renewal.renewal_date,
                "days_left": (renewal.renewal_date - today).days,
                "arr_minor": renewal.arr_minor,
                "currency": renewal.currency,
                "health_score": health.get(renewal.account_id, {}).get("score"),
                "health_band": health.get(renewal.account_id, {}).get("band"),
                "churn_probability": None if p is None else round(1 - p, 4),
                "model_probability": p,
                "model_call": None if p is None else model_call(p),
                "csm_call": renewal.csm_call,
                "csm_note": renewal.csm_note,
                "called_by": renewal.called_by,
                "called_at": renewal.called_at,
                "notice_given": renewal.contract_id in noticed,
                "disagreement": disagrees(renewal.csm_call, p),
            }
        )
    return out


def _notice_given(session: Session, contract_ids: list[str], today: dt.date) -> set[str]:
    """Contracts (of ``contract_ids``) whose live line is cancelled: the customer gave notice, the contract ends at
    its renewal date."""
    stmt = select(Subscription.contract_id).where(Subscription.status == "cancelled", *_paid_on(today)[:2])
    out: set[str] = set()
    for start in range(0, len(contract_ids), 900):
        out.update(session.scalars(stmt.where(Subscription.contract_id.in_(contract_ids[start : start + 900]))))
    return out


def renewal_forecast(
    session: Session, *, today: dt.date, horizon_days: int = 120, owner_id: int | None = None
) -> dict[str, Any]:
    """Renewing ARR over the horizon, as the model sees it and as the CSMs call it. Money in minor units.

    * up for renewal: the ARR of every open renewal due in the horizon;
    * gross renewal forecast: the ARR expected to renew, no expansion counted -- model: ARR x P(renew); CSM: the
      calls as probabilities (:data:`CALL_PROBABILITY`), an uncalled renewal at the model's probability (else
      'likely' when there is none either); a contract whose customer gave notice counts as lost unless called;
    * net renewal forecast: gross plus the open upsell / cross-sell pipeline of those accounts, at the same
      probability (an account that does not renew does not expand);
    * per call, and the renewals where the CSM and the model disagree.
    """
    return _forecasts.get(
        session,
        (today, horizon_days, owner_id),
        lambda: _forecast(session, today=today, horizon_days=horizon_days, owner_id=owner_id),
    )


#: the forecasts per (day, horizon, CSM): summed over every open renewal (6,300 on the 50,000-account demo's
#: 120 days), kept a minute and emptied by a call or an outcome recorded in this process (with several server
#: processes, another one's page follows within the minute)
_forecasts: TtlCache[dict[str, Any]] = TtlCache(ttl=60.0, size=64)


def _forecast(session: Session, *, today: dt.date, horizon_days: int, owner_id: int | None) -> dict[str, Any]:
    rows = _forecast_rows(session, today=today, horizon_days=horizon_days, owner_id=owner_id)
    currencies = sorted({r["currency"] for r in rows}) or ["JPY"]
    total = sum(r["arr_minor"] for r in rows)
    default = CALL_PROBABILITY["likely"]
    # an account's pipeline is counted once, with its first renewal in the horizon
    pipeline_of: dict[int, int] = {}
    counted: set[int] = set()
    for r in rows:
        pipeline_of[r["renewal_id"]] = 0
        if r["pipeline_arr_minor"] and r["account_id"] not in counted:
            counted.add(r["account_id"])
            pipeline_of[r["renewal_id"]] = r["pipeline_arr_minor"]
    model_gross = model_net = csm_gross = csm_net = 0.0
    by_call: dict[str, dict[str, int]] = {c: {"renewals": 0, "arr_minor": 0} for c in [*CALL_ORDER[::-1], "uncalled"]}
    for r in rows:
        p_model = r["model_probability"] if r["model_probability"] is not None else default
        if r["notice_given"]:
            p_model = 0.0  # the customer gave notice: the contract ends on its renewal date
        call = r["csm_call"]
        p_csm = CALL_PROBABILITY[call] if call else p_model
        grown = pipeline_of.get(r["renewal_id"], 0)
        model_gross += r["arr_minor"] * p_model
        model_net += (r["arr_minor"] + grown) * p_model
        csm_gross += r["arr_minor"] * p_csm
        csm_net += (r["arr_minor"] + grown) * p_csm
        bucket = by_call[call or "uncalled"]
        bucket["renewals"] += 1
        bucket["arr_minor"] += r["arr_minor"]
    return {
        "as_of": today,
        "horizon_days": horizon_days,
        "currency": currencies[0] if len(currencies) == 1 else "mixed",
        "renewals": len(rows),
        "arr_up_for_renewal_minor": total,
        "expansion_pipeline_arr_minor": sum(pipeline_of.values()),
        "model_weighted_arr_minor": round(model_gross),
        "csm_weighted_arr_minor": round(csm_gross),
        "model_net_arr_minor": round(model_net),
        "csm_net_arr_minor": round(csm_net),
        "model_gross_rate": model_gross / total if total else None,
        "model_net_rate": model_net / total if total else None,
        "csm_gross_rate": csm_gross / total if total else None,
        "csm_net_rate": csm_net / total if total else None,
        "with_model_call": sum(r["model_probability"] is not None for r in rows),
        "called": sum(r["csm_call"] is not None for r in rows),
        "by_call": by_call,
        "disagreements": _disagreements(session, [r for r in rows if r["disagreement"]], today),
    }


# Per open renewal, what the forecast reads from other tables (notice given, the account's open expansion):
# subscriptions and opportunities move with imports, billing syncs and refreshes, not with a CSM's call, and
# reading them for the 6,300 renewals of the 50,000-account demo's horizon took most of a page's 500 ms.
_context_cache: TtlCache[dict[int, tuple[bool, int]]] = TtlCache(ttl=60.0, size=32)


def _context_query(today: dt.date) -> Any:
    """Renewal id, whether its customer gave notice and its account's open expansion pipeline (MRR), of the
    renewals the caller's ``where`` picks."""
    from kizuna.funnel.models import Opportunity, OpportunityKind, OpportunityStage

    noticed = (
        select(Subscription.id)
        .where(
            Subscription.contract_id == Renewal.contract_id, Subscription.status == "cancelled", *_paid_on(today)[:2]
        )
        .exists()
    )
    # per renewal, its account's open expansion: a few rows through the account index (grouping all 200,000
    # opportunities of the 50,000-account demo by account first cost 60 ms)
    pipeline = (
        select(func.sum(Opportunity.amount_minor))
        .where(
            Opportunity.account_id == Renewal.account_id,
            Opportunity.stage == OpportunityStage.open,
            Opportunity.kind.in_((OpportunityKind.upsell, OpportunityKind.cross_sell)),
        )
        .scalar_subquery()
    )
    return select(Renewal.id, noticed.label("noticed"), pipeline.label("pipeline"))


def _renewal_context(
    session: Session, *, today: dt.date, horizon_days: int, owner_id: int | None, renewal_ids: list[int]
) -> dict[int, tuple[bool, int]]:
    """Notice given and open expansion pipeline (MRR) of each of ``renewal_ids`` (the open renewals in the
    horizon): kept a minute per horizon and CSM; a renewal opened since is read on its own."""

    def read() -> dict[int, tuple[bool, int]]:
        stmt = _context_query(today).where(
            Renewal.outcome.is_(None),
            Renewal.renewal_date >= today,
            Renewal.renewal_date <= today + dt.timedelta(days=horizon_days),
        )
        if owner_id is not None:
            stmt = stmt.join(Account, Account.id == Renewal.account_id).where(Account.owner_id == owner_id)
        return {rid: (bool(notice), int(mrr or 0)) for rid, notice, mrr in session.execute(stmt)}

    known = _context_cache.get(session, (today, horizon_days, owner_id), read)
    missing = [rid for rid in renewal_ids if rid not in known]
    if not missing:
        return known
    out = dict(known)
    for start in range(0, len(missing), 900):
        stmt = _context_query(today).where(Renewal.id.in_(missing[start : start + 900]))
        out.update({rid: (bool(notice), int(mrr or 0)) for rid, notice, mrr in session.execute(stmt)})
    return out


def _forecast_rows(
    session: Session, *, today: dt.date, horizon_days: int, owner_id: int | None
) -> list[dict[str, Any]]:
    """The few columns of every open renewal in the horizon the forecast sums (plain rows: thousands of them), read
    now (a CSM's call counts at once), with whether its customer gave notice and its account's open expansion
    pipeline (ARR) from :func:`_renewal_context`."""
    stmt = (
        select(
            Renewal.id,
            Renewal.account_id,
            Renewal.contract_id,
            Renewal.arr_minor,
            Renewal.currency,
            Renewal.model_probability,
            Renewal.csm_call,
        )
        .where(
            Renewal.outcome.is_(None),
            Renewal.renewal_date >= today,
            Renewal.renewal_date <= today + dt.timedelta(days=horizon_days),
        )
        .order_by(Renewal.renewal_date, Renewal.id)
    )
    if owner_id is not None:
        stmt = stmt.join(Account, Account.id == Renewal.account_id).where(Account.owner_id == owner_id)
    rows = session.execute(stmt).all()
    context = _renewal_context(
        session, today=today, horizon_days=horizon_days, owner_id=owner_id, renewal_ids=[r[0] for r in rows]
    )
    out = []
    for rid, account_id, contract_id, arr, currency, p, call in rows:
        notice, pipeline_mrr = context.get(rid, (False, 0))
        out.append(
            {
                "renewal_id": rid,
                "account_id": account_id,
                "contract_id": contract_id,
                "arr_minor": arr,
                "currency": currency,
                "model_probability": p,
                "csm_call": call,
                "disagreement": disagrees(call, p),
                "notice_given": notice,
                "pipeline_arr_minor": pipeline_mrr * 12,
            }
        )
    return out


def _disagreements(session: Session, rows: list[dict[str, Any]], today: dt.date) -> list[dict[str, Any]]:
    """The renewals where the CSM and the model disagree, as full rows of :func:`upcoming`."""
    wanted = {r["renewal_id"] for r in rows}
    if not wanted:
        return []
    ids = sorted(wanted)
    found: list[Any] = []
    for start in range(0, len(ids), 900):
        stmt = _upcoming_query(today, 10**5, None).where(Renewal.id.in_(ids[start : start + 900]))
        found += session.execute(stmt).all()
    found.sort(key=lambda row: (row[0].renewal_date, row[0].id))
    out = []
    for renewal, name, owner, owner_name in found:
        p = renewal.model_probability
        out.append(
            {
                "renewal_id": renewal.id,
                "account_id": renewal.account_id,
                "account_name": name,
                "owner_id": owner,
                "owner_name": owner_name,
                "renewal_date": renewal.renewal_date,
                "days_left": (renewal.renewal_date - today).days,
                "arr_minor": renewal.arr_minor,
                "currency": renewal.currency,
                "model_probability": p,
                "model_call": None if p is None else model_call(p),
                "csm_call": renewal.csm_call,
                "disagreement": True,
            }
        )
    return out


def recent_outcomes(session: Session, *, today: dt.date, days: int = 90, limit: int = 20) -> list[dict[str, Any]]:
    """The latest decided renewals (renewal date in the last ``days`` days or recorded early): the call made, the
    model's probability and what happened."""
    rows = session.execute(
        select(Renewal, Account.name)
        .join(Account, Account.id == Renewal.account_id)
        .where(Renewal.outcome.is_not(None), Renewal.renewal_date >= today - dt.timedelta(days=days))
        .order_by(Renewal.renewal_date.desc(), Renewal.id.desc())
        .limit(limit)
    ).all()
    return [
        {
            "renewal_id": r.id,
            "account_id": r.account_id,
            "account_name": name,
            "renewal_date": r.renewal_date,
            "arr_minor": r.arr_minor,
            "outcome_arr_minor": r.outcome_arr_minor,
            "currency": r.currency,
            "outcome": r.outcome,
            "csm_call": r.csm_call,
            "model_call": None if r.model_probability is None else model_call(r.model_probability),
        }
        for r, name in rows
    ]


def outcomes(session: Session, *, since: dt.date, until: dt.date) -> dict[str, Any]:
    """Renewals decided in ``[since, until]``: counts and ARR by outcome, gross and net renewal rates (ARR),
    and how well the CSM calls and the model's probability foresaw them. Summed by the database, one row per
    outcome (13,000 decided renewals a year on the 50,000-account demo)."""
    after = func.coalesce(Renewal.outcome_arr_minor, 0)
    renewed = case((Renewal.outcome == RenewalOutcome.churned, 0.0), else_=1.0)
    called_right = case(
        (Renewal.csm_call.is_(None), 0),
        ((Renewal.csm_call.in_(("commit", "likely"))) == (Renewal.outcome != RenewalOutcome.churned), 1),
        else_=0,
    )
    p = Renewal.model_probability
    rows = session.execute(
        select(
            Renewal.outcome,
            func.count(),
            func.sum(Renewal.arr_minor),
            func.sum(after),
            func.sum(case((Renewal.arr_minor < after, Renewal.arr_minor), else_=after)),
            func.count(Renewal.csm_call),
            func.sum(called_right),
            func.count(p),
            func.sum(case((p.is_(None), 0.0), else_=(p - renewed) * (p - renewed))),
        )
        .where(Renewal.outcome.is_not(None), Renewal.renewal_date >= since, Renewal.renewal_date <= until)
        .group_by(Renewal.outcome)
    ).all()
    by_outcome: dict[str, dict[str, int]] = {
        o: {"renewals": 0, "arr_minor": 0, "outcome_arr_minor": 0} for o in RenewalOutcome
    }
    up = kept = after_total = called = right = modelled = 0
    squared = 0.0
    for outcome, n, arr, arr_after, arr_kept, n_called, n_right, n_modelled, sq in rows:
        by_outcome[str(outcome)] = {"renewals": n, "arr_minor": int(arr or 0), "outcome_arr_minor": int(arr_after or 0)}
        up += int(arr or 0)
        kept += int(arr_kept or 0)
        after_total += int(arr_after or 0)
        called += n_called
        right += int(n_right or 0)
        modelled += n_modelled
        squared += float(sq or 0.0)
    return {
        "renewals": sum(b["renewals"] for b in by_outcome.values()),
        "by_outcome": by_outcome,
        "gross_renewal_rate": kept / up if up else None,
        "net_renewal_rate": after_total / up if up else None,
        "csm_call_accuracy": right / called if called else None,
        "model_brier_score": squared / modelled if modelled else None,
    }
