"""Every table of the app database, imported in one place for Alembic and for ``Base.metadata``.

Import this module (not the domains one by one) when the whole schema must be known.
"""

from kizuna.accounts.models import Account, Contact, TeamMember
from kizuna.activities.models import Activity
from kizuna.audit.models import AuditEntry
from kizuna.auth.models import ApiKey, LoginAttempt, SavedView, User, UserSession
from kizuna.billing.models import FxRate, Invoice, Payment, Plan, Product, Subscription
from kizuna.connectors.models import ConnectorRun, ReceivedEvent, SyncCursor
from kizuna.crm.models import CrmLink
from kizuna.db import Base
from kizuna.funnel.models import Lead, MarketingSpend, Opportunity
from kizuna.health.models import HealthOverride, HealthScore
from kizuna.hub.models import RefreshRun
from kizuna.imports.models import ImportRun
from kizuna.knowledge.models import KbArticle, KbDocument, KbPosting
from kizuna.kpis.models import AccountMetrics, KpiSeries, KpiTable
from kizuna.lifecycle.models import LifecycleChange, OnboardingTemplate, SuccessGoal
from kizuna.ltv.models import AccountLtv, LtvCohortFit
from kizuna.onboarding.models import OnboardingMilestone
from kizuna.platform.outbox.models import OutboundMessage
from kizuna.playbooks.models import (
    PendingJob,
    Playbook,
    PlaybookRun,
    PlaybookRunAccount,
    PlaybookVersion,
)
from kizuna.renewals.models import ExpansionSignal, Renewal
from kizuna.risk.models import RiskModel, RiskScore
from kizuna.segments.models import Segment, SegmentMembership, TouchTierChange, TouchTierPolicy
from kizuna.support.models import Ticket
from kizuna.surveys.models import SurveyCampaign, SurveyFollowUp, SurveyInvitation
from kizuna.tasks.models import Task
from kizuna.tracking.models import TrackedIdentity, TrackedMessage
from kizuna.voc.models import (
    SurveyResponse,
    VocAccountSentiment,
    VocAnalysis,
    VocEntry,
    VocLabel,
    VocTextAnalysis,
)

__all__ = [
    "Account",
    "AccountLtv",
    "AccountMetrics",
    "Activity",
    "ApiKey",
    "AuditEntry",
    "Base",
    "ConnectorRun",
    "Contact",
    "CrmLink",
    "ExpansionSignal",
    "FxRate",
    "HealthOverride",
    "HealthScore",
    "ImportRun",
    "Invoice",
    "KbArticle",
    "KbDocument",
    "KbPosting",
    "KpiSeries",
    "KpiTable",
    "Lead",
    "LifecycleChange",
    "LoginAttempt",
    "LtvCohortFit",
    "MarketingSpend",
    "OnboardingMilestone",
    "OnboardingTemplate",
    "Opportunity",
    "OutboundMessage",
    "Payment",
    "PendingJob",
    "Plan",
    "Playbook",
    "PlaybookRun",
    "PlaybookRunAccount",
    "PlaybookVersion",
    "Product",
    "ReceivedEvent",
    "RefreshRun",
    "Renewal",
    "RiskModel",
    "RiskScore",
    "SavedView",
    "Segment",
    "SegmentMembership",
    "Subscription",
    "SuccessGoal",
    "SurveyCampaign",
    "SurveyFollowUp",
    "SurveyInvitation",
    "SurveyResponse",
    "SyncCursor",
    "Task",
    "TeamMember",
    "Ticket",
    "TouchTierChange",
    "TouchTierPolicy",
    "TrackedIdentity",
    "TrackedMessage",
    "User",
    "UserSession",
    "VocAccountSentiment",
    "VocAnalysis",
    "VocEntry",
    "VocLabel",
    "VocTextAnalysis",
]
