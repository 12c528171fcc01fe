"""The KPI pages of a manager's monthly review, all read from the stored KPI snapshot (``kizuna refresh``):
cohorts (``/cohorts``), unit economics (``/unit-economics``), portfolio usage (``/usage``) and the definitions every
figure links to (``/definitions``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from kizuna.kpis import review, service
from kizuna.platform.web import i18n
from kizuna.platform.web.deps import DbSession
from kizuna.platform.web.templating import language_of, render

router = APIRouter(include_in_schema=False)

#: the figures /definitions explains, in the order a manager reads them (anchors: /definitions#<key>)
DEFINITIONS = (
    "mrr",
    "arr",
    "nrr",
    "grr",
    "logo_churn",
    "arpa",
    "ltv",
    "cac",
    "ltv_to_cac",
    "payback",
    "quick_ratio",
    "leakage",
    "trials",
    "pauses",
    "notices",
    "currencies",
    "onboarding_completion",
    "time_to_value",
    "retention",
    "active_users",
    "stickiness",
    "seat_utilisation",
    "adoption_breadth",
)

COHORT_VIEWS = ("start", "plan", "tier", "tenure")


def _label(t: Callable[..., str], prefix: str, value: Any) -> str:
    """``value`` through the catalogue key ``prefix.value``, or as it is (a plan's name) when there is none."""
    key = f"{prefix}.{value}"
    return t(key) if key in i18n.catalogue("ja") else str(value)


def heatmap(x: list[str], y: list[str], values: list[list[float | None]]) -> dict[str, Any]:
    """A retention heatmap whose rows read top-down in the table's order (a category axis draws its first
    category at the bottom)."""
    last = len(y) - 1
    data = [
        [i, last - j, None if v is None else round(v, 3)] for j, row in enumerate(values) for i, v in enumerate(row)
    ]
    return {"kind": "heatmap", "format": "pct", "x": x, "y": y[::-1], "data": data, "min": 0, "max": 1}


@router.get("/cohorts", response_class=HTMLResponse)
def cohorts(
    request: Request, by: str = Query("start", pattern="^(start|plan|tier|tenure)$"), session: Session = DbSession
) -> Response:
    lang = language_of(request)
    t = i18n.translator(lang)

    def x_of(offsets: list[int]) -> list[str]:
        return [t("kpis.cohorts.month_n", n=o) for o in offsets]

    context: dict[str, Any] = {"by": by, "views": COHORT_VIEWS}
    if by == "tenure":
        rows = review.churn_by_tenure(session)
        context["tenure"] = rows
        context["snapshot_as_of"] = rows.snapshot_as_of
        context["tenure_chart"] = {
            "kind": "bar",
            "format": "pct",
            "categories": [t(f"kpis.tenure.{r['tenure_bucket']}") for r in rows.rows],
            "series": [
                {"name": t("kpis.cohorts.logo_churn"), "data": [r["logo_churn_rate"] for r in rows.rows]},
                {"name": t("kpis.cohorts.revenue_churn"), "data": [r["revenue_churn_rate"] for r in rows.rows]},
            ],
        }
    elif by == "start":
        c = service.cohorts(session)
        groups = [i18n.format_month(m, lang) for m in c.months]
        context.update(
            c=c,
            groups=groups,
            snapshot_as_of=c.snapshot_as_of,
            logo_chart=heatmap(x_of(c.offsets), groups, c.logo),
            revenue_chart=heatmap(x_of(c.offsets), groups, c.revenue),
        )
    else:
        c = review.grouped_cohorts(session, by="plan" if by == "plan" else "touch_tier")
        groups = [_label(t, "kpis.tier", g) if by == "tier" else str(g) for g in c.months]
        context.update(
            c=c,
            groups=groups,
            snapshot_as_of=c.snapshot_as_of,
            logo_chart=heatmap(x_of(c.offsets), groups, c.logo),
            revenue_chart=heatmap(x_of(c.offsets), groups, c.revenue),
        )
    return render(request, "kpis/cohorts.html", context)


@router.get("/unit-economics", response_class=HTMLResponse)
def unit_economics(request: Request, session: Session = DbSession) -> Response:
    lang = language_of(request)
    t = i18n.translator(lang)
    u = review.unit_economics(session)
    channels = review.cac_by_channel(session)
    closed = [m for m in u.months if u.mtd is None or m["month"] != u.mtd["month"]]
    months = [i18n.format_month(m["month"], lang) for m in closed]
    money_chart = {
        "kind": "bar",
        "format": "yen",
        "categories": months,
        "series": [
            {"name": t("kpis.ltv"), "data": [m["ltv_minor"] for m in closed], "color": "#1c7ed6"},
            {"name": t("kpis.cac"), "data": [m["cac_minor"] for m in closed], "color": "#f59f00"},
        ],
    }
    ratio_chart = {
        "kind": "line",
        "categories": months,
        "series": [
            {"name": t("kpis.ltv_to_cac"), "data": [_round(m["ltv_to_cac"]) for m in closed], "color": "#2b8a3e"},
            {"name": t("kpis.payback"), "data": [_round(m["cac_payback_months"]) for m in closed], "color": "#c92a2a"},
            {"name": t("kpis.quick_ratio"), "data": [_round(m["quick_ratio"]) for m in closed], "color": "#7048e8"},
        ],
    }
    channels = [{**row, "label": _label(t, "kpis.channel", row["channel"])} for row in channels]  # (cached rows)
    return render(
        request,
        "kpis/unit_economics.html",
        {"u": u, "closed": closed, "channels": channels, "money_chart": money_chart, "ratio_chart": ratio_chart},
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


@router.get("/usage", response_class=HTMLResponse)
def usage(request: Request, session: Session = DbSession) -> Response:
    lang = language_of(request)
    t = i18n.translator(lang)
    u = review.portfolio_usage(session)
    months = [i18n.format_month(m["month"], lang) for m in u.months]
    mau_chart = {
        "kind": "bar",
        "categories": months,
        "series": [
            {"name": t("kpis.monthly_active_users"), "data": [m["active_users"] for m in u.months], "color": "#1c7ed6"},
            {
                "name": t("kpis.active_accounts"),
                "data": [m["active_accounts"] for m in u.months],
                "type": "line",
                "color": "#495057",
            },
        ],
    }
    plans = [p["plan"] for p in u.by_plan]
    plan_chart = {
        "kind": "bar",
        "format": "pct",
        "categories": plans,
        "series": [
            {"name": t("kpis.seat_utilisation"), "data": [p["seat_utilisation"] for p in u.by_plan]},
            {"name": t("kpis.stickiness"), "data": [p["stickiness"] for p in u.by_plan]},
            {"name": t("kpis.adoption_breadth"), "data": [p["adoption_breadth"] for p in u.by_plan]},
        ],
    }
    last = u.feature_months[-2]["features"] if len(u.feature_months) > 1 else {}
    # most adopted (last complete month) first
    features = sorted({f for m in u.feature_months for f in m["features"]}, key=lambda f: (-(last.get(f) or 0), f))
    feature_labels = {f: _label(t, "kpis.feature", f) for f in features}
    adoption_chart = {
        "kind": "line",
        "format": "pct",
        "categories": [i18n.format_month(m["month"], lang) for m in u.feature_months],
        "series": [
            {"name": feature_labels[f], "data": [m["features"].get(f) for m in u.feature_months]} for f in features
        ],
    }
    return render(
        request,
        "kpis/usage.html",
        {
            "u": u,
            "mau_chart": mau_chart,
            "plan_chart": plan_chart,
            "adoption_chart": adoption_chart,
            "features": features,
            "feature_labels": feature_labels,
        },
    )


@router.get("/definitions", response_class=HTMLResponse)
def definitions(request: Request) -> Response:
    return render(request, "kpis/definitions.html", {"keys": DEFINITIONS})
