"""HTML pages of the voice of the customer: the entries (``/voc``, with CSV and Excel export and a form per entry to
correct its category) and the text analyses (``/voc/analytics``: frequency, KWIC, co-occurrence network, topics,
sentiment, churn reasons by ARR, feature requests by ARR with their hand-off to product, characteristic words).

The analyses are the ones the refresh step stored (:mod:`kizuna.voc.insights`); only the KWIC search reads texts
per request."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from kizuna.auth.deps import current_principal
from kizuna.auth.service import Principal
from kizuna.platform.web import i18n
from kizuna.platform.web.deps import DbSession, Id, settings_of
from kizuna.platform.web.exports import export_response
from kizuna.platform.web.templating import language_of, render
from kizuna.settings import Settings
from kizuna.voc import insights, service

router = APIRouter(include_in_schema=False)

#: the sections of /voc/analytics, in page order (the anchors of its in-page navigation)
SECTIONS = ("frequency", "kwic", "network", "topics", "sentiment", "reasons", "requests", "characteristic", "lift")
SENTIMENT_COLOURS = {"positive": "#2b8a3e", "neutral": "#adb5bd", "negative": "#e03131", "request": "#1c7ed6"}


@router.get("/voc", response_class=HTMLResponse)
def voc(
    request: Request,
    channel: str | None = Query(None, max_length=32),
    format: str | None = Query(None, pattern="^(csv|xlsx)$"),
    session: Session = DbSession,
) -> Response:
    entries = service.recent_entries(session, channel=channel or None, limit=5000 if format else 100)
    lang = language_of(request)
    t = i18n.translator(lang)
    if format:
        rows = (
            {
                "recorded_at": e["entry"].recorded_at,
                "account": e["account_name"],
                "channel": t(f"channel.{e['entry'].channel}"),
                "category": t(f"voc.category.{e['category']}") if e["category"] else "",
                "text": e["entry"].text,
            }
            for e in entries
        )
        columns = [
            ("recorded_at", "field.date"),
            ("account", "field.account"),
            ("channel", "filter.channel"),
            ("category", "voc.category"),
            ("text", "voc.entries"),
        ]
        return export_response(format, filename="voc", columns=[(k, t(label)) for k, label in columns], rows=rows)
    by_channel = service.entries_by_channel(session)
    chart = {
        "kind": "donut",
        "data": [{"name": t(f"channel.{k}"), "value": v} for k, v in by_channel.items()],
    }
    return render(
        request,
        "voc/voc.html",
        {
            "entries": entries,
            "chart_spec": chart,
            "channel": channel,
            "channels": sorted(by_channel),
            "categories": service.category_names(),
            "corrected": insights.corrected_labels(session),
        },
    )


@router.post("/voc/entries/{entry_id}/label")
def correct_category(
    entry_id: Id,
    category: str = Form(..., max_length=64),
    channel: str = Form("", max_length=32),
    principal: Principal = Depends(current_principal),
    session: Session = DbSession,
) -> RedirectResponse:
    """Give an entry the category a person chose: kept in ``voc_labels``, learnt by the classifier on the next
    refresh, and the entry's category from then on."""
    service.label_entry(session, entry_id=entry_id, category=category, actor=principal.actor)
    query = f"?channel={channel}" if channel else ""
    return RedirectResponse(f"/voc{query}#entry-{entry_id}", status_code=303)


@router.get("/voc/analytics", response_class=HTMLResponse)
def voc_analytics(
    request: Request,
    by: str = Query("churned", pattern="^(churned|nps|plan|industry|segment|channel)$"),
    q: str = Query("", max_length=100),
    section: str | None = Query(None, max_length=32),
    handoff: str | None = Query(None, pattern="^(queued|already)$"),
    session: Session = DbSession,
    settings: Settings = Depends(settings_of),
) -> Response:
    lang = language_of(request)
    stored = insights.stored_insights(session)
    analyses: dict[str, Any] = stored["analyses"]
    charts = _charts(analyses, lang=lang)
    kwic = insights.keyword_in_context(session, word=q) if q.strip() else []
    return render(
        request,
        "voc/voc_analytics.html",
        {
            "stored": stored,
            "a": analyses,
            "charts": charts,
            "by": by,
            "groups": list(insights.CHARACTERISTIC_GROUPS),
            "q": q,
            "kwic": kwic,
            "sections": SECTIONS,
            "section": section,
            "handoff": handoff,
            "webhook_url": settings.voc_product_webhook_url or "",
            "corrected": insights.corrected_labels(session),
            "term": lambda term: term_label(str(term), lang),
        },
    )


NEG = "+NEG"


def term_label(term: str, lang: str) -> str:
    """A term as a person reads it: the text library marks a negated term ``使いやすい+NEG``."""
    if term.endswith(NEG):
        return i18n.translate(lang, "voc.negated_term", term=term.removesuffix(NEG))
    return term


def _charts(analyses: dict[str, Any], *, lang: str) -> dict[str, Any]:
    t = i18n.translator(lang)

    def w(term: str) -> str:
        return term_label(term, lang)

    charts: dict[str, Any] = {}
    frequency = analyses.get("frequency", {}).get("rows", [])[:20]
    if frequency:
        top = list(reversed(frequency))  # the most frequent word on top of a horizontal bar chart
        charts["frequency"] = {
            "kind": "hbar",
            "categories": [w(r["term"]) for r in top],
            "series": [{"name": t("voc.texts"), "data": [r["df"] for r in top], "color": "#1c7ed6"}],
        }
    network = analyses.get("network", {})
    if network.get("edges"):
        used = {e["source"] for e in network["edges"]} | {e["target"] for e in network["edges"]}
        charts["network"] = {
            "kind": "graph",
            "nodes": [
                {"name": w(n["term"]), "value": n["df"], "category": n["community"]}
                for n in network["nodes"]
                if n["term"] in used
            ],
            "links": [
                {"source": w(e["source"]), "target": w(e["target"]), "value": e["jaccard"]} for e in network["edges"]
            ],
        }
    sentiment = analyses.get("sentiment", {})
    if sentiment.get("months"):
        charts["sentiment"] = {
            "kind": "bar",
            "categories": [i18n.format_month(_month(m), lang) for m in sentiment["months"]],
            "series": [
                {"name": t(f"voc.sentiment.{label}"), "data": values, "stack": "s", "color": SENTIMENT_COLOURS[label]}
                for label, values in sentiment["by_month"].items()
            ],
        }
    reasons = analyses.get("churn_reasons", {}).get("rows", [])
    if reasons:
        top = list(reversed(reasons))
        charts["reasons"] = {
            "kind": "hbar",
            "format": "yen",
            "categories": [t(f"voc.category.{r['category']}") for r in top],
            "series": [{"name": t("voc.lost_arr"), "data": [r["lost_arr_minor"] for r in top], "color": "#e03131"}],
        }
    requests = analyses.get("requests", {}).get("rows", [])[:10]
    if requests:
        top = list(reversed(requests))
        charts["requests"] = {
            "kind": "hbar",
            "format": "yen",
            "categories": [r["label"] for r in top],
            "series": [{"name": "ARR", "data": [r["arr_minor"] for r in top], "color": "#7048e8"}],
        }
    return charts


def _month(value: str) -> dt.date:
    return dt.date.fromisoformat(f"{value}-01")


@router.get("/voc/requests")
def feature_requests_export(
    request: Request, format: str = Query("csv", pattern="^(csv|xlsx)$"), session: Session = DbSession
) -> Response:
    """The feature requests ranked by ARR, as the product team takes them: CSV or Excel."""
    t = i18n.translator(language_of(request))
    rows = service.feature_request_handoff(session)
    columns = [
        ("rank", "voc.rank"),
        ("theme", "voc.theme"),
        ("n_accounts", "voc.n_accounts"),
        ("n_texts", "voc.texts"),
        ("arr_minor", "voc.arr_asking"),
        ("accounts", "voc.top_accounts"),
        ("examples", "voc.examples"),
    ]
    return export_response(
        format, filename="feature-requests", columns=[(k, t(label)) for k, label in columns], rows=rows
    )


@router.post("/voc/requests/handoff")
def feature_requests_handoff(
    url: str = Form(..., min_length=8, max_length=2000),
    principal: Principal = Depends(current_principal),
    session: Session = DbSession,
) -> RedirectResponse:
    """Send the ranked feature requests to the product team's webhook (queued in the outbox, delivered after
    commit by the worker)."""
    created = service.hand_off_feature_requests(session, actor=principal.actor, url=url)
    state = "queued" if created else "already"
    return RedirectResponse(f"/voc/analytics?handoff={state}#requests", status_code=303)
