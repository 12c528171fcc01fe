"""HTML page of The Model funnel (``/funnel``, with CSV and Excel export), from the stored KPI snapshot."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from kizuna.funnel import service
from kizuna.platform.web import i18n
from kizuna.platform.web.deps import DbSession
from kizuna.platform.web.exports import export_response
from kizuna.platform.web.templating import language_of, render

router = APIRouter(include_in_schema=False)


@router.get("/funnel", response_class=HTMLResponse)
def funnel(
    request: Request, format: str | None = Query(None, pattern="^(csv|xlsx)$"), session: Session = DbSession
) -> Response:
    f = service.funnel(session)
    lang = language_of(request)
    if format:
        t = i18n.translator(lang)
        columns = [("stage", "funnel.stage"), ("count", "funnel.count"), ("conversion", "funnel.conversion")]
        return export_response(
            format, filename="the-model", columns=[(k, t(label)) for k, label in columns], rows=f["stages"]
        )
    chart = {
        "kind": "bar",
        "categories": [i18n.translate(lang, f"funnel.{s['stage']}") for s in f["stages"]],
        "series": [
            {
                "name": i18n.translate(lang, "funnel.count"),
                "data": [s["count"] for s in f["stages"]],
                "color": "#b4233c",
            }
        ],
    }
    return render(request, "funnel/funnel.html", {"f": f, "chart_spec": chart})
