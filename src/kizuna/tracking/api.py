"""Segment-compatible tracking endpoints: ``/v1/track``, ``/v1/identify``, ``/v1/group``, ``/v1/page``,
``/v1/batch`` (and ``/v1/import``). A batch keeps its valid messages when some are not (those are reported by
index in ``errors``); bodies may be gzip-compressed (``Content-Encoding: gzip``, as RudderStack's and Segment's
libraries send them). Authenticate with HTTP basic auth, the write key (an API key with the ingest
scope) as user name and an empty password, exactly as Segment's libraries do."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session

from kizuna.auth.deps import ingest_principal
from kizuna.auth.service import Principal
from kizuna.errors import InvalidInput
from kizuna.platform.web.deps import DbSession, settings_of
from kizuna.tracking import service
from kizuna.tracking.schemas import BatchRequest, IngestResult, SegmentMessage
from kizuna.usage.store import EventStore

#: the most a compressed body may inflate to (a batch holds at most 20,000 messages; Segment's limit is 500 KB)
MAX_BODY_BYTES = 64 * 1024 * 1024


class _DecompressedRequest(Request):
    """A request whose body is inflated when it was sent with ``Content-Encoding: gzip`` (or ``deflate``)."""

    async def body(self) -> bytes:
        if not hasattr(self, "_body"):
            raw = await super().body()
            encoding = self.headers.get("content-encoding", "identity").strip().lower()
            if encoding in ("gzip", "x-gzip", "deflate"):
                raw = _inflate(raw, gzip=encoding != "deflate")
            elif encoding not in ("", "identity"):
                raise InvalidInput(f"Content-Encoding {encoding!r} is not supported (gzip, deflate or none)")
            self._body = raw
        return self._body


def _inflate(raw: bytes, *, gzip: bool) -> bytes:
    inflater = zlib.decompressobj(wbits=31 if gzip else 15)
    try:
        body = inflater.decompress(raw, MAX_BODY_BYTES)
    except zlib.error as exc:
        raise InvalidInput(f"the body is not valid {'gzip' if gzip else 'deflate'} data: {exc}") from exc
    if inflater.unconsumed_tail:
        raise InvalidInput(f"the body inflates to more than {MAX_BODY_BYTES:,} bytes")
    return body


class _DecompressingRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def decompressing(request: Request) -> Response:
            return await handle(_DecompressedRequest(request.scope, request.receive))

        return decompressing


router = APIRouter(prefix="/v1", tags=["tracking"], route_class=_DecompressingRoute)


def _store(request: Request) -> EventStore:
    return EventStore(settings_of(request).events_dir)


def _one(kind: str, request: Request, message: SegmentMessage, session: Session) -> IngestResult:
    result = service.ingest(session, store=_store(request), messages=[(kind, message)])
    if result.errors:  # a single call is the whole request: it is refused rather than reported
        raise InvalidInput(result.errors[0].message)
    return result


@router.post("/track", response_model=IngestResult, summary="Record an action (event)")
def track(
    message: SegmentMessage,
    request: Request,
    _: Principal = Depends(ingest_principal),
    session: Session = DbSession,
) -> IngestResult:
    return _one("track", request, message, session)


@router.post("/page", response_model=IngestResult, summary="Record a page view")
def page(
    message: SegmentMessage,
    request: Request,
    _: Principal = Depends(ingest_principal),
    session: Session = DbSession,
) -> IngestResult:
    return _one("page", request, message, session)


@router.post("/identify", response_model=IngestResult, summary="Tie a user to their traits")
def identify(
    message: SegmentMessage,
    request: Request,
    _: Principal = Depends(ingest_principal),
    session: Session = DbSession,
) -> IngestResult:
    return _one("identify", request, message, session)


@router.post("/group", response_model=IngestResult, summary="Tie a user to an account")
def group(
    message: SegmentMessage,
    request: Request,
    _: Principal = Depends(ingest_principal),
    session: Session = DbSession,
) -> IngestResult:
    return _one("group", request, message, session)


@router.post("/batch", response_model=IngestResult, summary="Many calls in one request")
def batch(
    body: BatchRequest,
    request: Request,
    _: Principal = Depends(ingest_principal),
    session: Session = DbSession,
) -> IngestResult:
    return service.ingest(session, store=_store(request), messages=service.parse_batch(body.batch, body.context))


@router.post("/import", response_model=IngestResult, summary="Alias of /v1/batch")
def import_(
    body: BatchRequest,
    request: Request,
    principal: Principal = Depends(ingest_principal),
    session: Session = DbSession,
) -> IngestResult:
    return batch(body, request, principal, session)
