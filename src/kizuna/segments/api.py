"""REST API of segments, tiers and coverage (``/api/v1``). Mount with the ``authorized`` dependency."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, status
from sqlalchemy.orm import Session

from kizuna.auth.deps import current_principal
from kizuna.auth.service import Principal
from kizuna.platform.clock import today
from kizuna.platform.paging import Page, Paging
from kizuna.platform.web.deps import DbSession, Pages
from kizuna.segments import service
from kizuna.segments.schemas import AssignIn, Assignment, Book, SegmentIn

router = APIRouter(prefix="/api/v1", tags=["segments"])


def _segment(s: Any) -> dict[str, Any]:
    return {
        "key": s.key,
        "name": s.name,
        "kind": s.kind,
        "definition": s.definition,
        "active": s.active,
        "members": s.member_count,
        "evaluated_at": s.evaluated_at,
    }


@router.get("/segments", summary="Saved segments with member counts")
def list_segments(session: Session = DbSession) -> list[dict[str, Any]]:
    return [_segment(s) for s in service.list_segments(session)]


@router.post("/segments", status_code=status.HTTP_201_CREATED, summary="Save a segment and compute its members")
def create_segment(
    data: SegmentIn, principal: Principal = Depends(current_principal), session: Session = DbSession
) -> dict[str, Any]:
    segment = service.create_segment(
        session,
        actor=principal.actor,
        key=data.key,
        name=data.name,
        definition=data.definition,
        description=data.description,
    )
    service.evaluate_segments(session, actor=principal.actor, today=today(), keys=[data.key])
    return _segment(segment)


@router.get(
    "/segments/{key}/members",
    response_model=Page[dict[str, Any]],
    summary="One page of a segment's current members, by name (with the total count)",
)
def segment_members(
    key: str = Path(max_length=64), paging: Paging = Pages, session: Session = DbSession
) -> Page[dict[str, Any]]:
    total = service.count_members(session, key=key)
    rows = service.segment_members(session, key=key, limit=paging.per_page, offset=paging.offset)
    return Page(items=rows, total=total, page=paging.page, per_page=paging.per_page)


@router.get("/coverage", response_model=list[Book], summary="Books of business against capacity")
def coverage(session: Session = DbSession) -> list[Book]:
    return service.books_of_business(session, today=today())


@router.post("/assignments", response_model=list[Assignment], summary="Assign owners to unowned accounts")
def assign(
    data: AssignIn, principal: Principal = Depends(current_principal), session: Session = DbSession
) -> list[Assignment]:
    return service.assign_accounts(
        session,
        actor=principal.actor,
        today=today(),
        strategy=data.strategy,
        tier=data.tier,
        csm_ids=data.csm_ids,
        account_ids=data.account_ids,
    )
