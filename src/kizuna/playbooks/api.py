"""REST API of the playbooks (``/api/v1/playbooks``): the run log, what each firing did to an account and what its
queued jobs (tasks, e-mails, webhooks) have done since, one page at a time."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from kizuna.platform.paging import Page, Paging
from kizuna.platform.web.deps import DbSession, Pages
from kizuna.playbooks import service

router = APIRouter(prefix="/api/v1", tags=["playbooks"])


@router.get(
    "/playbooks/runs",
    response_model=Page[dict[str, Any]],
    summary="One page of the run log, newest first, with each firing's jobs and their status (with the total count)",
)
def run_log(
    key: str | None = Query(None, max_length=100, description="Only this playbook's runs."),
    paging: Paging = Pages,
    session: Session = DbSession,
) -> Page[dict[str, Any]]:
    return service.page_run_log(session, key=key, paging=paging)
