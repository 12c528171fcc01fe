"""``/healthz``: public liveness and database check."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlalchemy import text
from sqlalchemy.orm import Session

from kizuna.web.deps import db_session

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(session: Session = Depends(db_session)) -> dict[str, str]:
    session.execute(text("SELECT 1"))
    return {"status": "ok"}
