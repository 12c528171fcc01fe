"""HTML pages of the renewal center (upcoming renewals with the model's and the CSM's calls, the gross and net
renewal forecast, recording a call or an outcome), the renewals list, the expansion pipeline with its signals in
words, and the expansion list (``/renewals``, ``/expansion``, with CSV and Excel export)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from kizuna.accounts import service as accounts_service
from kizuna.accounts.schemas import AccountQuery
from kizuna.auth.deps import current_principal
from kizuna.auth.service import Principal
from kizuna.kpis import service as kpis_service
from kizuna.platform.clock import today
from kizuna.platform.paging import Paging
from kizuna.platform.web import i18n
from kizuna.platform.web.deps import DbSession, Id
from kizuna.platform.web.exports import export_response
from kizuna.platform.web.templating import language_of, render
from kizuna.renewals import expansion, service, words
from kizuna.renewals.models import ForecastCall, RenewalOutcome

router = APIRouter(include_in_schema=False)
FORMAT = Query(None, pattern="^(csv|xlsx)$")
PER_PAGE = 50
HORIZONS = (30, 60, 90, 120, 180, 365)
OUTCOME_DAYS = 365


def _export(request: Request, fmt: str, name: str, columns: list[tuple[str, str]], rows: Any) -> Response:
    t = i18n.translator(language_of(request))
    return export_response(fmt, filename=name, columns=[(k, t(label)) for k, label in columns], rows=rows)


def _id_or_none(text: str | None) -> int | None:
    """A picker's value: an id, or nothing for "all" (an empty choice)."""
    return int(text) if text and text.isdigit() and 0 < int(text) < 2**31 else None


def _pages(total: int, page: int) -> tuple[int, int]:
    """The page to show of ``total`` rows (past the last: the last) and how many pages there are."""
    shown = Paging(page, PER_PAGE).within(total)
    return shown.page, shown.pages(total)


def _renewals_on_page(
    session: Session, *, day: dt.date, horizon_days: int, owner_id: int | None, page: int
) -> dict[str, Any]:
    """What the renewal center and the renewals list both show: the forecast over the horizon, one page of its
    renewals (past the last page: the last one) and the horizon and CSM pickers."""
    forecast = service.renewal_forecast(session, today=day, horizon_days=horizon_days, owner_id=owner_id)
    page, pages = _pages(forecast["renewals"], page)
    rows = service.upcoming(
        session, today=day, horizon_days=horizon_days, owner_id=owner_id, limit=PER_PAGE, offset=(page - 1) * PER_PAGE
    )
    return {
        "rows": rows,
        "total": forecast["renewals"],
        "forecast": forecast,
        "horizon_days": horizon_days,
        "horizons": sorted({*HORIZONS, horizon_days}),
        "owner_id": owner_id,
        "owners": accounts_service.team_members(session),
        "page": page,
        "pages": pages,
    }


def _back(request: Request, fallback: str) -> str:
    """Where a form goes back to: the page (with its filters) it was sent from, when that is on this site."""
    referer = request.headers.get("referer", "")
    origin = str(request.base_url).rstrip("/")
    if referer.startswith(origin + fallback):
        return referer[len(origin) :]
    return fallback


def _with_flag(url: str, flag: str) -> str:
    base = "&".join(p for p in url.partition("?")[2].split("&") if p and not p.startswith("done="))
    return f"{url.partition('?')[0]}?{base + '&' if base else ''}done={flag}"


@router.get("/renewal-center", response_class=HTMLResponse)
def renewal_center(
    request: Request,
    horizon_days: int = Query(120, ge=1, le=730),
    owner: str | None = Query(None, alias="owner_id", max_length=12),
    page: int = Query(1, ge=1, le=100_000),
    session: Session = DbSession,
) -> HTMLResponse:
    day = today()
    since = day - dt.timedelta(days=OUTCOME_DAYS)
    return render(
        request,
        "renewals/center.html",
        {
            **_renewals_on_page(session, day=day, horizon_days=horizon_days, owner_id=_id_or_none(owner), page=page),
            "calls": list(ForecastCall),
            "outcome_choices": list(RenewalOutcome),
            "outcomes": service.outcomes(session, since=since, until=day),
            "recent": service.recent_outcomes(session, today=day, days=OUTCOME_DAYS),
            "outcome_days": OUTCOME_DAYS,
            "done": request.query_params.get("done"),
        },
    )


@router.post("/renewal-center/{renewal_id}/call")
def forecast_call(
    request: Request,
    renewal_id: Id,
    call: str = Form(..., max_length=16),
    note: str = Form("", max_length=2000),
    principal: Principal = Depends(current_principal),
    session: Session = DbSession,
) -> RedirectResponse:
    service.set_forecast_call(session, actor=principal.actor, renewal_id=renewal_id, call=call, note=note or None)
    return RedirectResponse(_with_flag(_back(request, "/renewal-center"), "call"), status_code=303)


@router.post("/renewal-center/{renewal_id}/outcome")
def record_outcome(
    request: Request,
    renewal_id: Id,
    outcome: str = Form(..., max_length=16),
    arr_minor: int | None = Form(None, ge=0, le=10**15),
    principal: Principal = Depends(current_principal),
    session: Session = DbSession,
) -> RedirectResponse:
    service.record_outcome(session, actor=principal.actor, renewal_id=renewal_id, outcome=outcome, arr_minor=arr_minor)
    return RedirectResponse(_with_flag(_back(request, "/renewal-center"), "outcome"), status_code=303)


@router.get("/expansion-pipeline", response_class=HTMLResponse)
def expansion_pipeline(
    request: Request,
    kind_given: str | None = Query(None, alias="kind", pattern="^(upsell|cross_sell)?$"),
    signal_given: str | None = Query(None, alias="signal", pattern="^[a-z_]{0,32}$"),
    page: int = Query(1, ge=1, le=100_000),
    session: Session = DbSession,
) -> HTMLResponse:
    kind, signal = kind_given or None, signal_given or None
    pipeline = expansion.expansion_pipeline(
        session, kind=kind, signal=signal, limit=PER_PAGE, offset=(page - 1) * PER_PAGE
    )
    shown, pages = _pages(pipeline["open_total"], page)
    if shown != page:  # past the last page: show the last one
        page = shown
        pipeline = expansion.expansion_pipeline(
            session, kind=kind, signal=signal, limit=PER_PAGE, offset=(page - 1) * PER_PAGE
        )
    t = i18n.translator(language_of(request))
    adoption = expansion.adoption_of(session, sorted({r["account_id"] for r in pipeline["open"] if r["account_id"]}))
    for row in pipeline["open"]:
        row["signal_words"] = [words.signal_words(s, t) for s in row["signals"]]
        row["adoption"] = adoption.get(row["account_id"], {})
    return render(
        request,
        "renewals/pipeline.html",
        {
            "pipeline": pipeline,
            "kind": kind,
            "signal": signal,
            "page": page,
            "pages": pages,
            "done": request.query_params.get("done"),
        },
    )


@router.post("/expansion-pipeline/{opportunity_id}/close")
def close_opportunity(
    request: Request,
    opportunity_id: Id,
    won: bool = Form(...),
    principal: Principal = Depends(current_principal),
    session: Session = DbSession,
) -> RedirectResponse:
    expansion.close_opportunity(session, actor=principal.actor, opportunity_id=opportunity_id, won=won)
    return RedirectResponse(_with_flag(_back(request, "/expansion-pipeline"), "closed"), status_code=303)


@router.get("/renewals", response_class=HTMLResponse)
def renewals(
    request: Request,
    horizon_days: int = Query(90, ge=1, le=730),
    owner: str | None = Query(None, alias="owner_id", max_length=12),
    page: int = Query(1, ge=1, le=100_000),
    format: str | None = FORMAT,
    session: Session = DbSession,
) -> Response:
    owner_id = _id_or_none(owner)
    day = today()
    if format:
        columns = [
            ("renewal_date", "field.renewal"),
            ("account_id", "field.id"),
            ("account_name", "field.account"),
            ("owner_name", "field.owner"),
            ("arr_minor", "metric.arr"),
            ("currency", "field.currency"),
            ("csm_call", "renewals.center.csm_call"),
            ("notice_given", "renewals.center.notice"),
        ]
        t = i18n.translator(language_of(request))
        rows = service.upcoming(session, today=day, horizon_days=horizon_days, owner_id=owner_id)
        for row in rows:
            row["csm_call"] = t(f"renewals.call.{row['csm_call'] or 'none'}")
        return _export(request, format, "renewals", columns, rows)
    return render(
        request,
        "renewals/renewals.html",
        _renewals_on_page(session, day=day, horizon_days=horizon_days, owner_id=owner_id, page=page),
    )


@router.get("/expansion", response_class=HTMLResponse)
def expansion_accounts(request: Request, format: str | None = FORMAT, session: Session = DbSession) -> Response:
    page = accounts_service.list_accounts(
        session, AccountQuery(lifecycle_stage="expansion", sort="-mrr", per_page=200), today=today()
    )
    if format:
        columns = [
            ("id", "field.id"),
            ("name", "field.account"),
            ("owner_name", "field.owner"),
            ("mrr_minor", "metric.mrr"),
        ]
        return _export(request, format, "expansion", columns, (r.model_dump() for r in page.items))
    movements = kpis_service.mrr_movements(session)
    lang = language_of(request)
    chart = {
        "kind": "bar",
        "format": "yen",
        "categories": [i18n.format_month(m["month"], lang) for m in movements],
        "series": [
            {
                "name": i18n.translate(lang, "movement.expansion"),
                "data": [m["expansion"] for m in movements],
                "color": "#1c7ed6",
            },
        ],
    }
    return render(request, "renewals/expansion.html", {"page": page, "chart_spec": chart})
