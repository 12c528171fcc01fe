"""The audit log page for administrators (``/audit``): who did what, when, to which record; filters, pages, CSV."""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from kizuna.audit import service
from kizuna.audit.schemas import AuditQuery, AuditRow
from kizuna.platform.web import i18n
from kizuna.platform.web.deps import DbSession, settings_of
from kizuna.platform.web.exports import export_response
from kizuna.platform.web.templating import language_of, render

router = APIRouter(include_in_schema=False)

EXPORT_COLUMNS = (
    ("at", "audit.at"),
    ("actor_kind", "audit.actor_kind"),
    ("actor", "audit.actor"),
    ("action_label", "audit.action"),
    ("action", "audit.action_code"),
    ("entity_label", "audit.entity"),
    ("entity", "audit.entity_code"),
    ("entity_id", "audit.entity_id"),
    ("before", "audit.before"),
    ("after", "audit.after"),
)


def label_of(language: str, group: str, value: str) -> str | None:
    """The label of an action or a target (``audit.action.<value>``), None for one the catalogue does not know yet:
    the page then shows the value itself as code, so a new kind of write never hides from the log."""
    key = f"audit.{group}.{value}"
    return i18n.translate(language, key) if key in i18n.catalogue(language) else None


def _export_row(row: AuditRow, language: str, timezone: str) -> dict[str, Any]:
    t = i18n.translator(language)
    return {
        "at": row.at.astimezone(ZoneInfo(timezone)).isoformat(),
        "actor_kind": t(f"audit.kind.{row.actor.kind}"),
        "actor": row.actor.name,
        "action_label": label_of(language, "action", row.action) or row.action,
        "action": row.action,
        "entity_label": label_of(language, "entity", row.entity) or row.entity,
        "entity": row.entity,
        "entity_id": row.entity_id,
        "before": None if row.before is None else _pretty(row.before, None),
        "after": None if row.after is None else _pretty(row.after, None),
    }


def _pretty(state: dict[str, Any] | None, indent: int | None = 1) -> str:
    return json.dumps(state, ensure_ascii=False, indent=indent, default=str, sort_keys=True)


@router.get("/audit", response_class=HTMLResponse)
def audit_log(
    request: Request,
    query: Annotated[AuditQuery, Query()],
    format: str | None = Query(None, pattern="^(csv|xlsx)$"),
    session: Session = DbSession,
) -> Response:
    language = language_of(request)
    timezone = settings_of(request).timezone
    if format:
        t = i18n.translator(language)
        return export_response(
            format,
            filename="audit-log",
            columns=[(k, t(label)) for k, label in EXPORT_COLUMNS],
            rows=(_export_row(r, language, timezone) for r in service.iter_audit(session, query, timezone=timezone)),
        )
    params = query.model_dump(exclude_defaults=True, exclude={"page"}, mode="json")
    return render(
        request,
        "audit/audit_log.html",
        {
            "page": service.list_audit(session, query, timezone=timezone),
            "query": query,
            "choices": service.audit_choices(session),
            "qs": urlencode(params),
            "label_of": lambda group, value: label_of(language, group, value),
            "pretty": _pretty,
        },
    )
