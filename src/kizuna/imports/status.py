"""What the data hub holds: counts and date ranges per entity, events on disk, the last import runs."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kizuna.accounts.models import Account, Contact, TeamMember
from kizuna.activities.models import Activity
from kizuna.billing.models import FxRate, Invoice, Payment, Plan, Subscription
from kizuna.db import Base
from kizuna.funnel.models import Lead, MarketingSpend, Opportunity
from kizuna.imports.models import ImportRun
from kizuna.onboarding.models import OnboardingMilestone
from kizuna.settings import Settings
from kizuna.support.models import Ticket
from kizuna.usage.store import EventStore
from kizuna.voc.models import SurveyResponse, VocEntry

# entity name -> (table, the column that dates it)
ENTITY_DATES: dict[str, tuple[type[Base], Any]] = {
    "team_members": (TeamMember, TeamMember.created_at),
    "accounts": (Account, Account.created_at),
    "contacts": (Contact, Contact.created_at),
    "plans": (Plan, None),
    "subscriptions": (Subscription, Subscription.start_date),
    "invoices": (Invoice, Invoice.issued_on),
    "payments": (Payment, Payment.attempted_at),
    "tickets": (Ticket, Ticket.opened_at),
    "survey_responses": (SurveyResponse, SurveyResponse.responded_at),
    "voc_entries": (VocEntry, VocEntry.recorded_at),
    "activities": (Activity, Activity.occurred_at),
    "onboarding_milestones": (OnboardingMilestone, OnboardingMilestone.due_on),
    "leads": (Lead, Lead.created_at),
    "opportunities": (Opportunity, Opportunity.created_at),
    "marketing_spend": (MarketingSpend, MarketingSpend.month),
    "fx_rates": (FxRate, FxRate.date),
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
    runs = session.scalars(select(ImportRun).order_by(ImportRun.id.desc()).limit(10)).all()
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
