"""HTML page of the knowledge base: one search box over articles, playbooks and account notes."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from kizuna.knowledge import service
from kizuna.platform.web.deps import DbSession
from kizuna.platform.web.templating import render

router = APIRouter(tags=["knowledge"])


@router.get("/kb", response_class=HTMLResponse)
def knowledge_base(request: Request, q: str = Query("", max_length=500), session: Session = DbSession) -> HTMLResponse:
    hits = service.search(session, query=q, limit=30) if q.strip() else []
    return render(request, "knowledge/search.html", {"q": q, "hits": hits})
