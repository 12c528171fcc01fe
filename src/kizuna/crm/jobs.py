"""A CRM sync run: pull each stream page by page (one transaction a page, with its cursor), then push the CS values.

The network is never called inside a transaction; the run log is written in transactions of its own, so a run that
fails halfway is still recorded (``failed``, with what it did) and the next run resumes from the last page committed.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kizuna.connectors import credentials
from kizuna.connectors import service as connectors
from kizuna.connectors.models import ConnectorRun
from kizuna.crm import service
from kizuna.crm.hubspot import HubSpotAdapter
from kizuna.crm.records import STREAMS, CrmAdapter
from kizuna.crm.salesforce import SalesforceAdapter
from kizuna.runtime import Runtime
from kizuna.settings import Settings

log = logging.getLogger(__name__)

Transaction = Callable[[], AbstractContextManager[Session]]


def sync(
    transaction: Transaction,
    adapter: CrmAdapter,
    *,
    actor: str,
    push: bool = True,
    full: bool = False,
    today: dt.date | None = None,
) -> ConnectorRun:
    """Pull companies, contacts and deals changed since each stream's cursor (``full``: every record again), then
    (``push``) write the CS values of the linked accounts whose values changed since their last push. Returns the
    run, closed; re-raises the error that stopped it."""
    vendor = adapter.vendor
    with transaction() as session:
        run_id = connectors.start_run(session, vendor=vendor, kind="pull").id
        if full:
            for stream in STREAMS:
                connectors.save_cursor(session, vendor=vendor, stream=stream, position=None)
    run_log = connectors.RunLog()
    try:
        for stream in STREAMS:
            with transaction() as session:
                since = service.cursor(session, vendor=vendor, stream=stream)
            for page in adapter.pages(stream, since, run_log):
                with transaction() as session:
                    service.apply_page(session, vendor=vendor, page=page, log=run_log)
        if push:
            adapter.prepare_push(run_log)
            with transaction() as session:
                emails = service.csm_emails(session, vendor=vendor)
            owners = adapter.owner_ids(emails, run_log) if emails else {}
            with transaction() as session:
                updates = service.cs_updates(
                    session,
                    vendor=vendor,
                    today=today or dt.datetime.now(dt.UTC).date(),
                    owners=owners,
                    log=run_log,
                )
            if updates:
                pushed = adapter.push(updates, run_log)
                with transaction() as session:
                    service.record_pushed(session, vendor=vendor, updates=updates, pushed=pushed)
    except Exception as error:
        log.warning("%s sync failed: %s", vendor, error)
        with transaction() as session:
            run = session.get(ConnectorRun, run_id)
            assert run is not None
            connectors.finish_run(session, run, run_log, actor=actor, error=f"{type(error).__name__}: {error}"[:2000])
        raise
    with transaction() as session:
        run = session.get(ConnectorRun, run_id)
        assert run is not None
        connectors.finish_run(session, run, run_log, actor=actor)
    log.info("%s sync: %s", vendor, run.counts)
    return run


def hubspot_adapter(settings: Settings) -> HubSpotAdapter:
    """The HubSpot portal of ``kizuna connect hubspot``."""
    values = credentials.require(settings, "hubspot", "access_token")
    return HubSpotAdapter(
        access_token=values["access_token"], host=values.get("host"), currency=values.get("currency", "JPY")
    )


def salesforce_adapter(settings: Settings) -> SalesforceAdapter:
    """The Salesforce org of ``kizuna connect salesforce``: an access token, or a username and password."""
    values = credentials.load(settings, "salesforce")
    if values.get("access_token"):
        values = credentials.require(settings, "salesforce", "instance_url", "access_token")
    else:
        values = credentials.require(settings, "salesforce", "username", "password")
    return SalesforceAdapter(
        instance_url=values.get("instance_url"),
        access_token=values.get("access_token"),
        username=values.get("username"),
        password=values.get("password"),
        security_token=values.get("security_token"),
        domain=values.get("domain"),
        currency=values.get("currency", "JPY"),
    )


ADAPTERS: dict[str, Callable[[Settings], CrmAdapter]] = {"hubspot": hubspot_adapter, "salesforce": salesforce_adapter}


def due(session: Session, *, settings: Settings, now: dt.datetime) -> list[str]:
    """The connected CRMs whose last pull started ``settings.connector_sync_minutes`` or more before ``now``
    (or that never pulled)."""
    every = dt.timedelta(minutes=settings.connector_sync_minutes)
    out = []
    for vendor in credentials.configured(settings):
        if vendor not in ADAPTERS:
            continue
        last = session.scalar(
            select(func.max(ConnectorRun.started_at)).where(ConnectorRun.vendor == vendor, ConnectorRun.kind == "pull")
        )
        if last is None or now - last >= every:
            out.append(vendor)
    return out


def pull_due(runtime: Runtime, *, now: dt.datetime) -> dict[str, str]:
    """The scheduler's CRM step: sync each connected CRM that is due (see :func:`due`); a CRM that fails is
    recorded as a failed run and tried again at its next turn. Returns each synced CRM's run status."""
    with runtime.transaction() as session:
        vendors = due(session, settings=runtime.settings, now=now)
    done = {}
    for vendor in vendors:
        try:
            adapter = ADAPTERS[vendor](runtime.settings)
            run = sync(lambda: runtime.transaction(write=True), adapter, actor="scheduler")
            done[vendor] = str(run.status)
        except Exception as error:  # the run log has it; the scheduler goes on with its other work
            log.warning("scheduled %s sync failed: %s", vendor, error)
            done[vendor] = "failed"
    return done
