"""SaaS KPIs as portable Ibis expressions: written once, executed on DuckDB (default) or Spark with equal results.

Inputs are the hub tables from :func:`kizuna.hub.warehouse.hub_tables` (named and shaped as the app database tables;
``events`` as ``kizuna.usage.store.EVENT_SCHEMA``). Functions return Ibis expressions (``.to_pandas()`` executes them)
unless they say otherwise. Call :func:`prepare` first when computing several KPIs of one date. Definitions:
``docs/metrics.md``.
"""

from kizuna.analytics.kpi.cohorts import churn_by_tenure, cohort_matrix, cohort_retention
from kizuna.analytics.kpi.funnel import (
    funnel_conversion,
    lead_stages,
    source_quality,
    stage_velocity,
    untouched_leads,
)
from kizuna.analytics.kpi.intermediates import prepare
from kizuna.analytics.kpi.revenue import (
    account_mrr,
    mrr,
    mrr_movements,
    mrr_summary,
    renewals,
    trailing_retention,
)

# (the function unit_economics is not re-exported: it would hide the module of the same name)
from kizuna.analytics.kpi.unit_economics import cac
from kizuna.analytics.kpi.usage import account_usage, licensed_seats
from kizuna.analytics.kpi.voice import (
    account_onboarding,
    account_voice,
    median_time_to_value,
    onboarding_summary,
    support_load,
    survey_scores,
)

__all__ = [
    "account_mrr",
    "account_onboarding",
    "account_usage",
    "account_voice",
    "cac",
    "churn_by_tenure",
    "cohort_matrix",
    "cohort_retention",
    "funnel_conversion",
    "lead_stages",
    "licensed_seats",
    "median_time_to_value",
    "mrr",
    "mrr_movements",
    "mrr_summary",
    "onboarding_summary",
    "prepare",
    "renewals",
    "source_quality",
    "stage_velocity",
    "support_load",
    "survey_scores",
    "trailing_retention",
    "untouched_leads",
]
