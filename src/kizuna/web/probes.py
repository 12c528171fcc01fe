"""``/healthz``: public liveness and database check."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text
from sqlalchemy.orm import Session

from kizuna.platform.web.deps import DbSession

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(session: Session = DbSession) -> dict[str, str]:
    session.execute(text("SELECT 1"))
    return {"status": "ok"}
