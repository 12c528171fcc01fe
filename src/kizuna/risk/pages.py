"""HTML page of churn risk (離脱予兆, ``/risk``): the model card with its stored backtest against the health score
and a baseline, the accounts that gave notice, and the riskiest accounts with their reasons in words.

Everything is read from what ``kizuna refresh`` stored (the active model's row and the newest scores)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from kizuna.analytics.risk.behaviour import is_behaviour_feature
from kizuna.analytics.risk.features import CONTEXT_FEATURES
from kizuna.platform.web import i18n
from kizuna.platform.web.deps import DbSession
from kizuna.platform.web.templating import language_of, render
from kizuna.risk import service

router = APIRouter(include_in_schema=False)

BAND_COLOURS = {"high": "#c92a2a", "medium": "#f08c00", "low": "#2b8a3e"}


def method_label(method: str, language: str) -> str:
    """A backtest row's method (``model``, ``baseline``, ``health (overall v1)``) in words."""
    t = i18n.translator(language)
    if method.startswith("health"):
        from kizuna.health.service import scorecard_title

        card = method.partition("(")[2].split(" ")[0] or "overall"
        return t("risk.method.health", card=scorecard_title(card, language))
    return t(f"risk.method.{method}")


def _charts(report: dict[str, Any], language: str) -> dict[str, Any]:
    t = i18n.translator(language)
    metrics = report["backtest"].get("metrics", [])
    # short names: the table beside the chart says what each method is
    labels = [t("risk.method_short." + m["method"].split(" ")[0]) for m in metrics]
    calibration = report["backtest"].get("calibration", {})
    return {
        "bands": {
            "kind": "donut",
            "data": [
                {"name": t(f"risk.band.{b}"), "value": report["bands"].get(b, 0), "itemStyle": {"color": c}}
                for b, c in BAND_COLOURS.items()
            ],
        },
        "backtest": {
            "kind": "hbar",
            "categories": labels,
            "series": [{"name": t("risk.roc_auc"), "data": [m.get("roc_auc") for m in metrics]}],
        },
        "calibration": {
            "kind": "line",
            "format": "pct",
            "categories": [str(r["bin"]) for r in calibration.get("model", [])],
            "series": [
                {"name": t("risk.predicted"), "data": [r["mean_predicted"] for r in calibration.get("model", [])]},
                {"name": t("risk.observed"), "data": [r["observed_rate"] for r in calibration.get("model", [])]},
            ],
        },
    }


@router.get("/risk", response_class=HTMLResponse)
def risk(
    request: Request,
    limit: int = Query(50, ge=10, le=500),
    notice_page: int = Query(1, ge=1, le=100_000),
    session: Session = DbSession,
) -> HTMLResponse:
    language = language_of(request)
    report = service.risk_page(session, language=language, limit=limit, notice_page=notice_page)
    context: dict[str, Any] = {"r": report, "limit": limit}
    if report["model"] is not None:
        features = [f for f in report["model"]["features"] if not is_behaviour_feature(f)]
        context["signal_features"] = [f for f in features if f not in CONTEXT_FEATURES]
        context["context_features"] = [f for f in features if f in CONTEXT_FEATURES]
        context["charts"] = _charts(report, language)
        context["method_label"] = lambda m: method_label(m, language)
    return render(request, "risk/index.html", context)
