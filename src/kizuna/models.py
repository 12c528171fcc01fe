"""Every table of the app database, imported in one place for Alembic and for ``Base.metadata``.

Import this module (not the domains one by one) when the whole schema must be known.
"""

from kizuna.accounts.models import Account, Contact, TeamMember
from kizuna.activities.models import Activity
from kizuna.audit.models import AuditEntry
from kizuna.billing.models import Invoice, Payment, Plan, Product, Subscription
from kizuna.db import Base
from kizuna.funnel.models import Lead, MarketingSpend, Opportunity
from kizuna.imports.models import ImportRun
from kizuna.onboarding.models import OnboardingMilestone
from kizuna.support.models import Ticket
from kizuna.surveys.models import SurveyResponse
from kizuna.voc.models import VocEntry

__all__ = [
    "Account",
    "Activity",
    "AuditEntry",
    "Base",
    "Contact",
    "ImportRun",
    "Invoice",
    "Lead",
    "MarketingSpend",
    "OnboardingMilestone",
    "Opportunity",
    "Payment",
    "Plan",
    "Product",
    "Subscription",
    "SurveyResponse",
    "TeamMember",
    "Ticket",
    "VocEntry",
]
