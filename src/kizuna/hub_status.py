"""What the data hub holds: counts and date ranges per entity, events on disk, the last import runs."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kizuna import models as m
from kizuna.settings import Settings
from kizuna.usage.store import EventStore

# entity name -> (table, the column that dates it)
ENTITY_DATES: dict[str, tuple[type[m.Base], Any]] = {
    "team_members": (m.TeamMember, m.TeamMember.created_at),
    "accounts": (m.Account, m.Account.created_at),
    "contacts": (m.Contact, m.Contact.created_at),
    "plans": (m.Plan, None),
    "subscriptions": (m.Subscription, m.Subscription.start_date),
    "invoices": (m.Invoice, m.Invoice.issued_on),
    "payments": (m.Payment, m.Payment.attempted_at),
    "tickets": (m.Ticket, m.Ticket.opened_at),
    "survey_responses": (m.SurveyResponse, m.SurveyResponse.responded_at),
    "voc_entries": (m.VocEntry, m.VocEntry.recorded_at),
    "activities": (m.Activity, m.Activity.occurred_at),
    "onboarding_milestones": (m.OnboardingMilestone, m.OnboardingMilestone.due_on),
    "leads": (m.Lead, m.Lead.created_at),
    "opportunities": (m.Opportunity, m.Opportunity.created_at),
    "marketing_spend": (m.MarketingSpend, m.MarketingSpend.month),
}


def hub_status(session: Session, settings: Settings) -> dict[str, Any]:
    entities = []
    for name, (model, date_col) in ENTITY_DATES.items():
        if date_col is None:
            rows = session.scalar(select(func.count()).select_from(model)) or 0
            lo = hi = None
        else:
            rows, lo, hi = session.execute(select(func.count(), func.min(date_col), func.max(date_col))).one()
        entities.append({"entity": name, "rows": rows, "from": lo, "to": hi})
    store = EventStore(settings.events_dir)
    lo, hi = store.time_range()
    entities.append({"entity": "events", "rows": store.count(), "from": lo, "to": hi})
    runs = session.scalars(select(m.ImportRun).order_by(m.ImportRun.id.desc()).limit(10)).all()
    imports = [
        {
            "entity": r.entity,
            "file_name": r.file_name,
            "status": r.status,
            "imported": r.imported,
            "updated": r.updated,
            "unchanged": r.unchanged,
            "rejected": r.rejected,
            "finished_at": r.finished_at,
        }
        for r in runs
    ]
    return {"entities": entities, "imports": imports}
