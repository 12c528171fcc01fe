"""HTML pages: saved segments (rule-based and RFM, their definitions in words, created and edited from the page) with
their members, and coverage (books of business per CSM, capacity per touch tier, assigning unowned accounts)."""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from kizuna.auth.deps import current_principal
from kizuna.auth.service import Principal
from kizuna.errors import Conflict, InvalidInput
from kizuna.platform.clock import today
from kizuna.platform.web import i18n
from kizuna.platform.web.deps import DbSession
from kizuna.platform.web.templating import language_of, render
from kizuna.segments import service, words
from kizuna.segments.models import Segment, SegmentKind
from kizuna.segments.schemas import OPERATORS, Book

router = APIRouter(include_in_schema=False)
MEMBERS_PER_PAGE = 100
UNASSIGNED_SHOWN = 20
#: blank condition rows the segment form offers beyond the segment's own
BLANK_RULES = 3


def _described(request: Request, segment: Segment) -> dict[str, Any]:
    """A segment with its name and definition in the page's words."""
    lang = language_of(request)
    t = i18n.translator(lang)
    catalogue = i18n.catalogue(lang)
    rfm_name = segment.definition.get("rfm_segment")
    if segment.kind == SegmentKind.rfm and rfm_name:
        key = words.rfm_key(rfm_name)
        label = t(key) if key in catalogue else rfm_name
        cells = words.rfm_cells(rfm_name)
        cell_words = t("segments.list_sep").join(t("segments.rfm.cell", r=r, f=f) for r, f in cells)
        return {
            "segment": segment,
            "title": t("segments.rfm.name", name=label),
            "customer_named": False,
            "rules": [],
            "rfm": t("segments.rfm.cells", cells=cell_words),
        }
    return {
        "segment": segment,
        "title": segment.name,
        "customer_named": True,  # a name a person typed: shown as it is
        "rules": words.rule_words(segment.definition, t, catalogue),
        "rfm": None,
    }


def _typed(value: Any) -> str:
    """A rule's value as a person types it (3000000, not 3000000.0)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _form_context(segment: Segment | None = None, t: Any = None) -> dict[str, Any]:
    rules: list[dict[str, str]] = []
    if segment is not None:
        for rule in segment.definition.get("rules", []):
            field = str(rule.get("field", ""))
            op = next((o for o in OPERATORS if o in rule), "eq")
            value = rule.get(op)
            labels = dict(words.value_choices(field, t)) if t is not None else {}
            shown = (
                ", ".join(labels.get(str(v), _typed(v)) for v in value)
                if isinstance(value, list)
                else labels.get(str(value), _typed(value))
            )
            rules.append({"field": field, "op": op, "value": shown})
    rules += [{"field": "", "op": "eq", "value": ""}] * BLANK_RULES
    choices = (
        sorted({label for f in words.VALUE_LABELS for _, label in words.value_choices(f, t)}) if t is not None else []
    )
    return {"form_rules": rules, "form_fields": words.FORM_FIELDS, "operators": OPERATORS, "value_choices": choices}


def _list(request: Request, session: Session, *, error: str | None = None, status_code: int = 200) -> HTMLResponse:
    described = [_described(request, s) for s in service.list_segments(session)]
    return render(
        request,
        "segments/list.html",
        {
            "rule_segments": [d for d in described if d["segment"].kind != SegmentKind.rfm],
            "rfm_segments": sorted(
                (d for d in described if d["segment"].kind == SegmentKind.rfm),
                key=lambda d: words.rfm_order(d["segment"].definition.get("rfm_segment")),
            ),
            "error": error,
            **_form_context(t=i18n.translator(language_of(request))),
        },
        status_code=status_code,
    )


@router.get("/segments", response_class=HTMLResponse)
def segments(request: Request, session: Session = DbSession) -> HTMLResponse:
    return _list(request, session)


@router.post("/segments", response_class=HTMLResponse)
def create_segment(
    request: Request,
    key: str = Form(..., max_length=100),
    name: str = Form(..., max_length=300),
    match: str = Form("all", max_length=8),
    field: list[str] = Form([]),
    op: list[str] = Form([]),
    value: list[str] = Form([]),
    principal: Principal = Depends(current_principal),
    session: Session = DbSession,
) -> Response:
    definition = words.definition_from_form(match, field, op, value, [i18n.catalogue(x) for x in i18n.LANGUAGES])
    try:
        with session.begin_nested():
            service.create_segment(session, actor=principal.actor, key=key.strip(), name=name, definition=definition)
            service.evaluate_segments(session, actor=principal.actor, today=today(), keys=[key.strip()])
    except (InvalidInput, Conflict) as exc:
        return _list(request, session, error=str(exc), status_code=400)
    return RedirectResponse(f"/segments/{key.strip()}?saved=1", status_code=303)


def _members(
    request: Request, session: Session, key: str, page: int, *, error: str | None = None, status_code: int = 200
) -> HTMLResponse:
    segment = service.get_segment(session, key)
    total = service.count_members(session, key=key)
    pages = max(1, -(-total // MEMBERS_PER_PAGE))
    page = min(page, pages)
    members = service.segment_members(session, key=key, limit=MEMBERS_PER_PAGE, offset=(page - 1) * MEMBERS_PER_PAGE)
    return render(
        request,
        "segments/members.html",
        {
            **_described(request, segment),
            "members": members,
            "total": total,
            "page": page,
            "pages": pages,
            "saved": request.query_params.get("saved") == "1",
            "error": error,
            "rfm_scores": lambda reason: words.rfm_reason_words(reason, i18n.translator(language_of(request))),
            "rule_reason": lambda reason: words.rule_reason_words(
                reason, i18n.translator(language_of(request)), i18n.catalogue(language_of(request))
            ),
            **_form_context(segment, t=i18n.translator(language_of(request))),
        },
        status_code=status_code,
    )


@router.get("/segments/{key}", response_class=HTMLResponse)
def segment(
    request: Request, key: str, page: int = Query(1, ge=1, le=100_000), session: Session = DbSession
) -> HTMLResponse:
    return _members(request, session, key, page)


@router.post("/segments/{key}", response_class=HTMLResponse)
def update_segment(
    request: Request,
    key: str,
    name: str = Form("", max_length=300),
    match: str = Form("all", max_length=8),
    field: list[str] = Form([]),
    op: list[str] = Form([]),
    value: list[str] = Form([]),
    active: bool = Form(False),
    principal: Principal = Depends(current_principal),
    session: Session = DbSession,
) -> Response:
    definition = words.definition_from_form(match, field, op, value, [i18n.catalogue(x) for x in i18n.LANGUAGES])
    try:
        with session.begin_nested():
            service.update_segment(
                session, actor=principal.actor, key=key, name=name, definition=definition, active=active
            )
            service.evaluate_segments(session, actor=principal.actor, today=today(), keys=[key])
    except InvalidInput as exc:
        return _members(request, session, key, 1, error=str(exc), status_code=400)
    return RedirectResponse(f"/segments/{key}?saved=1", status_code=303)


#: The coverage figures are kept this long per database and day, and only while no account, capacity or contract
#: line has changed since (the fingerprint); reading every account and summing every live contract line takes about a
#: second on the 50,000-account demo, and every worker process of the app checks the fingerprint itself.
COVERAGE_SECONDS = 300.0
_kept: dict[str, tuple[float, tuple[Any, ...], tuple[list[Book], list[service.TierCoverage]]]] = {}
_kept_lock = threading.Lock()


def _coverage_figures(session: Session, day: dt.date) -> tuple[list[Book], list[service.TierCoverage]]:
    key = f"{session.get_bind().engine.url}"
    fingerprint = (day, *service.coverage_fingerprint(session))
    with _kept_lock:
        kept = _kept.get(key)
        if kept is not None and kept[1] == fingerprint and time.monotonic() - kept[0] < COVERAGE_SECONDS:
            return kept[2]
    acv = service.account_acv(session, today=day)
    figures = (
        service.books_of_business(session, today=day, acv=acv),
        service.coverage_by_tier(session, today=day, acv=acv),
    )
    with _kept_lock:
        _kept[key] = (time.monotonic(), fingerprint, figures)
    return figures


@router.get("/coverage", response_class=HTMLResponse)
def coverage(request: Request, session: Session = DbSession) -> HTMLResponse:
    books, tiers = _coverage_figures(session, today())
    assigned = request.query_params.get("assigned")
    return render(
        request,
        "segments/coverage.html",
        {
            "books": books,
            "tiers": tiers,
            "capacities": service.tier_capacities(session),
            "team_load": sum(b.account_load or 0.0 for b in books),
            "unassigned": service.unassigned_accounts(session, limit=UNASSIGNED_SHOWN),
            "unassigned_total": sum(t.unassigned for t in tiers),
            "assigned": int(assigned) if assigned and assigned.isdigit() else None,
            "capacity_saved": request.query_params.get("saved") == "capacity",
        },
    )


@router.post("/coverage/capacity")
def save_capacity(
    high: int = Form(..., ge=1, le=100_000),
    low: int = Form(..., ge=1, le=100_000),
    tech: int = Form(..., ge=1, le=100_000),
    principal: Principal = Depends(current_principal),
    session: Session = DbSession,
) -> RedirectResponse:
    service.set_tier_capacities(session, actor=principal.actor, capacities={"high": high, "low": low, "tech": tech})
    return RedirectResponse("/coverage?saved=capacity", status_code=303)


@router.post("/coverage/assign")
def assign(
    strategy: str = Form("least_loaded", max_length=16),
    tier: str = Form("", max_length=16),
    principal: Principal = Depends(current_principal),
    session: Session = DbSession,
) -> RedirectResponse:
    done = service.assign_accounts(session, actor=principal.actor, today=today(), strategy=strategy, tier=tier or None)
    return RedirectResponse(f"/coverage?assigned={len(done)}", status_code=303)
