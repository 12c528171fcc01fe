"""REST API of the voice of the customer (``/api/v1/voc``): entries with filters, and feature-request themes ranked
by the ARR of the accounts that ask. Mounted by the web app behind the ``authorized`` dependency."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pandas as pd
from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from kizuna.platform.paging import Page, Paging
from kizuna.platform.web.deps import DbSession, Pages
from kizuna.voc import analyses
from kizuna.voc.service import VocFilter, voc_entries

router = APIRouter(prefix="/api/v1/voc", tags=["voc"])

ENTRY_COLUMNS = ("entry_id", "account_id", "channel", "text", "entry_language", "author", "recorded_at")


def voc_filter(
    channel: str | None = Query(None, max_length=32, description="Only this channel (ticket, nps, call, ...)."),
    since: dt.date | None = Query(None, description="Recorded on or after this UTC date."),
    until: dt.date | None = Query(None, description="Recorded before this UTC date."),
    language: str | None = Query(None, max_length=8, description="Only entries in this language (ja, en)."),
    account_id: int | None = Query(None, ge=1, le=2**31 - 1, description="Only this account's entries."),
) -> VocFilter:
    return VocFilter(
        channel=channel or None, since=since, until=until, language=language or None, account_id=account_id
    )


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-safe rows (NaN -> null, timestamps in ISO 8601)."""
    records: list[dict[str, Any]] = json.loads(frame.to_json(orient="records", date_format="iso", force_ascii=False))
    return records


@router.get(
    "/entries",
    response_model=Page[dict[str, Any]],
    summary="One page of VoC entries (newest first) with filters (with the total count)",
)
def list_entries(
    where: VocFilter = Depends(voc_filter), paging: Paging = Pages, session: Session = DbSession
) -> Page[dict[str, Any]]:
    frame = voc_entries(session, where=where)
    shown = frame.iloc[::-1].iloc[paging.offset : paging.offset + paging.per_page]
    items = _records(shown.loc[:, list(ENTRY_COLUMNS)])
    return Page(items=items, total=len(frame), page=paging.page, per_page=paging.per_page)


@router.get("/requests", summary="Feature-request themes ranked by the ARR of the accounts that ask")
def feature_requests(
    where: VocFilter = Depends(voc_filter),
    themes: int | None = Query(None, ge=1, le=100, description="Number of themes (default: chosen from the data)."),
    session: Session = DbSession,
) -> list[dict[str, Any]]:
    frame = analyses.requests(session, where=where, n_themes=themes).drop(columns=["text_ids"], errors="ignore")
    return _records(frame)
