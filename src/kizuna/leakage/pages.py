"""The revenue leakage page (``/leakage``): MRR lost to churn and contraction by churn reason, with ARR."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from kizuna.leakage import service
from kizuna.platform.web import i18n
from kizuna.platform.web.deps import DbSession
from kizuna.platform.web.templating import language_of, render

router = APIRouter(include_in_schema=False)


def leakage_chart(data: service.Leakage, language: str) -> dict[str, object]:
    """ARR lost per reason, churn and contraction stacked (the costliest on top)."""
    t = i18n.translator(language)
    reasons = list(reversed(data.reasons))
    return {
        "kind": "hbar",
        "format": "yen",
        "categories": [t(f"kpis.reason.{r['reason']}") for r in reasons],
        "series": [
            {
                "name": t("kpis.churned_arr"),
                "data": [12 * int(r["churned_minor"]) for r in reasons],
                "stack": "lost",
                "color": "#c92a2a",
            },
            {
                "name": t("kpis.contracted_arr"),
                "data": [12 * int(r["contracted_minor"]) for r in reasons],
                "stack": "lost",
                "color": "#f59f00",
            },
        ],
    }


@router.get("/leakage", response_class=HTMLResponse)
def leakage_page(request: Request, session: Session = DbSession) -> Response:
    data = service.leakage(session)
    return render(request, "leakage/leakage.html", {"l": data, "chart_spec": leakage_chart(data, language_of(request))})
