"""HTML pages of the knowledge base: one search box over FAQ articles, playbooks and account notes (Japanese-aware:
Sudachi normalised forms and compounds, BM25), the articles with a form to write one, and an article's page where
it is edited or deleted."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from kizuna.auth.deps import current_principal
from kizuna.auth.service import Principal
from kizuna.knowledge import service
from kizuna.platform.web.deps import DbSession, Id
from kizuna.platform.web.templating import render

router = APIRouter(include_in_schema=False)

KIND = Form("faq", pattern="^(faq|howto|playbook_guide)$")


@router.get("/kb", response_class=HTMLResponse)
def knowledge_base(
    request: Request,
    q: str = Query("", max_length=500),
    source: str = Query("", pattern="^(|article|playbook|note)$"),
    session: Session = DbSession,
) -> HTMLResponse:
    hits = service.search(session, query=q, limit=30, sources=[source] if source else None) if q.strip() else []
    return render(
        request,
        "knowledge/search.html",
        {
            "q": q,
            "source": source,
            "hits": hits,
            "articles": service.articles(session, limit=50),
            "notes": service.recent_notes(session, limit=10),
            "kinds": service.ARTICLE_KINDS,
        },
    )


@router.post("/kb/articles")
def add_article(
    title: str = Form(..., min_length=1, max_length=500),
    body: str = Form(..., min_length=1, max_length=50_000),
    tags: str = Form("", max_length=500),
    kind: str = KIND,
    principal: Principal = Depends(current_principal),
    session: Session = DbSession,
) -> RedirectResponse:
    article = service.add_article(
        session, actor=principal.actor, title=title, body=body, kind=kind, tags=tags.strip() or None
    )
    return RedirectResponse(f"/kb/articles/{article.id}?saved=1", status_code=303)


@router.get("/kb/articles/{article_id}", response_class=HTMLResponse)
def article(
    request: Request,
    article_id: Id,
    saved: int = Query(0, ge=0, le=1),
    session: Session = DbSession,
) -> HTMLResponse:
    return render(
        request,
        "knowledge/article.html",
        {"article": service.get_article(session, article_id), "kinds": service.ARTICLE_KINDS, "saved": saved},
    )


@router.post("/kb/articles/{article_id}")
def edit_article(
    article_id: Id,
    title: str = Form(..., min_length=1, max_length=500),
    body: str = Form(..., min_length=1, max_length=50_000),
    tags: str = Form("", max_length=500),
    kind: str = KIND,
    principal: Principal = Depends(current_principal),
    session: Session = DbSession,
) -> RedirectResponse:
    service.update_article(
        session, actor=principal.actor, article_id=article_id, title=title, body=body, tags=tags, kind=kind
    )
    return RedirectResponse(f"/kb/articles/{article_id}?saved=1", status_code=303)


@router.post("/kb/articles/{article_id}/delete")
def delete_article(
    article_id: Id, principal: Principal = Depends(current_principal), session: Session = DbSession
) -> RedirectResponse:
    service.delete_article(session, actor=principal.actor, article_id=article_id)
    return RedirectResponse("/kb", status_code=303)
