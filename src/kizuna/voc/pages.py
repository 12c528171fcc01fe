"""HTML pages of the voice of the customer: the entries (``/voc``, with CSV and Excel export) and the text analyses
(``/voc/analytics``)."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from kizuna.platform.web import i18n
from kizuna.platform.web.deps import DbSession
from kizuna.platform.web.exports import export_response
from kizuna.platform.web.templating import language_of, render
from kizuna.voc import analyses, service

router = APIRouter(include_in_schema=False)

VOC_VIEWS = ("network", "characteristic", "requests", "lift")


@router.get("/voc", response_class=HTMLResponse)
def voc(
    request: Request,
    channel: str | None = Query(None, max_length=32),
    format: str | None = Query(None, pattern="^(csv|xlsx)$"),
    session: Session = DbSession,
) -> Response:
    entries = service.recent_entries(session, channel=channel or None, limit=5000 if format else 100)
    lang = language_of(request)
    if format:
        t = i18n.translator(lang)
        rows = (
            {
                "recorded_at": e["entry"].recorded_at,
                "account": e["account_name"],
                "channel": e["entry"].channel,
                "text": e["entry"].text,
            }
            for e in entries
        )
        columns = [
            ("recorded_at", "field.date"),
            ("account", "field.account"),
            ("channel", "filter.channel"),
            ("text", "voc.entries"),
        ]
        return export_response(format, filename="voc", columns=[(k, t(label)) for k, label in columns], rows=rows)
    by_channel = service.entries_by_channel(session)
    chart = {
        "kind": "donut",
        "data": [{"name": i18n.translate(lang, f"channel.{k}"), "value": v} for k, v in by_channel.items()],
    }
    return render(
        request,
        "voc/voc.html",
        {"entries": entries, "chart_spec": chart, "channel": channel, "channels": sorted(by_channel)},
    )


@router.get("/voc/analytics", response_class=HTMLResponse)
def voc_analytics(
    request: Request,
    view: str = Query("network", pattern="^(network|characteristic|requests|lift)$"),
    by: str = Query("churned", pattern="^(churned|nps|plan|industry|segment|channel)$"),
    channel: str | None = Query(None, max_length=32),
    session: Session = DbSession,
) -> Response:
    result = analyses.voc_analysis(session, view=view, by=by, channel=channel or None)
    return render(
        request,
        "voc/voc_analytics.html",
        {"view": view, "by": by, "channel": channel, "views": VOC_VIEWS, "result": result},
    )
