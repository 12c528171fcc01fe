"""The QBR / EBR deck of an account (``/accounts/{id}/report``): a page showing the deck, and its downloads as
PowerPoint (``.pptx``) and PDF (``.pdf``), in Japanese or English (``?lang=``), for the customer (the default) or
for the account team (``?audience=internal``: adds churn risk, health drivers, open tasks and MRR).

The deck's content is read per request (a few rows); the drawn files are kept by content
(:mod:`kizuna.customer360.qbr.files`), and opening the page draws the customer's PDF and PowerPoint in the
background, so the download a CSM clicks next is already there.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, BackgroundTasks, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from kizuna.auth.deps import current_principal
from kizuna.auth.service import Principal
from kizuna.customer360.qbr.content import Audience, Chart, Deck, build_deck
from kizuna.customer360.qbr.files import Format, deck_file, is_kept
from kizuna.errors import InvalidInput, NotFound
from kizuna.lifecycle import service as lifecycle_service
from kizuna.lifecycle.models import SuccessGoal
from kizuna.platform.clock import today
from kizuna.platform.web import i18n
from kizuna.platform.web.deps import DbSession, Id, settings_of
from kizuna.platform.web.templating import language_of, render

router = APIRouter(include_in_schema=False)

MEDIA_TYPES: dict[str, str] = {
    "pdf": "application/pdf",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
LANGUAGE = Query(None, pattern="^(ja|en)$")
AUDIENCE = Query("customer", pattern="^(customer|internal)$")


def reports_dir(request: Request) -> Path:
    return settings_of(request).data_dir / "reports"


def _deck(request: Request, session: Session, account_id: int, lang: str | None, audience: str) -> Deck:
    language = lang if lang in i18n.LANGUAGES else language_of(request)
    chosen: Audience = "internal" if audience == "internal" else "customer"
    return build_deck(
        session, account_id, today=today(), language=language, audience=chosen, settings=settings_of(request)
    )


def chart_spec(chart: Chart) -> dict[str, Any]:
    """The deck's chart as the page's ECharts spec (drawn by kizuna.js); horizontal bars listed bottom-up, as ECharts
    draws them, so that the first goal is on top as in the deck."""
    order = (lambda values: list(reversed(values))) if chart.horizontal else list
    return {
        "kind": "hbar" if chart.horizontal else "bar",
        "format": "pct" if chart.percent else None,
        "categories": order(chart.categories),
        "series": [{"name": s.name, "data": order(s.values), "type": s.style} for s in chart.series],
    }


def _keep(deck: Deck, directory: Path) -> None:
    for fmt in ("pdf", "pptx"):
        if not is_kept(deck, fmt, directory=directory):
            deck_file(deck, fmt, directory=directory)


@router.get("/accounts/{account_id}/report", response_class=HTMLResponse)
def qbr_page(
    request: Request,
    account_id: Id,
    background: BackgroundTasks,
    lang: str | None = LANGUAGE,
    audience: str = AUDIENCE,
    session: Session = DbSession,
) -> Response:
    deck = _deck(request, session, account_id, lang, audience)
    request.state.language = deck.language
    if deck.audience == "customer":
        background.add_task(_keep, deck, reports_dir(request))
    return render(
        request,
        "customer360/qbr.html",
        {
            "deck": deck,
            "charts": {s.key: chart_spec(s.chart) for s in deck.slides if s.chart is not None},
            "other_language": next(lang for lang in i18n.LANGUAGES if lang != deck.language),
            "goals": lifecycle_service.success_plan(session, account_id=account_id, today=today()),
        },
    )


@router.get("/accounts/{account_id}/report.{fmt}")
def qbr_file(
    request: Request,
    account_id: Id,
    fmt: Format,
    lang: str | None = LANGUAGE,
    audience: str = AUDIENCE,
    session: Session = DbSession,
) -> Response:
    """The deck as a PDF or PowerPoint download."""
    deck = _deck(request, session, account_id, lang, audience)
    data = deck_file(deck, fmt, directory=reports_dir(request))
    name = f"qbr-{deck.account_id}-{deck.audience}-{deck.language}.{fmt}"
    return Response(
        data, media_type=MEDIA_TYPES[fmt], headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


def _value(text: str, field: str) -> float | None:
    """A number typed in a form (``1,200`` or ``１２００`` too); blank is None."""
    cleaned = text.strip().replace(",", "").translate(str.maketrans("０１２３４５６７８９．－", "0123456789.-"))
    if not cleaned:
        return None
    try:
        return float(cleaned)
    except ValueError:
        raise InvalidInput(f"{field}: {text!r} is not a number", field=field, value=text) from None


def _back(account_id: int, lang: str | None, audience: str) -> RedirectResponse:
    query = urlencode({k: v for k, v in (("lang", lang), ("audience", audience)) if v})
    return RedirectResponse(f"/accounts/{account_id}/report?{query}#qbr-goals", status_code=303)


@router.post("/accounts/{account_id}/report/goals")
def add_goal(
    account_id: Id,
    goal: str = Form(..., min_length=1, max_length=500),
    unit: str = Form("", max_length=32),
    baseline: str = Form("", max_length=32),
    target: str = Form("", max_length=32),
    target_date: dt.date | None = Form(None),
    lang: str | None = Form(None, pattern="^(ja|en)$"),
    audience: str = Form("customer", pattern="^(customer|internal)$"),
    principal: Principal = Depends(current_principal),
    session: Session = DbSession,
) -> RedirectResponse:
    """A goal agreed with the customer, with how it is measured: it shows on the deck with its result."""
    lifecycle_service.add_goal(
        session,
        actor=principal.actor,
        account_id=account_id,
        goal=goal,
        unit=unit.strip() or None,
        baseline_value=_value(baseline, "baseline"),
        target_value=_value(target, "target"),
        target_date=target_date,
    )
    return _back(account_id, lang, audience)


@router.post("/accounts/{account_id}/report/goals/{goal_id}")
def record_result(
    account_id: Id,
    goal_id: Id,
    current: str = Form(..., max_length=32),
    lang: str | None = Form(None, pattern="^(ja|en)$"),
    audience: str = Form("customer", pattern="^(customer|internal)$"),
    principal: Principal = Depends(current_principal),
    session: Session = DbSession,
) -> RedirectResponse:
    """The goal's result so far (reaching the target marks it achieved)."""
    row = session.get(SuccessGoal, goal_id)
    if row is None or row.account_id != account_id:
        raise NotFound(f"no success goal {goal_id} for account {account_id}", goal_id=goal_id)
    lifecycle_service.update_goal(
        session, actor=principal.actor, goal_id=goal_id, current_value=_value(current, "result")
    )
    return _back(account_id, lang, audience)
