"""HTML page of the survey responses and the NPS trend (``/surveys``, with CSV and Excel export), behind login.

The public page where a contact answers a survey is :mod:`kizuna.surveys.public`.
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from kizuna.platform.clock import today
from kizuna.platform.web import i18n
from kizuna.platform.web.deps import DbSession
from kizuna.platform.web.exports import export_response
from kizuna.platform.web.templating import language_of, render
from kizuna.surveys import service

router = APIRouter(include_in_schema=False)


@router.get("/surveys", response_class=HTMLResponse)
def surveys(
    request: Request, format: str | None = Query(None, pattern="^(csv|xlsx)$"), session: Session = DbSession
) -> Response:
    responses = service.survey_responses(session, limit=5000 if format else 100)
    lang = language_of(request)
    if format:
        t = i18n.translator(lang)
        rows = (
            {
                "responded_at": r["response"].responded_at,
                "account": r["account_name"],
                "kind": r["response"].kind,
                "score": r["response"].score,
                "comment": r["response"].comment,
            }
            for r in responses
        )
        columns = [
            ("responded_at", "field.date"),
            ("account", "field.account"),
            ("kind", "survey.kind"),
            ("score", "survey.score"),
            ("comment", "survey.comment"),
        ]
        return export_response(format, filename="surveys", columns=[(k, t(label)) for k, label in columns], rows=rows)
    trend = service.nps_by_month(session, today=today())
    chart = {
        "kind": "line",
        "categories": [i18n.format_month(r["month"], lang) for r in trend],
        "series": [{"name": "NPS", "data": [round(r["nps"], 1) for r in trend], "color": "#7048e8"}],
    }
    return render(request, "surveys/surveys.html", {"responses": responses, "chart_spec": chart})
