"""HTML page of the signup cohorts' logo and revenue retention (``/cohorts``), from the stored KPI snapshot."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from kizuna.kpis import service
from kizuna.platform.web import i18n
from kizuna.platform.web.deps import DbSession
from kizuna.platform.web.templating import language_of, render

router = APIRouter(include_in_schema=False)


@router.get("/cohorts", response_class=HTMLResponse)
def cohorts(request: Request, session: Session = DbSession) -> Response:
    c = service.cohorts(session)
    lang = language_of(request)
    y = [i18n.format_month(m, lang) for m in c.months]

    def heat(values: list[list[float | None]]) -> dict[str, Any]:
        data = [[x, yi, None if v is None else round(v, 3)] for yi, row in enumerate(values) for x, v in enumerate(row)]
        return {
            "kind": "heatmap",
            "format": "pct",
            "x": [str(o) for o in c.offsets],
            "y": y,
            "data": data,
            "min": 0,
            "max": 1,
        }

    return render(request, "kpis/cohorts.html", {"c": c, "logo_chart": heat(c.logo), "revenue_chart": heat(c.revenue)})
