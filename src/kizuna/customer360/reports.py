"""The QBR / EBR deck of an account (``/accounts/{id}/report``): a page showing the deck, and its downloads as
PowerPoint (``.pptx``) and PDF (``.pdf``), in Japanese or English (``?lang=``), for the customer (the default) or
for the account team (``?audience=internal``: adds churn risk, health drivers, open tasks and MRR).

The deck's content is read per request (a few rows); the drawn files are kept by content
(:mod:`kizuna.customer360.qbr.files`), and opening the page draws the customer's PDF and PowerPoint in the
background, so the download a CSM clicks next is already there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from kizuna.customer360.qbr.content import Audience, Chart, Deck, build_deck
from kizuna.customer360.qbr.files import Format, deck_file, is_kept
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
        },
    )


def _download(
    request: Request, session: Session, account_id: int, lang: str | None, audience: str, fmt: Format
) -> Response:
    deck = _deck(request, session, account_id, lang, audience)
    data = deck_file(deck, fmt, directory=reports_dir(request))
    name = f"qbr-{deck.account_id}-{deck.audience}-{deck.language}.{fmt}"
    return Response(
        data, media_type=MEDIA_TYPES[fmt], headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.get("/accounts/{account_id}/report.pdf")
def qbr_pdf(
    request: Request,
    account_id: Id,
    lang: str | None = LANGUAGE,
    audience: str = AUDIENCE,
    session: Session = DbSession,
) -> Response:
    return _download(request, session, account_id, lang, audience, "pdf")


@router.get("/accounts/{account_id}/report.pptx")
def qbr_pptx(
    request: Request,
    account_id: Id,
    lang: str | None = LANGUAGE,
    audience: str = AUDIENCE,
    session: Session = DbSession,
) -> Response:
    return _download(request, session, account_id, lang, audience, "pptx")
