"""REST API of the voice of the customer (``/api/v1/voc``): entries with filters, and feature-request themes ranked
by the ARR of the accounts that ask. Mounted by the web app behind the ``authorized`` dependency."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pandas as pd
from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from kizuna.platform.web.deps import DbSession
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


@router.get("/entries", summary="VoC entries (newest first) with filters")
def list_entries(
    where: VocFilter = Depends(voc_filter),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=2**31 - 1),
    session: Session = DbSession,
) -> dict[str, Any]:
    frame = voc_entries(session, where=where)
    total = len(frame)
    page = frame.iloc[::-1].iloc[offset : offset + limit]
    return {"total": total, "items": _records(page.loc[:, list(ENTRY_COLUMNS)])}


@router.get("/requests", summary="Feature-request themes ranked by the ARR of the accounts that ask")
def feature_requests(
    where: VocFilter = Depends(voc_filter),
    themes: int | None = Query(None, ge=1, le=100, description="Number of themes (default: chosen from the data)."),
    session: Session = DbSession,
) -> list[dict[str, Any]]:
    frame = analyses.requests(session, where=where, n_themes=themes).drop(columns=["text_ids"], errors="ignore")
    return _records(frame)
