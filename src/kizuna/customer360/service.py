"""Customer 360: a read model over many domains (accounts, billing, activities, support, surveys, VoC, onboarding,
tasks, health, risk, KPIs, success plans, playbook runs). No domain imports it back. The CSM's cockpit is
:mod:`kizuna.customer360.cockpit`."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kizuna.accounts import service as accounts
from kizuna.accounts.models import Account, Contact, TeamMember
from kizuna.accounts.schemas import MrrPoint
from kizuna.activities import service as activities
from kizuna.activities.models import Activity
from kizuna.billing.models import Invoice, Plan, Subscription
from kizuna.health import service as health_service
from kizuna.kpis import service as kpis
from kizuna.lifecycle import service as lifecycle_service
from kizuna.onboarding.models import OnboardingMilestone
from kizuna.playbooks import service as playbooks_service
from kizuna.risk import service as risk_service
from kizuna.support.models import Ticket
from kizuna.tasks import service as tasks_service
from kizuna.voc.models import SurveyResponse, VocEntry


@dataclasses.dataclass
class Customer360:
    account: Account
    owner: TeamMember | None
    contacts: Sequence[Contact]
    subscriptions: Sequence[Subscription]
    plans: dict[int, str]
    mrr_minor: int
    currency: str
    next_renewal: dt.date | None
    mrr_history: list[MrrPoint]
    activities: Sequence[Activity]
    tickets: Sequence[Ticket]
    open_tickets: int
    surveys: Sequence[SurveyResponse]
    nps: float | None
    voc: Sequence[VocEntry]
    milestones: Sequence[OnboardingMilestone]
    invoices: Sequence[Invoice]
    tasks: Sequence[Any] = ()
    extras: dict[str, Any] = dataclasses.field(default_factory=dict)


def nps_of(scores: Sequence[int]) -> float | None:
    """Net Promoter Score (-100..100) of 0-10 answers: % promoters (9-10) minus % detractors (0-6)."""
    if not scores:
        return None
    promoters = sum(1 for s in scores if s >= 9)
    detractors = sum(1 for s in scores if s <= 6)
    return 100.0 * (promoters - detractors) / len(scores)


def customer_360(session: Session, account_id: int, *, today: dt.date) -> Customer360:
    """Everything about one customer on one page."""
    account = accounts.get_account(session, account_id)
    owner = session.get(TeamMember, account.owner_id) if account.owner_id else None
    subs = accounts.list_subscriptions(session, account_id)
    plan_ids = {s.plan_id for s in subs}
    plans = (
        {int(i): n for i, n in session.execute(select(Plan.id, Plan.name).where(Plan.id.in_(plan_ids)))}
        if plan_ids
        else {}
    )
    live = [
        s
        for s in subs
        if s.status in ("active", "cancelled") and s.start_date <= today and (s.end_date is None or s.end_date > today)
    ]
    renewals = [s.renewal_date for s in live if s.renewal_date is not None and s.renewal_date >= today]
    tickets = session.scalars(
        select(Ticket).where(Ticket.account_id == account_id).order_by(Ticket.opened_at.desc()).limit(20)
    ).all()
    open_tickets = int(
        session.scalar(select(func.count(Ticket.id)).where(Ticket.account_id == account_id, Ticket.status != "closed"))
        or 0
    )
    surveys = session.scalars(
        select(SurveyResponse)
        .where(SurveyResponse.account_id == account_id)
        .order_by(SurveyResponse.responded_at.desc())
        .limit(20)
    ).all()
    voc = session.scalars(
        select(VocEntry).where(VocEntry.account_id == account_id).order_by(VocEntry.recorded_at.desc()).limit(20)
    ).all()
    milestones = session.scalars(
        select(OnboardingMilestone)
        .where(OnboardingMilestone.account_id == account_id)
        .order_by(OnboardingMilestone.due_on)
    ).all()
    invoices = session.scalars(
        select(Invoice).where(Invoice.account_id == account_id).order_by(Invoice.issued_on.desc()).limit(12)
    ).all()
    tasks = tasks_service.list_tasks(session, account_id=account_id, statuses=("open", "snoozed"), limit=50)
    view = Customer360(
        account=account,
        owner=owner,
        contacts=accounts.list_contacts(session, account_id),
        subscriptions=subs,
        plans=plans,
        mrr_minor=sum(s.mrr_minor for s in live),
        currency=live[0].currency if live else "JPY",
        next_renewal=min(renewals) if renewals else None,
        mrr_history=accounts.mrr_history(session, account_id, today=today, subscriptions=subs),
        activities=activities.list_activities(session, account_id, limit=50),
        tickets=tickets,
        open_tickets=open_tickets,
        surveys=surveys,
        nps=nps_of([s.score for s in surveys if s.kind == "nps"]),
        voc=voc,
        milestones=milestones,
        invoices=invoices,
        tasks=tasks,
    )
    view.extras.update(_scores_and_plans(session, account_id, today=today))
    return view


def _scores_and_plans(session: Session, account_id: int, *, today: dt.date) -> dict[str, Any]:
    """Health scorecards (with per-measure breakdown and trend), churn risk with drivers, usage, the success plan
    and playbook runs, from their domains' services."""
    extras: dict[str, Any] = {}
    since = today - dt.timedelta(days=180)
    cards = []
    for score in health_service.latest_scores(session, account_id=account_id):
        history = health_service.score_history(session, account_id=account_id, scorecard=score.scorecard, since=since)
        cards.append(
            {
                "score": score,
                "history": [{"as_of": h.as_of, "score": h.score} for h in history],
                "contributions": sorted(
                    score.contributions or [], key=lambda c: -abs(float(c.get("contribution") or 0))
                ),
            }
        )
    extras["health"] = cards
    extras["risk"] = risk_service.latest_risk(session, account_id=account_id)
    extras["success_plan"] = lifecycle_service.success_plan(session, account_id=account_id, today=today)
    usage = kpis.account_metrics_of(session, account_id)
    if usage is not None:
        extras["usage"] = usage
    extras["playbook_runs"] = playbooks_service.run_log(session, account_id=account_id, limit=20)
    return extras
