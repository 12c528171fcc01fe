"""The CSM's cockpit (``/me``): a morning start over one book of business, read from the stored results of
``kizuna refresh`` (risk scores) and the app database.

Today's work is ranked by what is at stake: ``stake = churn risk × ARR × urgency``, where the risk is the account's
newest churn probability (100 % once notice is given; the model's base rate for an account it did not score), the ARR
is the account's current MRR × 12 and the urgency is 1 on or after the due date and halves with every week before it
(an undated task counts as due in 30 days). A task with no account has nothing at stake and comes after the others.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kizuna.accounts import service as accounts
from kizuna.accounts.models import Account, TeamMember, TeamRole
from kizuna.billing.models import Subscription
from kizuna.billing.service import paid_lines_on
from kizuna.customer360.words import is_context
from kizuna.onboarding.models import OnboardingMilestone
from kizuna.platform.cache import TtlCache
from kizuna.risk.models import RiskModel, RiskScore
from kizuna.tasks.models import Task, TaskStatus

#: how many tasks the cockpit shows, the rest being one click away on /tasks
TOP_TASKS = 15
TOP_AT_RISK = 10
TOP_RENEWALS = 10
#: open tasks ranked at most (a day's work is a few dozen; the playbooks throttle what they open)
MAX_RANKED = 2000
UNDATED_DUE_IN_DAYS = 30
URGENCY_HALF_LIFE_DAYS = 7
#: the band the model gives an account worth a CSM's attention today
AT_RISK_BANDS = ("high",)
PRIORITY_RANK = {"urgent": 0, "high": 1, "normal": 2, "low": 3}
DEFAULT_BASE_RATE = 0.05


@dataclasses.dataclass(frozen=True)
class Risk:
    """An account's newest churn risk: probability (0-1), band, its strongest driver (``{feature, value,
    contribution}``, None when no driver raises the risk) and whether notice was given."""

    probability: float
    band: str | None = None
    drivers: tuple[dict[str, Any], ...] = ()
    notice_given: bool = False

    @property
    def top_driver(self) -> dict[str, Any] | None:
        """The strongest driver raising the risk that the CSM can act on, else the strongest raising one."""
        raising = [d for d in self.drivers if float(d.get("contribution") or 0) > 0]
        actionable = [d for d in raising if not is_context(d)]
        chosen = actionable or raising
        return chosen[0] if chosen else None


@dataclasses.dataclass(frozen=True)
class RankedTask:
    task: Task
    account_name: str | None
    arr_minor: int
    currency: str
    risk: Risk | None
    urgency: float
    stake_minor: float


@dataclasses.dataclass(frozen=True)
class AtRiskAccount:
    account_id: int
    name: str
    risk: Risk
    arr_minor: int
    currency: str
    next_renewal: dt.date | None
    open_tasks: int


@dataclasses.dataclass(frozen=True)
class OnboardingBehind:
    account_id: int
    name: str
    milestone: str  # the earliest overdue milestone's kind
    due_on: dt.date
    days_late: int
    overdue: int  # how many milestones are overdue
    done: int
    planned: int


@dataclasses.dataclass(frozen=True)
class BookOfBusiness:
    """One CSM's book, for the chooser a manager sees."""

    team_member_id: int
    name: str
    accounts: int
    arr_minor: int
    open_tasks: int
    overdue_tasks: int
    at_risk: int


@dataclasses.dataclass
class Cockpit:
    owner: TeamMember | None
    today: dt.date
    tasks: list[RankedTask] = dataclasses.field(default_factory=list)
    open_tasks: int = 0
    at_risk: list[AtRiskAccount] = dataclasses.field(default_factory=list)
    renewals: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    renewal_count: int = 0
    renewing_arr_minor: int = 0
    onboarding: list[OnboardingBehind] = dataclasses.field(default_factory=list)
    books: list[BookOfBusiness] = dataclasses.field(default_factory=list)
    risk_as_of: dt.date | None = None


def _pairs(session: Session, stmt: Any) -> dict[Any, Any]:
    """The first two columns of a query as a dict (a key and its figure)."""
    return {row[0]: row[1] for row in session.execute(stmt)}


def urgency(due_on: dt.date | None, *, today: dt.date) -> float:
    """1 on or after the due date, halving with every week before it; an undated task counts as due in 30 days."""
    days = UNDATED_DUE_IN_DAYS if due_on is None else (due_on - today).days
    return 1.0 if days <= 0 else 0.5 ** (days / URGENCY_HALF_LIFE_DAYS)


def latest_risk_day(session: Session) -> dt.date | None:
    """The newest day the churn model scored accounts on."""
    day: dt.date | None = session.scalar(select(func.max(RiskScore.as_of)))
    return day


def risks_of(session: Session, account_ids: Sequence[int], *, today: dt.date, day: dt.date | None) -> dict[int, Risk]:
    """Each account's churn risk on the newest scored day; accounts that gave notice (a contract line in force is
    cancelled) are at 100 %, whatever the model says (the model scores only accounts still deciding)."""
    if not account_ids:
        return {}
    risks: dict[int, Risk] = {}
    if day is not None:
        rows = session.execute(
            select(RiskScore.account_id, RiskScore.probability, RiskScore.band, RiskScore.drivers).where(
                RiskScore.as_of == day, RiskScore.account_id.in_(account_ids)
            )
        )
        for account_id, probability, band, drivers in rows:
            found = tuple(d for d in drivers or () if isinstance(d, dict))
            notice = any(d.get("kind") == "notice" or d.get("feature") == "notice_given" for d in found)
            risks[int(account_id)] = Risk(probability=float(probability), band=band, drivers=found, notice_given=notice)
    noticed = session.scalars(
        select(Subscription.account_id)
        .where(paid_lines_on(today), Subscription.status == "cancelled", Subscription.account_id.in_(account_ids))
        .distinct()
    )
    for account_id in noticed:
        risks[int(account_id)] = Risk(probability=1.0, band="high", notice_given=True)
    return risks


def base_rate(session: Session) -> float:
    """The active churn model's base rate: the risk of an account it did not score."""
    rate = session.scalar(select(RiskModel.base_rate).where(RiskModel.active.is_(True)).order_by(RiskModel.id.desc()))
    return float(rate) if rate is not None else DEFAULT_BASE_RATE


def rank_tasks(session: Session, tasks: Sequence[Task], *, today: dt.date) -> list[RankedTask]:
    """Tasks by what is at stake (largest first), then due date and priority."""
    account_ids = sorted({t.account_id for t in tasks if t.account_id is not None})
    names = (
        {int(i): n for i, n in session.execute(select(Account.id, Account.name).where(Account.id.in_(account_ids)))}
        if account_ids
        else {}
    )
    mrr = accounts.current_mrr(session, account_ids, on=today)
    risks = risks_of(session, account_ids, today=today, day=latest_risk_day(session))
    fallback = base_rate(session)
    ranked = []
    for t in tasks:
        arr = 12 * mrr.get(t.account_id, 0) if t.account_id is not None else 0
        risk = risks.get(t.account_id) if t.account_id is not None else None
        u = urgency(t.due_on, today=today)
        probability = risk.probability if risk is not None else fallback
        ranked.append(
            RankedTask(
                task=t,
                account_name=names.get(t.account_id) if t.account_id is not None else None,
                arr_minor=arr,
                currency="JPY",
                risk=risk,
                urgency=u,
                stake_minor=probability * arr * u,
            )
        )
    ranked.sort(
        key=lambda r: (-r.stake_minor, r.task.due_on or dt.date.max, PRIORITY_RANK.get(r.task.priority, 9), r.task.id)
    )
    return ranked


def at_risk_accounts(
    session: Session, *, owner_id: int, today: dt.date, limit: int = TOP_AT_RISK
) -> tuple[list[AtRiskAccount], dt.date | None]:
    """The owner's accounts the model puts in the high band, or that gave notice, riskiest ARR first."""
    day = latest_risk_day(session)
    book = list(session.scalars(select(Account.id).where(Account.owner_id == owner_id)))
    risks = risks_of(session, book, today=today, day=day)
    chosen = [a for a, r in risks.items() if r.notice_given or r.band in AT_RISK_BANDS]
    mrr = accounts.current_mrr(session, chosen, on=today)
    chosen.sort(key=lambda a: (-risks[a].probability * mrr.get(a, 0), a))
    chosen = chosen[:limit]
    if not chosen:
        return [], day
    names = _pairs(session, select(Account.id, Account.name).where(Account.id.in_(chosen)))
    renewals = accounts.next_renewals(session, chosen, on=today)
    open_tasks = _pairs(
        session,
        (
            select(Task.account_id, func.count(Task.id))
            .where(Task.account_id.in_(chosen), Task.status == TaskStatus.open)
            .group_by(Task.account_id)
        ),
    )
    return [
        AtRiskAccount(
            account_id=a,
            name=names[a],
            risk=risks[a],
            arr_minor=12 * mrr.get(a, 0),
            currency="JPY",
            next_renewal=renewals.get(a),
            open_tasks=int(open_tasks.get(a, 0)),
        )
        for a in chosen
    ], day


def onboarding_behind(session: Session, *, owner_id: int, today: dt.date, limit: int = 20) -> list[OnboardingBehind]:
    """The owner's accounts still onboarding with a milestone past its due date and not done, longest late first
    (an account in adoption that skipped its feedback call two years ago is not behind plan today)."""
    rows = session.execute(
        select(
            OnboardingMilestone.account_id,
            OnboardingMilestone.kind,
            OnboardingMilestone.due_on,
            OnboardingMilestone.completed_at,
        )
        .join(Account, Account.id == OnboardingMilestone.account_id)
        .where(Account.owner_id == owner_id, Account.lifecycle_stage == "onboarding")
        .order_by(OnboardingMilestone.account_id, OnboardingMilestone.due_on)
    ).all()
    plans: dict[int, list[Any]] = {}
    for row in rows:
        plans.setdefault(int(row.account_id), []).append(row)
    behind = []
    for account_id, milestones in plans.items():
        late = [m for m in milestones if m.completed_at is None and m.due_on < today]
        if not late:
            continue
        first = late[0]
        behind.append(
            (
                account_id,
                first.kind,
                first.due_on,
                len(late),
                sum(1 for m in milestones if m.completed_at is not None),
                len(milestones),
            )
        )
    behind.sort(key=lambda b: (b[2], b[0]))
    behind = behind[:limit]
    names = (
        _pairs(session, select(Account.id, Account.name).where(Account.id.in_([b[0] for b in behind])))
        if behind
        else {}
    )
    return [
        OnboardingBehind(
            account_id=a,
            name=names[a],
            milestone=kind,
            due_on=due,
            days_late=(today - due).days,
            overdue=overdue,
            done=done,
            planned=planned,
        )
        for a, kind, due, overdue, done, planned in behind
    ]


#: per day: accounts, MRR and accounts at risk per CSM (150 ms over the 50,000-account demo's portfolio)
_portfolio_books: TtlCache[tuple[dict[Any, Any], dict[Any, Any], dict[Any, int]]] = TtlCache(ttl=60.0, size=8)


def _books_portfolio(session: Session, *, today: dt.date) -> tuple[dict[Any, Any], dict[Any, Any], dict[Any, int]]:
    """Per CSM: live accounts, MRR of paid lines, and accounts at risk (the model's high band or notice given)."""
    counts = _pairs(
        session,
        (
            select(Account.owner_id, func.count(Account.id))
            .where(Account.owner_id.is_not(None), Account.lifecycle_stage != "churned")
            .group_by(Account.owner_id)
        ),
    )
    mrr = _pairs(
        session,
        (
            select(Account.owner_id, func.sum(Subscription.mrr_minor))
            .join(Subscription, Subscription.account_id == Account.id)
            .where(Account.owner_id.is_not(None), paid_lines_on(today))
            .group_by(Account.owner_id)
        ),
    )
    day = latest_risk_day(session)
    # at risk as the cockpit counts it: the model's high band, or notice given
    risky: dict[Any, set[int]] = {}
    noticed = (
        select(Account.owner_id, Subscription.account_id)
        .join(Subscription, Subscription.account_id == Account.id)
        .where(Account.owner_id.is_not(None), paid_lines_on(today), Subscription.status == "cancelled")
        .distinct()
    )
    queries = [noticed]
    if day is not None:
        queries.append(
            select(Account.owner_id, RiskScore.account_id)
            .join(Account, Account.id == RiskScore.account_id)
            .where(RiskScore.as_of == day, RiskScore.band.in_(AT_RISK_BANDS), Account.owner_id.is_not(None))
        )
    for query in queries:
        for owner_id, account_id in session.execute(query):
            risky.setdefault(owner_id, set()).add(int(account_id))
    at_risk = {owner_id: len(ids) for owner_id, ids in risky.items()}
    return counts, mrr, at_risk


def books_of_business(session: Session, *, today: dt.date) -> list[BookOfBusiness]:
    """Every active CSM's book (accounts, ARR, open and overdue tasks, accounts at risk), largest ARR first: what a
    manager chooses a cockpit from. A handful of grouped queries, whatever the team's size; the accounts, ARR and
    risk of the books (grouped over the whole portfolio) are kept a minute, the tasks are read live."""
    members = session.execute(
        select(TeamMember.id, TeamMember.name).where(TeamMember.active.is_(True), TeamMember.role == TeamRole.csm)
    ).all()
    counts, mrr, at_risk = _portfolio_books.get(session, today, lambda: _books_portfolio(session, today=today))
    open_tasks = _pairs(
        session,
        (
            select(Task.owner_id, func.count(Task.id))
            .where(Task.owner_id.is_not(None), Task.status == TaskStatus.open)
            .group_by(Task.owner_id)
        ),
    )
    overdue = _pairs(
        session,
        (
            select(Task.owner_id, func.count(Task.id))
            .where(Task.owner_id.is_not(None), Task.status == TaskStatus.open, Task.due_on < today)
            .group_by(Task.owner_id)
        ),
    )
    books = [
        BookOfBusiness(
            team_member_id=int(i),
            name=name,
            accounts=int(counts.get(i, 0)),
            arr_minor=12 * int(mrr.get(i) or 0),
            open_tasks=int(open_tasks.get(i, 0)),
            overdue_tasks=int(overdue.get(i, 0)),
            at_risk=int(at_risk.get(i, 0)),
        )
        for i, name in members
    ]
    books.sort(key=lambda b: (-b.arr_minor, b.name))
    return books


def my_cockpit(session: Session, *, team_member_id: int | None, today: dt.date, horizon_days: int = 90) -> Cockpit:
    """A CSM's morning: today's work by what is at stake, their accounts at risk with the reason, renewals within
    ``horizon_days`` and onboarding behind plan. Without a team member: every CSM's book to choose from."""
    owner = session.get(TeamMember, team_member_id) if team_member_id else None
    if owner is None:
        return Cockpit(owner=None, today=today, books=books_of_business(session, today=today))
    mine = (Task.owner_id == owner.id, Task.status == TaskStatus.open)
    open_tasks = list(session.scalars(select(Task).where(*mine).limit(MAX_RANKED)))
    open_count = int(session.scalar(select(func.count(Task.id)).where(*mine)) or 0)
    at_risk, day = at_risk_accounts(session, owner_id=owner.id, today=today)
    renewing = accounts.upcoming_renewals(session, today=today, horizon_days=horizon_days, owner_id=owner.id)
    renewing_arr = 12 * sum(r["mrr_minor"] for r in renewing.items)  # one book's renewals fit on a page of 500
    renewal_count = renewing.total
    renewals = renewing.items[:TOP_RENEWALS]
    risks = risks_of(session, [r["account_id"] for r in renewals], today=today, day=day)
    for r in renewals:
        r["risk"] = risks.get(r["account_id"])
    return Cockpit(
        owner=owner,
        today=today,
        tasks=rank_tasks(session, open_tasks, today=today)[:TOP_TASKS],
        open_tasks=open_count,
        at_risk=at_risk,
        renewals=renewals,
        renewal_count=renewal_count,
        renewing_arr_minor=renewing_arr,
        onboarding=onboarding_behind(session, owner_id=owner.id, today=today),
        risk_as_of=day,
    )
