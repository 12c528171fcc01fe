"""HTML pages: saved segments with their members, and CSM coverage (books of business against capacity)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from kizuna.platform.clock import today
from kizuna.platform.web.deps import DbSession
from kizuna.platform.web.templating import render
from kizuna.segments import service

router = APIRouter(tags=["segments"])


@router.get("/segments", response_class=HTMLResponse)
def segments(request: Request, session: Session = DbSession) -> HTMLResponse:
    return render(request, "segments/list.html", {"segments": service.list_segments(session)})


@router.get("/segments/{key}", response_class=HTMLResponse)
def segment(request: Request, key: str, session: Session = DbSession) -> HTMLResponse:
    return render(
        request,
        "segments/members.html",
        {"segment": service.get_segment(session, key), "members": service.segment_members(session, key=key)},
    )


@router.get("/coverage", response_class=HTMLResponse)
def coverage(request: Request, session: Session = DbSession) -> HTMLResponse:
    books = service.books_of_business(session, today=today())
    return render(
        request, "segments/coverage.html", {"books": books, "unassigned": len(service.unassigned_accounts(session))}
    )
