"""The one list of kizuna's domains: what each gives the web app, the CLI and the refresh.

Everything here is a plain import, so a missing or broken module stops ``kizuna`` at start-up instead of hiding a
page: ``kizuna serve`` mounts the routers of :data:`DOMAINS` (beside the app's own: API docs, REST, liveness), the
CLI registers their commands and ``kizuna refresh`` runs :data:`REFRESH_STEPS` in this order; the tables are those
of ``kizuna.models`` (:data:`METADATA`). A new domain adds one ``Domain(...)`` entry and its tables to
``kizuna.models``.

Routers are mounted in three ways: ``pages`` (HTML and JSON routes behind login or an API key), ``public`` (routes
that authenticate themselves or need no login: the login page, the liveness probe, tracking with a write key, survey
answers) and ``admin`` (administrators only).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import typer
from fastapi import APIRouter

from kizuna import models
from kizuna.accounts import api as accounts_api
from kizuna.accounts import pages as accounts_pages
from kizuna.activities import api as activities_api
from kizuna.admin import pages as admin_pages
from kizuna.assistants import cli as assistants_cli
from kizuna.audit import pages as audit_pages
from kizuna.auth import pages as auth_pages
from kizuna.auth import public as auth_public
from kizuna.chargebee import cli as chargebee_cli
from kizuna.chargebee import public as chargebee_public
from kizuna.connectors import cli as connectors_cli
from kizuna.connectors import pages as connectors_pages
from kizuna.crm import cli as crm_cli
from kizuna.customer360 import pages as customer360_pages
from kizuna.customer360 import reports as customer360_reports
from kizuna.dashboard import pages as dashboard_pages
from kizuna.demo import cli as demo_cli
from kizuna.funnel import pages as funnel_pages
from kizuna.health import api as health_api
from kizuna.health import cli as health_cli
from kizuna.health import jobs as health_jobs
from kizuna.health import pages as health_pages
from kizuna.imports import cli as imports_cli
from kizuna.imports import pages as imports_pages
from kizuna.knowledge import api as knowledge_api
from kizuna.knowledge import cli as knowledge_cli
from kizuna.knowledge import jobs as knowledge_jobs
from kizuna.knowledge import pages as knowledge_pages
from kizuna.kpis import api as kpis_api
from kizuna.kpis import cli as kpis_cli
from kizuna.kpis import jobs as kpis_jobs
from kizuna.kpis import pages as kpis_pages
from kizuna.leakage import jobs as leakage_jobs
from kizuna.leakage import pages as leakage_pages
from kizuna.lifecycle import api as lifecycle_api
from kizuna.lifecycle import cli as lifecycle_cli
from kizuna.lifecycle import jobs as lifecycle_jobs
from kizuna.ltv import cli as ltv_cli
from kizuna.ltv import jobs as ltv_jobs
from kizuna.ltv import pages as ltv_pages
from kizuna.mail import cli as mail_cli
from kizuna.pipeline import refresh as pipeline
from kizuna.pipeline.refresh import Step
from kizuna.platform.web.navigation import NavLink
from kizuna.playbooks import api as playbooks_api
from kizuna.playbooks import cli as playbooks_cli
from kizuna.playbooks import jobs as playbooks_jobs
from kizuna.playbooks import pages as playbooks_pages
from kizuna.renewals import api as renewals_api
from kizuna.renewals import cli as renewals_cli
from kizuna.renewals import jobs as renewals_jobs
from kizuna.renewals import pages as renewals_pages
from kizuna.risk import api as risk_api
from kizuna.risk import cli as risk_cli
from kizuna.risk import jobs as risk_jobs
from kizuna.risk import pages as risk_pages
from kizuna.runtime import Runtime
from kizuna.segments import api as segments_api
from kizuna.segments import cli as segments_cli
from kizuna.segments import jobs as segments_jobs
from kizuna.segments import pages as segments_pages
from kizuna.slack import cli as slack_cli
from kizuna.slack import public as slack_public
from kizuna.stripe import cli as stripe_cli
from kizuna.stripe import public as stripe_public
from kizuna.surveys import cli as surveys_cli
from kizuna.surveys import pages as surveys_pages
from kizuna.surveys import public as surveys_public
from kizuna.tasks import api as tasks_api
from kizuna.tasks import cli as tasks_cli
from kizuna.tasks import pages as tasks_pages
from kizuna.teams import cli as teams_cli
from kizuna.teams import pages as teams_pages
from kizuna.tracking import api as tracking_api
from kizuna.voc import api as voc_api
from kizuna.voc import cli as voc_cli
from kizuna.voc import jobs as voc_jobs
from kizuna.voc import pages as voc_pages


@dataclass(frozen=True)
class Domain:
    """What one domain contributes; every field is optional."""

    name: str
    pages: Sequence[APIRouter] = ()
    public: Sequence[APIRouter] = ()
    admin: Sequence[APIRouter] = ()
    commands: Sequence[Callable[[typer.Typer], None]] = ()
    #: ``kizuna connect <vendor>`` set-ups: each adds its commands to the ``connect`` group
    connect: Sequence[Callable[[typer.Typer], None]] = ()
    refresh: Step | None = None
    nav: Sequence[NavLink] = ()


DOMAINS: tuple[Domain, ...] = (
    Domain("auth", pages=(auth_pages.router,), public=(auth_public.router,)),
    Domain("admin", admin=(admin_pages.router,), nav=(NavLink("admin", "/settings", "nav.settings", admin=True),)),
    Domain("audit", admin=(audit_pages.router,), nav=(NavLink("admin", "/audit", "audit.nav", admin=True),)),
    Domain("dashboard", pages=(dashboard_pages.router,), nav=(NavLink("revenue", "/", "nav.dashboard", rank=0),)),
    Domain(
        "accounts",
        pages=(accounts_pages.router, accounts_api.router),
        nav=(NavLink("work", "/accounts", "nav.accounts"),),
    ),
    Domain("activities", pages=(activities_api.router,)),
    Domain(
        "customer360",
        pages=(customer360_pages.router, customer360_reports.router),
        nav=(NavLink("work", "/me", "nav.cockpit", rank=0),),
    ),
    Domain(
        "imports",
        pages=(imports_pages.router,),
        commands=(imports_cli.register,),
        nav=(NavLink("operations", "/imports", "nav.imports"),),
    ),
    Domain("demo", commands=(demo_cli.register,)),
    Domain(
        "kpis",
        pages=(kpis_pages.router, kpis_api.router),
        commands=(kpis_cli.register,),
        refresh=Step("kpis", kpis_jobs.refresh),
        nav=(
            NavLink("revenue", "/unit-economics", "kpis.nav.unit_economics", rank=10),
            NavLink("revenue", "/cohorts", "nav.cohorts"),
            NavLink("customers", "/usage", "kpis.nav.usage"),
            NavLink("revenue", "/definitions", "kpis.nav.definitions", rank=90),
        ),
    ),
    Domain("funnel", pages=(funnel_pages.router,), nav=(NavLink("revenue", "/funnel", "nav.funnel"),)),
    # before health: its stored VoC sentiment is a health measure
    Domain(
        "voc",
        pages=(voc_pages.router, voc_api.router),
        commands=(voc_cli.register,),
        refresh=Step("voc", voc_jobs.refresh),
        nav=(NavLink("voice", "/voc", "nav.voc"), NavLink("voice", "/voc/analytics", "nav.voc_analytics")),
    ),
    # after kpis (its MRR losses) and voc (the churn reasons of the same refresh)
    Domain(
        "leakage",
        pages=(leakage_pages.router,),
        refresh=Step("leakage", leakage_jobs.refresh),
        nav=(NavLink("revenue", "/leakage", "kpis.nav.leakage", rank=11),),
    ),
    Domain(
        "health",
        pages=(health_pages.router, health_api.router),
        commands=(health_cli.register,),
        refresh=Step("health", health_jobs.refresh),
        nav=(NavLink("customers", "/health", "health.nav", rank=10),),
    ),
    Domain(
        "risk",
        pages=(risk_pages.router, risk_api.router),
        commands=(risk_cli.register,),
        refresh=Step("risk", risk_jobs.refresh),
        nav=(NavLink("customers", "/risk", "risk.nav", rank=20),),
    ),
    Domain(
        "ltv",
        pages=(ltv_pages.router,),
        commands=(ltv_cli.register,),
        refresh=Step("ltv", ltv_jobs.refresh),
        nav=(NavLink("revenue", "/ltv", "ltv.nav"),),
    ),
    Domain(
        "segments",
        pages=(segments_pages.router, segments_api.router),
        commands=(segments_cli.register,),
        refresh=Step("segments", segments_jobs.refresh),
        nav=(NavLink("customers", "/segments", "nav.segments"), NavLink("customers", "/coverage", "nav.coverage")),
    ),
    Domain(
        "lifecycle",
        pages=(lifecycle_api.router,),
        commands=(lifecycle_cli.register,),
        refresh=Step("lifecycle", lifecycle_jobs.refresh),
    ),
    Domain(
        "renewals",
        pages=(renewals_pages.router, renewals_api.router),
        commands=(renewals_cli.register,),
        refresh=Step("renewals", renewals_jobs.refresh),
        nav=(
            NavLink("work", "/renewals", "nav.renewals"),
            NavLink("revenue", "/renewal-center", "nav.renewal_center"),
            NavLink("revenue", "/expansion", "nav.expansion"),
            NavLink("revenue", "/expansion-pipeline", "nav.expansion_pipeline"),
        ),
    ),
    Domain(
        "knowledge",
        pages=(knowledge_pages.router, knowledge_api.router),
        commands=(knowledge_cli.register,),
        refresh=Step("knowledge", knowledge_jobs.refresh),
        nav=(NavLink("voice", "/kb", "nav.kb"),),
    ),
    Domain(
        "tasks",
        pages=(tasks_pages.router, tasks_api.router),
        commands=(tasks_cli.register,),
        nav=(NavLink("work", "/tasks", "nav.tasks"),),
    ),
    Domain(
        "surveys",
        pages=(surveys_pages.router,),
        public=(surveys_public.router,),
        commands=(surveys_cli.register,),
        nav=(NavLink("voice", "/surveys", "nav.surveys"),),
    ),
    Domain("tracking", public=(tracking_api.router,)),
    Domain(
        "connectors",
        admin=(connectors_pages.router,),
        connect=(connectors_cli.register_connect,),
        nav=(NavLink("admin", "/connectors", "connectors.nav", admin=True),),
    ),
    Domain(
        "stripe",
        public=(stripe_public.router,),
        commands=(stripe_cli.register,),
        connect=(stripe_cli.register_connect,),
    ),
    Domain(
        "chargebee",
        public=(chargebee_public.router,),
        commands=(chargebee_cli.register,),
        connect=(chargebee_cli.register_connect,),
    ),
    Domain("crm", commands=(crm_cli.register,), connect=(crm_cli.register_connect,)),
    Domain("mail", commands=(mail_cli.register,), connect=(mail_cli.register_connect,)),
    Domain("slack", public=(slack_public.router,), connect=(slack_cli.register_connect,)),
    Domain("teams", pages=(teams_pages.router,), connect=(teams_cli.register_connect,)),
    Domain("assistants", commands=(assistants_cli.register,)),
    # last: playbook triggers read what every step before stored
    Domain(
        "playbooks",
        pages=(playbooks_pages.router, playbooks_api.router),
        commands=(playbooks_cli.register,),
        refresh=Step("playbooks", playbooks_jobs.refresh),
        nav=(NavLink("operations", "/playbooks", "nav.playbooks"),),
    ),
)

#: every table of every domain (``kizuna.models`` imports them all): Alembic's target and the hub readers' schema
METADATA = models.Base.metadata

#: the refresh steps, in data-flow order (the order of :data:`DOMAINS`)
REFRESH_STEPS: tuple[Step, ...] = tuple(d.refresh for d in DOMAINS if d.refresh is not None)


def refresh(
    runtime: Runtime,
    *,
    as_of: dt.date | None = None,
    only: Sequence[str] | None = None,
    act_on_history: bool = False,
) -> dict[str, Any]:
    """``kizuna refresh``: every step of :data:`REFRESH_STEPS` (or those named in ``only``); their summaries."""
    return pipeline.refresh(runtime, REFRESH_STEPS, as_of=as_of, only=only, act_on_history=act_on_history)
