"""Segment-compatible tracking endpoints: ``/v1/track``, ``/v1/identify``, ``/v1/group``, ``/v1/page``,
``/v1/batch`` (and ``/v1/import``). Authenticate with HTTP basic auth, the write key (an API key with the ingest
scope) as user name and an empty password, exactly as Segment's libraries do."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session

from kizuna.auth.deps import ingest_principal
from kizuna.auth.service import Principal
from kizuna.platform.web.deps import DbSession, settings_of
from kizuna.tracking import service
from kizuna.tracking.schemas import BatchRequest, IngestResult, SegmentMessage
from kizuna.usage.store import EventStore

router = APIRouter(prefix="/v1", tags=["tracking"])
RESPONSES: dict[int | str, dict[str, str]] = {
    400: {"description": "Invalid message"},
    401: {"description": "Missing or unknown write key"},
    403: {"description": "The key lacks the ingest scope"},
}


def _store(request: Request) -> EventStore:
    return EventStore(settings_of(request).events_dir)


def _one(kind: str, request: Request, message: SegmentMessage, session: Session) -> IngestResult:
    return service.ingest(session, store=_store(request), messages=[(kind, message)])


@router.post("/track", response_model=IngestResult, responses=RESPONSES, summary="Record an action (event)")
def track(
    message: SegmentMessage,
    request: Request,
    _: Principal = Depends(ingest_principal),
    session: Session = DbSession,
) -> IngestResult:
    return _one("track", request, message, session)


@router.post("/page", response_model=IngestResult, responses=RESPONSES, summary="Record a page view")
def page(
    message: SegmentMessage,
    request: Request,
    _: Principal = Depends(ingest_principal),
    session: Session = DbSession,
) -> IngestResult:
    return _one("page", request, message, session)


@router.post("/identify", response_model=IngestResult, responses=RESPONSES, summary="Tie a user to their traits")
def identify(
    message: SegmentMessage,
    request: Request,
    _: Principal = Depends(ingest_principal),
    session: Session = DbSession,
) -> IngestResult:
    return _one("identify", request, message, session)


@router.post("/group", response_model=IngestResult, responses=RESPONSES, summary="Tie a user to an account")
def group(
    message: SegmentMessage,
    request: Request,
    _: Principal = Depends(ingest_principal),
    session: Session = DbSession,
) -> IngestResult:
    return _one("group", request, message, session)


@router.post("/batch", response_model=IngestResult, responses=RESPONSES, summary="Many calls in one request")
def batch(
    body: BatchRequest,
    request: Request,
    _: Principal = Depends(ingest_principal),
    session: Session = DbSession,
) -> IngestResult:
    messages = []
    for msg in body.batch:
        if body.context and msg.context is None:
            msg.context = body.context
        messages.append((msg.type or "track", msg))
    return service.ingest(session, store=_store(request), messages=messages)


@router.post("/import", response_model=IngestResult, responses=RESPONSES, summary="Alias of /v1/batch")
def import_(
    body: BatchRequest,
    request: Request,
    principal: Principal = Depends(ingest_principal),
    session: Session = DbSession,
) -> IngestResult:
    return batch(body, request, principal, session)
