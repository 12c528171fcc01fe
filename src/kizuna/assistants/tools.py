"""What an AI assistant may ask of kizuna and do in it: plain functions over a session, each answering JSON-able
data in the domain's words. :mod:`kizuna.assistants.server` exposes them as MCP tools under the caller's API-key
scopes; every write goes through the domain's service, so it is validated and written to the audit log like any
other change.

An account is named by its id, its external id, or a part of its name (one match, or the candidates are listed).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from kizuna.accounts.models import Account
from kizuna.activities import service as activities
from kizuna.customer360 import service as customer360
from kizuna.errors import InvalidInput, NotFound
from kizuna.health.models import HealthScore
from kizuna.knowledge import service as knowledge
from kizuna.kpis import service as kpis
from kizuna.renewals.models import Renewal
from kizuna.risk import service as risk
from kizuna.tasks import service as tasks

#: the headline KPIs an assistant gets when it names none
HEADLINE_KPIS = ("mrr_minor", "arr_minor", "customers", "nrr_12m", "grr_12m", "logo_churn_rate", "nps")


def find_account(session: Session, account: str | int) -> Account:
    """The one account ``account`` names (id, external id, or part of the name)."""
    text = str(account).strip()
    if not text:
        raise InvalidInput("name an account: its id, external id or part of its name")
    if text.isdigit() and (found := session.get(Account, int(text))) is not None:
        return found
    exact = session.scalar(select(Account).where(Account.external_id == text))
    if exact is not None:
        return exact
    like = session.scalars(select(Account).where(Account.name.contains(text)).order_by(Account.id).limit(6)).all()
    if len(like) == 1:
        return like[0]
    if not like:
        raise NotFound(f"no account matches {text!r}", account=text)
    names = "; ".join(f"{a.id}: {a.name}" for a in like[:5])
    raise InvalidInput(f"{text!r} matches several accounts ({names}); name one by its id", value=text)


def search_accounts(session: Session, query: str, *, limit: int = 10) -> list[dict[str, Any]]:
    """Accounts whose name, reading or external id contains ``query``."""
    rows = session.scalars(
        select(Account)
        .where(or_(Account.name.contains(query), Account.external_id == query))
        .order_by(Account.name)
        .limit(max(1, min(limit, 50)))
    ).all()
    return [
        {"id": a.id, "name": a.name, "external_id": a.external_id, "lifecycle_stage": a.lifecycle_stage} for a in rows
    ]


def account_360(session: Session, account: str | int, *, today: dt.date) -> dict[str, Any]:
    """One customer's story: contract, renewal, health, risk with its drivers, open tasks, recent activity and voice."""
    found = find_account(session, account)
    view = customer360.customer_360(session, found.id, today=today)
    return {
        "id": found.id,
        "name": found.name,
        "external_id": found.external_id,
        "lifecycle_stage": found.lifecycle_stage,
        "csm": view.owner.name if view.owner else None,
        "mrr": {"amount_minor": view.mrr_minor, "currency": view.currency},
        "next_renewal": view.next_renewal.isoformat() if view.next_renewal else None,
        "nps": view.nps,
        "open_tickets": view.open_tickets,
        "health": health_of(session, found.id),
        "churn_risk": risk_of(session, found.id),
        "open_tasks": [
            {"id": t.id, "title": t.title, "due_on": t.due_on.isoformat() if t.due_on else None, "status": t.status}
            for t in view.tasks[:10]
        ],
        "recent_activities": [
            {"kind": a.kind, "subject": a.subject, "occurred_at": a.occurred_at.isoformat()}
            for a in view.activities[:5]
        ],
        "recent_voice": [{"channel": v.channel, "text": v.text[:300]} for v in view.voc[:5]],
    }


def health_of(session: Session, account_id: int) -> list[dict[str, Any]]:
    """The latest score of each scorecard, with the measures that moved it most."""
    latest: dict[str, HealthScore] = {}
    for row in session.scalars(
        select(HealthScore).where(HealthScore.account_id == account_id).order_by(HealthScore.as_of)
    ):
        latest[row.scorecard] = row
    return [
        {
            "scorecard": row.scorecard,
            "as_of": row.as_of.isoformat(),
            "score": row.score,
            "band": row.band,
            "measures": sorted(
                (
                    {"measure": c.get("measure"), "value": c.get("value"), "points": c.get("points")}
                    for c in row.contributions
                ),
                key=lambda c: c["points"] if isinstance(c["points"], int | float) else 0,
            )[:5],
        }
        for row in latest.values()
    ]


def risk_of(session: Session, account_id: int) -> dict[str, Any] | None:
    score = risk.latest_risk(session, account_id=account_id)
    if score is None:
        return None
    return {
        "as_of": score.as_of.isoformat(),
        "probability": round(score.probability, 4),
        "band": score.band,
        "drivers": [
            {"feature": d.get("feature"), "value": d.get("value"), "contribution": d.get("contribution")}
            for d in score.drivers[:5]
        ],
    }


def kpi_values(session: Session, names: list[str] | None = None) -> dict[str, Any]:
    """The latest month of each named KPI (default the headline ones) from the stored snapshot, company totals."""
    wanted = names or list(HEADLINE_KPIS)
    known = set(kpis.metric_names(session))
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise InvalidInput(f"unknown KPI {', '.join(unknown)}; known: {', '.join(sorted(known))}", value=unknown[0])
    frame = kpis.load_kpi(session, names=wanted)
    values: dict[str, Any] = {}
    for (metric, currency), rows in frame.groupby(["metric", "currency"], sort=True):
        last = rows.sort_values("month").iloc[-1]
        key = f"{metric} ({currency})" if currency else str(metric)
        value = None if last["value"] != last["value"] else float(last["value"])  # NaN is no value
        values[key] = {"month": last["month"].isoformat(), "value": value}
    day = kpis.resolve_as_of(session, None)
    return {"snapshot": day.isoformat(), "kpis": values}


def upcoming_renewals(session: Session, *, today: dt.date, days: int = 90, limit: int = 50) -> list[dict[str, Any]]:
    """Renewals due in the next ``days`` days, soonest first, with the account and the ARR at stake."""
    until = today + dt.timedelta(days=max(1, min(days, 730)))
    rows = session.execute(
        select(Renewal, Account.name)
        .join(Account, Account.id == Renewal.account_id)
        .where(Renewal.renewal_date >= today, Renewal.renewal_date <= until)
        .order_by(Renewal.renewal_date, Account.name)
        .limit(max(1, min(limit, 200)))
    ).all()
    return [
        {
            "account_id": r.account_id,
            "account": name,
            "renewal_date": r.renewal_date.isoformat(),
            "arr_minor": r.arr_minor,
            "currency": r.currency,
            "renewal_probability_model": r.model_probability,
            "csm_call": r.csm_call,
        }
        for r, name in rows
    ]


def search_knowledge(session: Session, query: str, *, limit: int = 10) -> list[dict[str, Any]]:
    """Notes, FAQ articles and playbooks ranked for ``query`` (Japanese-aware)."""
    return [
        {"source": h.source, "title": h.title, "snippet": h.snippet, "account_id": h.account_id, "score": h.score}
        for h in knowledge.search(session, query=query, limit=max(1, min(limit, 50)))
    ]


def create_task(
    session: Session, *, actor: str, account: str | int, title: str, due_on: dt.date | None, priority: str
) -> dict[str, Any]:
    found = find_account(session, account)
    task, _ = tasks.create_task(
        session,
        actor=actor,
        title=title,
        account_id=found.id,
        owner_id=found.owner_id,
        priority=priority,
        due_on=due_on,
        source="assistant",
    )
    return {"id": task.id, "account_id": found.id, "title": task.title, "status": task.status}


def log_activity(
    session: Session, *, actor: str, account: str | int, kind: str, subject: str, body: str | None
) -> dict[str, Any]:
    found = find_account(session, account)
    activity = activities.log_activity(session, actor=actor, account_id=found.id, kind=kind, subject=subject, body=body)
    return {"id": activity.id, "account_id": found.id, "kind": activity.kind, "subject": activity.subject}
