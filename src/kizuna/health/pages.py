"""HTML pages of health scores: every scorecard (``/health``), one scorecard (``/health/{scorecard}``: its measures
with weights and rules in words, the distribution, the portfolio's history and the backtest against real churn),
and an account's history on every scorecard (``/accounts/{id}/health/history``, around the fragment the customer
360 includes as ``health/account_history.html``).

Everything is read from what ``kizuna refresh`` stored: scores and backtests (no scoring on a request)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from kizuna.analytics.scoring.scorecard import BANDS
from kizuna.auth.deps import current_principal
from kizuna.auth.service import Principal
from kizuna.errors import NotFound
from kizuna.health import service, words
from kizuna.platform.web import i18n
from kizuna.platform.web.deps import DbSession, Id
from kizuna.platform.web.templating import language_of, render

router = APIRouter(include_in_schema=False)

BAND_COLOURS = {"red": "#c92a2a", "yellow": "#f08c00", "green": "#2b8a3e"}


def _cards(request: Request) -> dict[str, Any]:
    """The scorecards in force, the overall one first."""
    cards = service.scorecards(request.app.state.settings)
    return dict(sorted(cards.items(), key=lambda item: (item[0] != "overall", item[0])))


def _words(language: str, cards: dict[str, Any]) -> dict[str, Any]:
    """The helpers the templates use to put a scorecard in words."""
    return {
        "card_title": lambda name: words.scorecard_title(name, language, cards),
        "measure_title": lambda m: words.measure_title(m, language),
        "rule_text": lambda m: words.rule_text(m, language),
        "thresholds_text": lambda c: words.thresholds_text(c, language),
        "card_description": lambda c: words.scorecard_description(c, language),
    }


def _history_charts(history: list[dict[str, Any]], language: str) -> dict[str, Any]:
    t = i18n.translator(language)
    dates = [i18n.format_date(h["as_of"], language) for h in history]
    return {
        "bands": {
            "kind": "bar",
            "categories": dates,
            "series": [
                {"name": t(f"health.band.{b}"), "data": [h.get(b, 0) for h in history], "stack": "bands", "color": c}
                for b, c in BAND_COLOURS.items()
            ],
        },
        "mean": {
            "kind": "line",
            "categories": dates,
            "series": [
                {
                    "name": t("health.mean_score"),
                    "data": [None if h.get("mean_score") is None else round(h["mean_score"], 1) for h in history],
                }
            ],
        },
    }


@router.get("/health", response_class=HTMLResponse)
def scorecards(request: Request, session: Session = DbSession) -> HTMLResponse:
    language = language_of(request)
    cards = _cards(request)
    pages = service.scorecard_pages(session, cards=cards)
    t = i18n.translator(language)
    distribution_chart = {
        "kind": "hbar",
        "categories": [words.scorecard_title(p["card"].name, language, cards) for p in pages],
        "series": [
            {"name": t(f"health.band.{b}"), "data": [p["distribution"][b] for p in pages], "stack": "b", "color": c}
            for b, c in BAND_COLOURS.items()
        ],
    }
    return render(
        request,
        "health/index.html",
        {
            "pages": pages,
            "distribution_chart": distribution_chart,
            "below_random": [p["card"].name for p in pages if service.below_random(p["backtest"])],
            **_words(language, cards),
        },
    )


@router.get("/health/{scorecard}", response_class=HTMLResponse)
def scorecard(
    request: Request, scorecard: str = Path(min_length=1, max_length=64), session: Session = DbSession
) -> HTMLResponse:
    language = language_of(request)
    cards = _cards(request)
    if scorecard not in cards:
        raise NotFound(f"no scorecard {scorecard!r}", scorecard=scorecard)
    page = service.scorecard_pages(session, cards={scorecard: cards[scorecard]})[0]
    t = i18n.translator(language)
    total_weight = sum(m.weight for m in page["card"].measures)
    backtest = page["backtest"]
    charts = {
        **_history_charts(page["history"], language),
        "distribution": {
            "kind": "donut",
            "data": [
                {"name": t(f"health.band.{b}"), "value": page["distribution"][b], "itemStyle": {"color": c}}
                for b, c in BAND_COLOURS.items()
            ],
        },
    }
    if backtest is not None:
        charts["churn_by_band"] = {
            "kind": "bar",
            "format": "pct",
            "categories": [t(f"health.band.{r['band']}") for r in backtest.by_band],
            "series": [{"name": t("health.churn_rate"), "data": [r["churn_rate"] for r in backtest.by_band]}],
        }
    return render(
        request,
        "health/scorecard.html",
        {
            "p": page,
            "total_weight": total_weight,
            "charts": charts,
            "bands": BANDS,
            "below_random": service.below_random(backtest),
            "without_data": service.measures_without_data(session, scorecard=scorecard),
            "proposal": service.read_proposal(request.app.state.settings, scorecard),
            **_words(language, cards),
        },
    )


@router.post("/health/{scorecard}/calibration/approve")
def approve_calibration(
    request: Request,
    scorecard: str = Path(min_length=1, max_length=64),
    principal: Principal = Depends(current_principal),
    session: Session = DbSession,
) -> RedirectResponse:
    """A person approves the pending calibration: it becomes the scorecard's next version."""
    service.approve_proposal(session, actor=principal.actor, settings=request.app.state.settings, scorecard=scorecard)
    return RedirectResponse(f"/health/{scorecard}", status_code=303)


@router.get("/accounts/{account_id}/health/history", response_class=HTMLResponse)
def account_history(request: Request, account_id: Id, session: Session = DbSession) -> HTMLResponse:
    """An account's health history on every scorecard: a page around the fragment the customer 360 includes."""
    language = language_of(request)
    account = service.account_name(session, account_id=account_id)
    history = service.account_history(session, account_id=account_id, language=language, cards=_cards(request))
    context = {"account_id": account_id, "name": account, "health_history": history}
    return render(request, "health/account.html", context)
