"""REST API of the knowledge base (``/api/v1/kb``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status
from pydantic import Field
from sqlalchemy.orm import Session

from kizuna.auth.deps import current_principal
from kizuna.auth.service import Principal
from kizuna.knowledge import service
from kizuna.knowledge.schemas import ArticleIn
from kizuna.platform.web.deps import DbSession

router = APIRouter(prefix="/api/v1/kb", tags=["knowledge"])


@router.get("/search", summary="Search articles, playbooks and account notes (Japanese and English, BM25)")
def search(
    q: str = Query(..., min_length=1, max_length=500),
    limit: int = Query(10, ge=1, le=100),
    source: list[Annotated[str, Field(max_length=16)]] | None = Query(None, max_length=10),
    account_id: int | None = Query(None, ge=1, le=2**31 - 1),
    session: Session = DbSession,
) -> list[dict[str, Any]]:
    hits = service.search(session, query=q, limit=limit, sources=source, account_id=account_id)
    return [h.as_dict() for h in hits]


@router.post("/articles", status_code=status.HTTP_201_CREATED, summary="Add an FAQ / how-to article")
def add_article(
    data: ArticleIn, principal: Principal = Depends(current_principal), session: Session = DbSession
) -> dict[str, Any]:
    article = service.add_article(
        session, actor=principal.actor, title=data.title, body=data.body, kind=data.kind, tags=data.tags
    )
    return {"id": article.id, "language": article.language}
