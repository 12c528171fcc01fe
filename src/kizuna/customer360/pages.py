"""HTML pages of the customer 360 (one account's whole story, with its forms) and the CSM's cockpit."""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from kizuna.accounts import service as accounts
from kizuna.activities import service as activities
from kizuna.analytics.scoring.scorecard import load_scorecards
from kizuna.auth.deps import current_principal
from kizuna.auth.service import Principal
from kizuna.customer360 import cockpit, service, words
from kizuna.health import service as health
from kizuna.platform.clock import today
from kizuna.platform.web import i18n
from kizuna.platform.web.deps import DbSession, Id, settings_of
from kizuna.platform.web.templating import language_of, render
from kizuna.risk import service as risk_service
from kizuna.settings import Settings
from kizuna.tasks import service as tasks_service

router = APIRouter(include_in_schema=False)


@router.get("/accounts/{account_id}", response_class=HTMLResponse)
def customer_360(request: Request, account_id: int, session: Session = DbSession) -> Response:
    view = service.customer_360(session, account_id, today=today())
    lang = language_of(request)
    mrr_chart = {
        "kind": "line",
        "format": "yen",
        "categories": [i18n.format_month(p.month, lang) for p in view.mrr_history],
        "series": [
            {
                "name": i18n.translate(lang, "metric.mrr"),
                "data": [p.mrr_minor for p in view.mrr_history],
                "color": "#1c7ed6",
            }
        ],
    }
    titles = scorecard_titles(settings_of(request), lang)
    health_charts = {
        card["score"].scorecard: {
            "kind": "line",
            "categories": [i18n.format_date(h["as_of"], lang) for h in card["history"]],
            "series": [
                {
                    "name": titles.get(card["score"].scorecard, card["score"].scorecard),
                    "data": [h["score"] for h in card["history"]],
                    "color": "#2b8a3e",
                }
            ],
        }
        for card in view.extras.get("health", [])
    }
    day = today()
    risk = cockpit.risks_of(session, [account_id], today=day, day=cockpit.latest_risk_day(session)).get(account_id)
    usage = view.extras.get("usage")
    usage_chart = None
    if usage:
        usage_chart = {
            "kind": "bar",
            "categories": ["DAU", "WAU", "MAU", i18n.translate(lang, "usage.seats")],
            "series": [
                {
                    "name": i18n.translate(lang, "usage.users"),
                    "data": [
                        usage.get("dau") or 0,
                        usage.get("wau") or 0,
                        usage.get("mau") or 0,
                        usage.get("seats") or 0,
                    ],
                    "color": "#1c7ed6",
                }
            ],
        }
    return render(
        request,
        "customer360/customer_360.html",
        {
            "usage_chart": usage_chart,
            "v": view,
            "mrr_chart": mrr_chart,
            "health_charts": health_charts,
            "team": accounts.team_members(session),
            "today": day,
            "snooze_presets": tasks_service.snooze_presets(day),
            "titles": titles,
            "measure_titles": measure_titles(settings_of(request), lang),
            "risk": risk,
            **_risk_in_words(session, account_id, risk, lang),
        },
    )


def _reason(found: Any, risk: cockpit.Risk, lang: str) -> str:
    """Why an account is at risk, in one sentence: the risk domain's strongest signal, else the stored driver."""
    if found is not None and found.signals:
        return str(found.signals[0])
    return words.driver_words(risk.top_driver, lang, notice_given=risk.notice_given)


def _risk_in_words(session: Session, account_id: int, risk: cockpit.Risk | None, lang: str) -> dict[str, Any]:
    """The account's churn risk as sentences: the reason (the strongest signal), the signals a CSM can act on and,
    apart, the context; the risk domain's sentences (:func:`kizuna.risk.service.reasons`), else the stored drivers
    through this domain's labels."""
    found = risk_service.reasons(session, [account_id], lang).get(account_id)
    if found is not None:
        signals, context = list(found.signals), list(found.context)
    elif risk is not None:
        signals = [words.driver_words(d, lang) for d in risk.drivers if not words.is_context(d)]
        context = [words.driver_words(d, lang) for d in risk.drivers if words.is_context(d)]
    else:
        signals, context = [], []
    notice = bool(risk and risk.notice_given)
    reason = signals[0] if signals else words.driver_words(risk.top_driver if risk else None, lang, notice_given=notice)
    return {"reason": reason, "risk_signals": signals, "risk_context": context}


def scorecard_titles(settings: Settings, lang: str) -> dict[str, str]:
    """Each scorecard's title in ``lang`` from its YAML (its name when it has none)."""
    return _titles(_scorecard_files(settings), lang)[0]


def measure_titles(settings: Settings, lang: str) -> dict[tuple[str, str], str]:
    """Each measure's title in ``lang`` by (scorecard, measure), from the scorecards' YAML."""
    return _titles(_scorecard_files(settings), lang)[1]


def _scorecard_files(settings: Settings) -> tuple[tuple[str, int], ...]:
    return tuple((str(p), p.stat().st_mtime_ns) for p in health.scorecard_paths(settings))


@functools.lru_cache(maxsize=32)
def _titles(files: tuple[tuple[str, int], ...], lang: str) -> tuple[dict[str, str], dict[tuple[str, str], str]]:
    """Titles read once per version of the scorecard files (parsing the YAML cost a busy 360 tens of ms)."""
    cards = load_scorecards([Path(p) for p, _ in files])
    return (
        {name: card.title.get(lang) or card.title.get("ja") or name for name, card in cards.items()},
        {
            (name, m.name): m.title.get(lang) or m.title.get("ja") or m.name
            for name, card in cards.items()
            for m in card.measures
        },
    )


@router.post("/accounts/{account_id}/activities")
def log_activity(
    account_id: Id,
    kind: str = Form("note", pattern="^(meeting|call|email|note|qbr)$"),
    subject: str = Form(..., min_length=1, max_length=500),
    body: str = Form("", max_length=20_000),
    principal: Principal = Depends(current_principal),
    session: Session = DbSession,
) -> RedirectResponse:
    activities.log_activity(
        session,
        actor=principal.actor,
        account_id=account_id,
        kind=kind,
        subject=subject,
        body=body or None,
        author_id=principal.team_member_id,
    )
    return RedirectResponse(f"/accounts/{account_id}#timeline", status_code=303)


@router.post("/accounts/{account_id}/tasks")
def create_task(
    account_id: Id,
    title: str = Form(..., min_length=1, max_length=500),
    due_on: dt.date | None = Form(None),
    priority: str = Form("normal", pattern="^(low|normal|high|urgent)$"),
    owner_id: int = Form(0, ge=0),
    reason: str = Form("", max_length=5000),
    principal: Principal = Depends(current_principal),
    session: Session = DbSession,
) -> RedirectResponse:
    accounts.get_account(session, account_id)
    tasks_service.create_task(
        session,
        actor=principal.actor,
        title=title,
        account_id=account_id,
        owner_id=owner_id or principal.team_member_id,
        reason=reason or None,
        priority=priority,
        due_on=due_on,
        source="web",
    )
    return RedirectResponse(f"/accounts/{account_id}#tasks", status_code=303)


@router.post("/accounts/{account_id}/overrides")
def record_override(
    account_id: Id,
    scorecard: str = Form(..., min_length=1, max_length=64),
    band: str = Form(..., pattern="^(red|yellow|green)$"),
    reason: str = Form(..., min_length=1, max_length=5000),
    expires_on: dt.date = Form(...),
    principal: Principal = Depends(current_principal),
    session: Session = DbSession,
) -> RedirectResponse:
    accounts.get_account(session, account_id)
    health.record_override(
        session,
        actor=principal.actor,
        account_id=account_id,
        scorecard=scorecard,
        band=band,
        reason=reason,
        expires_on=expires_on,
    )
    return RedirectResponse(f"/accounts/{account_id}#health", status_code=303)


@router.get("/me", response_class=HTMLResponse)
def my_cockpit(
    request: Request,
    owner_id: int | None = Query(None, ge=0, le=2**31),
    principal: Principal = Depends(current_principal),
    session: Session = DbSession,
) -> Response:
    """The cockpit of ``owner_id``, else of the user's team member; without either, every CSM's book to choose from."""
    day = today()
    lang = language_of(request)
    member = owner_id or principal.team_member_id
    view = cockpit.my_cockpit(session, team_member_id=member, today=day)
    reasons = risk_service.reasons(session, [a.account_id for a in view.at_risk], lang)
    return render(
        request,
        "customer360/cockpit.html",
        {
            "c": view,
            "team": accounts.team_members(session),
            "snooze_presets": tasks_service.snooze_presets(day),
            "reason": lambda a: _reason(reasons.get(a.account_id), a.risk, lang),
            "today": day,
        },
    )
