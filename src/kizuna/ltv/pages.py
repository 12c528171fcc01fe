"""HTML page of lifetime value and survival (``/ltv``): LTV per plan (sBG), the accounts of highest residual value,
Kaplan–Meier curves by plan or tier and the Cox model's hazard ratios, each with its definition.

Everything is read from what the LTV refresh step stored (no model is fitted on a request)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from kizuna.ltv import service
from kizuna.platform.web import i18n
from kizuna.platform.web.deps import DbSession
from kizuna.platform.web.templating import language_of, render

router = APIRouter(include_in_schema=False)


def segment_label(by: str, segment: str, language: str) -> str:
    """A survival segment in words: a tier by its label, a plan or industry as named in the data."""
    t = i18n.translator(language)
    if segment in ("all", "(none)", "other"):
        return t({"all": "ltv.segment.all", "(none)": "ltv.segment.none", "other": "ltv.segment.other"}[segment])
    if by == "touch_tier":
        return t(f"tier.{segment}")
    return segment


def covariate_label(covariate: str, language: str) -> str:
    """A Cox covariate in words: ``log1p_mrr_minor`` -> "MRR (対数)", ``touch_tier=low`` -> "タッチ: ロータッチ"."""
    t = i18n.translator(language)
    if "=" not in covariate:
        return t(f"ltv.cox.{covariate}")
    column, _, value = covariate.partition("=")
    return t(f"ltv.cox.{column}", value=segment_label(column, value, language))


def _charts(page: dict[str, Any], by: str, language: str) -> dict[str, Any]:
    t = i18n.translator(language)
    charts: dict[str, Any] = {
        "plans": {
            "kind": "hbar",
            "format": "yen",
            "categories": [p.cohort for p in page["plans"]],
            "series": [{"name": t("ltv.ltv"), "data": [p.ltv_minor for p in page["plans"]]}],
        }
    }
    km = page["survival"].get(("kaplan_meier", by))
    if km is not None:
        months = km.result["months"]
        charts["survival"] = {
            "kind": "line",
            "format": "pct",
            "categories": [t("ltv.month_n", n=m) for m in range(months + 1)],
            "series": [
                {"name": segment_label(by, c["segment"], language), "data": c["survival"]} for c in km.result["curves"]
            ],
        }
    cox = page["survival"].get(("cox", "all"))
    if cox is not None:
        rows = cox.result["summary"]
        charts["cox"] = {
            "kind": "hbar",
            "categories": [covariate_label(r["covariate"], language) for r in rows],
            "series": [{"name": t("ltv.hazard_ratio"), "data": [round(r["hazard_ratio"], 3) for r in rows]}],
        }
    return charts


@router.get("/ltv", response_class=HTMLResponse)
def ltv(
    request: Request,
    by: str = Query("plan", pattern="^(all|plan|touch_tier)$"),
    session: Session = DbSession,
) -> HTMLResponse:
    language = language_of(request)
    page = service.ltv_page(session)
    return render(
        request,
        "ltv/index.html",
        {
            "p": page,
            "by": by,
            "segments": service.SURVIVAL_SEGMENTS,
            "charts": _charts(page, by, language),
            "segment_label": lambda s: segment_label(by, s, language),
            "covariate_label": lambda c: covariate_label(c, language),
        },
    )
