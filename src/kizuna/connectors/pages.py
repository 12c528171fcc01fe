"""``/connectors`` for administrators: every connected system's last run, counts, rejects and next run."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from kizuna.connectors import credentials, service
from kizuna.errors import NotFound
from kizuna.platform.web import i18n
from kizuna.platform.web.deps import DbSession, settings_of
from kizuna.platform.web.templating import language_of, render

router = APIRouter(include_in_schema=False)


def vendor_name(language: str, vendor: str) -> str:
    """The system's name as its maker writes it (``connectors.vendor.<vendor>``); the vendor's key for one the
    catalogue does not know yet."""
    key = f"connectors.vendor.{vendor}"
    return i18n.translate(language, key) if key in i18n.catalogue(language) else vendor


def next_run(row: service.ConnectorStatus, every: dt.timedelta) -> dt.datetime | None:
    """When the scheduler pulls a configured vendor next: its last pull or back-fill plus the interval."""
    run = row.last_run
    if not row.configured or run is None or run.kind not in ("pull", "backfill"):
        return None
    return run.started_at + every


@router.get("/connectors", response_class=HTMLResponse)
def connectors(request: Request, session: Session = DbSession) -> Response:
    settings = settings_of(request)
    every = dt.timedelta(minutes=settings.connector_sync_minutes)
    rows = service.status(session, configured=credentials.configured(settings))
    listed = {r.vendor for r in rows}
    return render(
        request,
        "connectors/connectors.html",
        {
            "rows": rows,
            "available": [vendor for vendor in service.VENDORS if vendor not in listed],
            "next_run": {r.vendor: next_run(r, every) for r in rows},
            "vendor_name": lambda v: vendor_name(language_of(request), v),
        },
    )


@router.get("/connectors/{vendor}", response_class=HTMLResponse)
def connector(request: Request, vendor: str, session: Session = DbSession) -> Response:
    settings = settings_of(request)
    runs = service.recent_runs(session, vendor=vendor)
    sent = service.deliveries(session, vendor=vendor)
    configured = vendor in credentials.configured(settings)
    if not runs and not configured and not (sent and sent.counts) and vendor not in service.VENDORS:
        raise NotFound(f"no connector {vendor!r}", vendor=vendor)
    pulls = [run for run in runs if run.kind in ("pull", "backfill")]
    every = dt.timedelta(minutes=settings.connector_sync_minutes)
    upcoming = pulls[0].started_at + every if pulls and configured else None
    return render(
        request,
        "connectors/connector.html",
        {
            "vendor": vendor_name(language_of(request), vendor),
            "vendor_key": vendor,
            "configured": configured,
            "runs": runs,
            "next_run": upcoming,
            "deliveries": sent,
        },
    )
