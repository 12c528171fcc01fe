"""HTML page of The Model funnel (``/funnel``, with CSV and Excel export), from the stored KPI snapshot."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from kizuna.funnel import service
from kizuna.platform.web import i18n
from kizuna.platform.web.deps import DbSession
from kizuna.platform.web.exports import export_response
from kizuna.platform.web.templating import language_of, render

router = APIRouter(include_in_schema=False)


def source_label(language: str, source: str) -> str:
    """A lead source in words (``ads`` -> 広告); a source the catalogue does not know is shown as it was imported."""
    key = f"funnel.source.{source}"
    return i18n.translate(language, key) if key in i18n.catalogue(language) else source


@router.get("/funnel", response_class=HTMLResponse)
def funnel(
    request: Request, format: str | None = Query(None, pattern="^(csv|xlsx)$"), session: Session = DbSession
) -> Response:
    f = service.funnel(session)
    lang = language_of(request)
    t = i18n.translator(lang)
    if format:
        columns = [("stage", "funnel.stage"), ("count", "funnel.count"), ("conversion", "funnel.conversion")]
        rows = [{**s, "stage": t(f"funnel.{s['stage']}")} for s in f["stages"]]
        return export_response(format, filename="the-model", columns=[(k, t(label)) for k, label in columns], rows=rows)
    # (the service's rows are shared between requests: labelled copies)
    f = {
        **f,
        "by_source": [{**r, "source_label": source_label(lang, r["source"])} for r in f["by_source"]],
        "sources": [{**r, "source_label": source_label(lang, r["source"])} for r in f["sources"]],
        "untouched": {
            **f["untouched"],
            "rows": [{**r, "source_label": source_label(lang, r["source"])} for r in f["untouched"]["rows"]],
        },
    }
    chart: dict[str, Any] = {
        "kind": "bar",
        "categories": [t(f"funnel.{s['stage']}") for s in f["stages"]],
        "series": [{"name": t("funnel.count"), "data": [s["count"] for s in f["stages"]], "color": "#b4233c"}],
    }
    velocity = {
        "kind": "hbar",
        "categories": [t(f"funnel.page.{v['transition']}") for v in reversed(f["velocity"])],
        "series": [
            {
                "name": t("funnel.page.median_days"),
                "data": [
                    None if v["median_days"] is None else round(v["median_days"], 1) for v in reversed(f["velocity"])
                ],
                "color": "#1c7ed6",
            }
        ],
    }
    handoff = {
        "kind": "bar",
        "format": "pct",
        "categories": [s["source_label"] for s in f["sources"]],
        "series": [
            {"name": t("funnel.page.win_rate"), "data": [s["win_rate"] for s in f["sources"]], "color": "#495057"},
            {
                "name": t("funnel.page.retained_rate"),
                "data": [s["retained_rate"] for s in f["sources"]],
                "color": "#2b8a3e",
            },
            {
                "name": t("funnel.page.expanded_rate"),
                "data": [s["expanded_rate"] for s in f["sources"]],
                "color": "#1c7ed6",
            },
        ],
    }
    return render(
        request,
        "funnel/funnel.html",
        {"f": f, "chart_spec": chart, "velocity_spec": velocity, "handoff_spec": handoff},
    )
