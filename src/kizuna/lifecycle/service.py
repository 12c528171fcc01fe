"""Lifecycle stages with history, onboarding plans (templates -> milestones per account) and success plans.

Stage changes go through :func:`set_lifecycle_stage`, the one writer of
``lifecycle_changes`` (playbook actions use it too). Milestones live in the hub's ``onboarding_milestones`` table,
so imported and demo milestones and the ones started here are tracked alike.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kizuna.accounts.models import Account, LifecycleStage
from kizuna.audit.service import record_audit
from kizuna.billing.models import Subscription
from kizuna.db import utcnow
from kizuna.errors import Conflict, InvalidInput, NotFound
from kizuna.lifecycle.models import GoalStatus, LifecycleChange, OnboardingTemplate, SuccessGoal
from kizuna.onboarding.models import MilestoneKind, OnboardingMilestone
from kizuna.platform.paging import Page, Paging, page_of

# The default plan: kickoff in the first week, set-up (the first value moment, where time-to-value ends) in three,
# training within a month, the milestone agreement with the customer at six weeks and feedback at two months.
DEFAULT_TEMPLATE_KEY = "standard"
DEFAULT_MILESTONES: list[dict[str, Any]] = [
    {"kind": "kickoff", "due_after_days": 7, "owner": "csm", "is_key": False},
    {"kind": "initial_setup", "due_after_days": 21, "owner": "csm", "is_key": True},
    {"kind": "training", "due_after_days": 30, "owner": "csm", "is_key": False},
    {"kind": "milestone_agreement", "due_after_days": 45, "owner": "csm", "is_key": False},
    {"kind": "feedback", "due_after_days": 60, "owner": "csm", "is_key": False},
]


def set_lifecycle_stage(
    session: Session,
    *,
    actor: str,
    account_id: int,
    stage: str,
    reason: str | None = None,
    at: dt.datetime | None = None,
) -> LifecycleChange | None:
    """Change an account's lifecycle stage and record it in ``lifecycle_changes``; None if it already was."""
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound(f"no account {account_id}", account_id=account_id)
    if account.lifecycle_stage == stage:
        return None
    change = LifecycleChange(
        account_id=account_id,
        from_stage=account.lifecycle_stage,
        to_stage=stage,
        changed_at=at or utcnow(),
        actor=actor,
        reason=reason,
    )
    session.add(change)
    record_audit(
        session,
        actor=actor,
        action="set_lifecycle_stage",
        entity="account",
        entity_id=account_id,
        before={"lifecycle_stage": account.lifecycle_stage},
        after={"lifecycle_stage": stage},
    )
    account.lifecycle_stage = stage
    session.flush()
    return change


def _account(session: Session, account_id: int) -> Account:
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound(f"no account {account_id}", account_id=account_id)
    return account


# -------------------------------------------------------------------------------------------------- lifecycle
def change_stage(
    session: Session, *, actor: str, account_id: int, stage: str, reason: str | None = None
) -> LifecycleChange | None:
    """Move an account to ``stage`` (onboarding, adoption, expansion, renewal, at_risk, churned); None if it is
    there already. The change is a ``lifecycle_changes`` row and an audit row."""
    if stage not in LifecycleStage.__members__:
        raise InvalidInput(f"unknown lifecycle stage {stage!r}; use {', '.join(LifecycleStage)}", value=stage)
    _account(session, account_id)
    return set_lifecycle_stage(session, actor=actor, account_id=account_id, stage=stage, reason=reason)


def stage_history(session: Session, *, account_id: int) -> list[LifecycleChange]:
    _account(session, account_id)
    return list(
        session.scalars(
            select(LifecycleChange)
            .where(LifecycleChange.account_id == account_id)
            .order_by(LifecycleChange.changed_at, LifecycleChange.id)
        )
    )


# ------------------------------------------------------------------------------------------------ onboarding
def _check_milestones(milestones: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not milestones:
        raise InvalidInput("an onboarding template needs at least one milestone")
    seen: set[str] = set()
    out = []
    for i, m in enumerate(milestones):
        kind = str(m.get("kind", ""))
        if kind not in MilestoneKind.__members__:
            raise InvalidInput(f"milestone {i + 1}: unknown kind {kind!r}; use {', '.join(MilestoneKind)}", value=kind)
        if kind in seen:
            raise InvalidInput(f"milestone {i + 1}: {kind} twice", value=kind)
        seen.add(kind)
        days = int(m.get("due_after_days", -1))
        if days < 0:
            raise InvalidInput(f"milestone {i + 1} ({kind}): due_after_days must be >= 0", value=days)
        owner = m.get("owner", "csm")
        if owner not in ("csm", "none"):
            raise InvalidInput(f"milestone {i + 1} ({kind}): owner is csm or none", value=owner)
        out.append({"kind": kind, "due_after_days": days, "owner": owner, "is_key": bool(m.get("is_key", False))})
    if sum(m["is_key"] for m in out) > 1:
        raise InvalidInput("only one milestone can be the key (time-to-value) milestone")
    return out


def create_template(
    session: Session,
    *,
    actor: str,
    key: str,
    name: str,
    milestones: list[dict[str, Any]],
    touch_tier: str | None = None,
) -> OnboardingTemplate:
    """Save an onboarding plan template; ``touch_tier`` makes it the default for that tier."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]{0,99}", key):
        raise InvalidInput(f"template key {key!r}: use lower-case letters, digits, '-', '_' or '.'", value=key)
    if session.scalar(select(OnboardingTemplate.id).where(OnboardingTemplate.key == key)) is not None:
        raise Conflict(f"onboarding template {key!r} already exists", key=key)
    if touch_tier not in (None, "high", "low", "tech"):
        raise InvalidInput(f"unknown touch tier {touch_tier!r}", value=touch_tier)
    template = OnboardingTemplate(
        key=key, name=name, touch_tier=touch_tier, milestones=_check_milestones(milestones), created_by=actor
    )
    session.add(template)
    session.flush()
    record_audit(
        session,
        actor=actor,
        action="create",
        entity="onboarding_template",
        entity_id=template.id,
        after={"key": key, "milestones": template.milestones, "touch_tier": touch_tier},
    )
    return template


def ensure_default_template(session: Session, *, actor: str = "system") -> OnboardingTemplate:
    template = session.scalar(select(OnboardingTemplate).where(OnboardingTemplate.key == DEFAULT_TEMPLATE_KEY))
    if template is None:
        template = create_template(
            session, actor=actor, key=DEFAULT_TEMPLATE_KEY, name="Standard onboarding", milestones=DEFAULT_MILESTONES
        )
    return template


def list_templates(session: Session) -> list[OnboardingTemplate]:
    return list(session.scalars(select(OnboardingTemplate).order_by(OnboardingTemplate.key)))


def template_for(session: Session, account: Account, key: str | None = None) -> OnboardingTemplate:
    """The named template, else the one for the account's tier, else the standard one."""
    if key is not None:
        template = session.scalar(select(OnboardingTemplate).where(OnboardingTemplate.key == key))
        if template is None:
            raise NotFound(f"no onboarding template {key!r}", key=key)
        return template
    if account.touch_tier:
        template = session.scalar(
            select(OnboardingTemplate)
            .where(OnboardingTemplate.touch_tier == account.touch_tier)
            .order_by(OnboardingTemplate.id.desc())
            .limit(1)
        )
        if template is not None:
            return template
    return ensure_default_template(session)


def start_onboarding(
    session: Session,
    *,
    actor: str,
    account_id: int,
    template_key: str | None = None,
    start_on: dt.date | None = None,
    owner_id: int | None = None,
) -> list[OnboardingMilestone]:
    """Instantiate an onboarding plan for an account: one milestone per template step, due ``due_after_days`` after
    ``start_on`` (default: the day the account was created), owned by ``owner_id`` or the account's CSM.
    Milestones the account already has (same kind) are kept as they are; returns the new ones."""
    account = _account(session, account_id)
    template = template_for(session, account, template_key)
    start = start_on or account.created_at.date()
    existing = set(
        session.scalars(select(OnboardingMilestone.kind).where(OnboardingMilestone.account_id == account_id))
    )
    made = []
    for step in template.milestones:
        if step["kind"] in existing:
            continue
        milestone = OnboardingMilestone(
            external_id=f"kizuna-onboarding-{account_id}-{step['kind']}",
            account_id=account_id,
            kind=step["kind"],
            owner_id=(owner_id or account.owner_id) if step["owner"] == "csm" else None,
            due_on=start + dt.timedelta(days=int(step["due_after_days"])),
            is_key=bool(step["is_key"]),
        )
        session.add(milestone)
        made.append(milestone)
    session.flush()
    if made:
        record_audit(
            session,
            actor=actor,
            action="start_onboarding",
            entity="account",
            entity_id=account_id,
            after={"template": template.key, "milestones": [m.kind for m in made], "start_on": str(start)},
        )
    return made


def start_onboarding_for_new_accounts(
    session: Session,
    *,
    actor: str,
    today: dt.date,
    within_days: int = 90,
    created_since: dt.datetime | None = None,
) -> int:
    """Start the plan for accounts in the onboarding stage, created in the last ``within_days`` (and at or after
    ``created_since``: back-fill mode starts no plan, already overdue, for an account of the history), without
    milestones. Returns how many accounts got a plan."""
    since = dt.datetime(today.year, today.month, today.day, tzinfo=dt.UTC) - dt.timedelta(days=within_days)
    if created_since is not None:
        since = max(since, created_since)
    has_plan = select(OnboardingMilestone.account_id).distinct()
    accounts = session.scalars(
        select(Account.id).where(
            Account.lifecycle_stage == LifecycleStage.onboarding,
            Account.created_at >= since,
            Account.id.not_in(has_plan),
        )
    ).all()
    for account_id in accounts:
        start_onboarding(session, actor=actor, account_id=account_id)
    return len(accounts)


def advance_completed_onboarding(session: Session, *, actor: str) -> int:
    """Move accounts still in the onboarding stage whose every milestone is done to adoption (a
    ``lifecycle_changes`` row each); returns how many moved."""
    open_plans = select(OnboardingMilestone.account_id).where(OnboardingMilestone.completed_at.is_(None))
    with_plans = select(OnboardingMilestone.account_id)
    ready = session.scalars(
        select(Account.id).where(
            Account.lifecycle_stage == LifecycleStage.onboarding,
            Account.id.in_(with_plans),
            Account.id.not_in(open_plans),
        )
    ).all()
    for account_id in ready:
        set_lifecycle_stage(
            session,
            actor=actor,
            account_id=account_id,
            stage=LifecycleStage.adoption,
            reason="onboarding plan complete",
        )
    return len(ready)


def _milestone(session: Session, account_id: int, kind: str) -> OnboardingMilestone:
    milestone = session.scalar(
        select(OnboardingMilestone).where(
            OnboardingMilestone.account_id == account_id, OnboardingMilestone.kind == kind
        )
    )
    if milestone is None:
        raise NotFound(f"account {account_id} has no {kind} milestone", account_id=account_id, kind=kind)
    return milestone


def complete_milestone(
    session: Session, *, actor: str, account_id: int, kind: str, at: dt.datetime | None = None
) -> OnboardingMilestone:
    """Mark a milestone done (idempotent: a done milestone keeps its first completion time)."""
    milestone = _milestone(session, account_id, kind)
    if milestone.completed_at is None:
        milestone.completed_at = at or utcnow()
        session.flush()
        record_audit(
            session,
            actor=actor,
            action="complete_milestone",
            entity="onboarding_milestone",
            entity_id=milestone.id,
            after={"kind": kind, "completed_at": milestone.completed_at.isoformat()},
        )
    return milestone


def reopen_milestone(session: Session, *, actor: str, account_id: int, kind: str) -> OnboardingMilestone:
    milestone = _milestone(session, account_id, kind)
    if milestone.completed_at is not None:
        before = milestone.completed_at.isoformat()
        milestone.completed_at = None
        session.flush()
        record_audit(
            session,
            actor=actor,
            action="reopen_milestone",
            entity="onboarding_milestone",
            entity_id=milestone.id,
            before={"completed_at": before},
        )
    return milestone


def milestone_state(milestone: OnboardingMilestone, today: dt.date) -> str:
    if milestone.completed_at is not None:
        return "done_late" if milestone.completed_at.date() > milestone.due_on else "done"
    return "overdue" if milestone.due_on < today else "open"


@dataclass
class OnboardingStatus:
    account_id: int
    account_name: str
    milestones: list[dict[str, Any]]
    done: int
    total: int
    overdue: int
    time_to_value_days: int | None  # first subscription line -> first key milestone completed (days)

    @property
    def complete(self) -> bool:
        return self.total > 0 and self.done == self.total


def _time_to_value(started_on: dt.date, milestones: list[OnboardingMilestone]) -> int | None:
    """Days from ``started_on`` to the first key milestone completed (docs/metrics.md, "Onboarding")."""
    done = [m.completed_at for m in milestones if m.is_key and m.completed_at is not None]
    return None if not done else (min(done).date() - started_on).days


def _started_on(session: Session, account: Account) -> dt.date:
    """The account's first subscription line's start (a trial counts); its creation day before it has one."""
    first = session.scalar(select(func.min(Subscription.start_date)).where(Subscription.account_id == account.id))
    return first if first is not None else account.created_at.date()


def onboarding_status(session: Session, *, account_id: int, today: dt.date) -> OnboardingStatus:
    account = _account(session, account_id)
    order: dict[str, int] = {str(k): i for i, k in enumerate(MilestoneKind)}
    milestones = sorted(
        session.scalars(select(OnboardingMilestone).where(OnboardingMilestone.account_id == account_id)),
        key=lambda m: (m.due_on, order.get(m.kind, 99)),
    )
    rows = [
        {
            "kind": m.kind,
            "due_on": m.due_on,
            "owner_id": m.owner_id,
            "completed_at": m.completed_at,
            "is_key": m.is_key,
            "state": milestone_state(m, today),
        }
        for m in milestones
    ]
    return OnboardingStatus(
        account_id=account.id,
        account_name=account.name,
        milestones=rows,
        done=sum(m.completed_at is not None for m in milestones),
        total=len(milestones),
        overdue=sum(r["state"] == "overdue" for r in rows),
        time_to_value_days=_time_to_value(_started_on(session, account), milestones),
    )


def overdue_milestones(
    session: Session, *, today: dt.date, owner_id: int | None = None, paging: Paging
) -> Page[dict[str, Any]]:
    """Open milestones past their due date, the most overdue first: one page of them and how many there are."""
    stmt = (
        select(OnboardingMilestone, Account.name)
        .join(Account, Account.id == OnboardingMilestone.account_id)
        .where(
            OnboardingMilestone.completed_at.is_(None),
            OnboardingMilestone.due_on < today,
            Account.lifecycle_stage != LifecycleStage.churned,
        )
        .order_by(OnboardingMilestone.due_on, OnboardingMilestone.id)
    )
    if owner_id is not None:
        stmt = stmt.where(OnboardingMilestone.owner_id == owner_id)
    rows, total = page_of(session, stmt, paging)
    items = [
        {
            "account_id": m.account_id,
            "account_name": name,
            "kind": m.kind,
            "due_on": m.due_on,
            "owner_id": m.owner_id,
            "days_overdue": (today - m.due_on).days,
        }
        for m, name in rows
    ]
    return Page(items=items, total=total, page=paging.page, per_page=paging.per_page)


def onboarding_summary(session: Session, *, today: dt.date) -> dict[str, Any]:
    """Across all accounts with milestones: completion per milestone kind and overdue milestones (today), and the
    app's one onboarding figure, completion and median time-to-value, as the latest KPI snapshot stores it
    (:func:`kizuna.kpis.review.onboarding_figures`: the dashboard shows the same numbers)."""
    from kizuna.kpis.review import onboarding_figures

    per_kind: dict[str, list[int]] = {k: [0, 0] for k in MilestoneKind}
    overdue = 0
    for kind, completed_at, due_on in session.execute(
        select(OnboardingMilestone.kind, OnboardingMilestone.completed_at, OnboardingMilestone.due_on)
    ):
        counts = per_kind.setdefault(kind, [0, 0])
        counts[1] += 1
        counts[0] += completed_at is not None
        overdue += completed_at is None and due_on < today
    figures = onboarding_figures(session)
    return {
        "snapshot_as_of": figures.snapshot_as_of,
        "accounts": figures.accounts,
        "complete": figures.complete,
        "completion_rate": figures.completion_rate,
        "overdue_milestones": overdue,
        "completion_by_kind": {k: (v[0] / v[1] if v[1] else None) for k, v in per_kind.items()},
        "time_to_value_days_median": figures.median_time_to_value_days,
        "time_to_value_reached": figures.reached_value,
    }


# ------------------------------------------------------------------------------------------------ success plans
def add_goal(
    session: Session,
    *,
    actor: str,
    account_id: int,
    goal: str,
    kpi: str | None = None,
    unit: str | None = None,
    baseline_value: float | None = None,
    target_value: float | None = None,
    target_date: dt.date | None = None,
    owner_id: int | None = None,
    note: str | None = None,
) -> SuccessGoal:
    """Add one of the customer's goals (with the KPI that measures it and its target) to the success plan."""
    account = _account(session, account_id)
    if not goal.strip():
        raise InvalidInput("a goal needs a text")
    row = SuccessGoal(
        account_id=account_id,
        goal=goal.strip()[:500],
        kpi=kpi,
        unit=unit,
        baseline_value=baseline_value,
        target_value=target_value,
        current_value=baseline_value,
        target_date=target_date,
        owner_id=owner_id or account.owner_id,
        note=note,
        created_by=actor,
    )
    session.add(row)
    session.flush()
    record_audit(
        session,
        actor=actor,
        action="create",
        entity="success_goal",
        entity_id=row.id,
        after={
            "account_id": account_id,
            "goal": row.goal,
            "kpi": kpi,
            "target_value": target_value,
            "target_date": str(target_date) if target_date else None,
        },
    )
    return row


def _reached(goal: SuccessGoal) -> bool:
    if goal.current_value is None or goal.target_value is None:
        return False
    # a target below the baseline is a "reduce" goal (e.g. hours spent on month-end closing)
    if goal.baseline_value is not None and goal.target_value < goal.baseline_value:
        return goal.current_value <= goal.target_value
    return goal.current_value >= goal.target_value


def update_goal(
    session: Session,
    *,
    actor: str,
    goal_id: int,
    current_value: float | None = None,
    status: str | None = None,
    note: str | None = None,
    at: dt.datetime | None = None,
) -> SuccessGoal:
    """Record progress on a goal. Reaching the target marks it achieved unless ``status`` says otherwise."""
    goal = session.get(SuccessGoal, goal_id)
    if goal is None:
        raise NotFound(f"no success goal {goal_id}", goal_id=goal_id)
    if status is not None and status not in GoalStatus.__members__:
        raise InvalidInput(f"unknown goal status {status!r}; use {', '.join(GoalStatus)}", value=status)
    before = {"current_value": goal.current_value, "status": goal.status}
    if current_value is not None:
        goal.current_value = current_value
    if note is not None:
        goal.note = note
    if status is not None:
        goal.status = status
    elif _reached(goal):
        goal.status = GoalStatus.achieved
    elif current_value is not None and goal.status == GoalStatus.not_started:
        goal.status = GoalStatus.on_track
    if goal.status == GoalStatus.achieved and goal.achieved_at is None:
        goal.achieved_at = at or utcnow()
    session.flush()
    record_audit(
        session,
        actor=actor,
        action="update",
        entity="success_goal",
        entity_id=goal.id,
        before=before,
        after={"current_value": goal.current_value, "status": goal.status},
    )
    return goal


def success_plan(session: Session, *, account_id: int, today: dt.date) -> list[dict[str, Any]]:
    """The account's goals with progress (0..1 from baseline to target) and whether a target date has passed."""
    _account(session, account_id)
    out = []
    for g in session.scalars(
        select(SuccessGoal)
        .where(SuccessGoal.account_id == account_id)
        .order_by(SuccessGoal.target_date, SuccessGoal.id)
    ):
        progress = None
        if g.target_value is not None and g.current_value is not None:
            base = g.baseline_value if g.baseline_value is not None else 0.0
            span = g.target_value - base
            progress = 1.0 if span == 0 else max(0.0, min(1.0, (g.current_value - base) / span))
        late = (
            g.target_date is not None
            and g.target_date < today
            and g.status not in (GoalStatus.achieved, GoalStatus.missed)
        )
        out.append(
            {
                "id": g.id,
                "goal": g.goal,
                "kpi": g.kpi,
                "unit": g.unit,
                "baseline_value": g.baseline_value,
                "target_value": g.target_value,
                "current_value": g.current_value,
                "target_date": g.target_date,
                "status": g.status,
                "progress": progress,
                "past_target_date": late,
                "owner_id": g.owner_id,
            }
        )
    return out
