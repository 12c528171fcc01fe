"""HTML pages of the surveys, behind login: ``/surveys`` (the NPS trend, campaigns and a form to start one, the
detractor loop, silent customers, the latest answers with CSV and Excel export) and a campaign's page
(``/surveys/campaigns/{id}``: who it reaches and the e-mail they get, before it is sent).

The public page where a contact answers a survey is :mod:`kizuna.surveys.public`.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from kizuna.auth.deps import current_principal
from kizuna.auth.service import Principal
from kizuna.platform.clock import today
from kizuna.platform.web import i18n
from kizuna.platform.web.deps import DbSession, Id, settings_of
from kizuna.platform.web.exports import export_response
from kizuna.platform.web.templating import language_of, render
from kizuna.segments.models import Segment
from kizuna.settings import Settings
from kizuna.surveys import service
from kizuna.surveys.models import LoopStatus

router = APIRouter(include_in_schema=False)


@router.get("/surveys", response_class=HTMLResponse)
def surveys(
    request: Request, format: str | None = Query(None, pattern="^(csv|xlsx)$"), session: Session = DbSession
) -> Response:
    responses = service.survey_responses(session, limit=5000 if format else 50)
    lang = language_of(request)
    if format:
        t = i18n.translator(lang)
        rows = (
            {
                "responded_at": r["response"].responded_at,
                "account": r["account_name"],
                "kind": r["response"].kind.upper(),
                "score": r["response"].score,
                "comment": r["response"].comment,
            }
            for r in responses
        )
        columns = [
            ("responded_at", "field.date"),
            ("account", "field.account"),
            ("kind", "survey.kind"),
            ("score", "survey.score"),
            ("comment", "survey.comment"),
        ]
        return export_response(format, filename="surveys", columns=[(k, t(label)) for k, label in columns], rows=rows)
    day = today()
    trend = service.nps_trend(session, today=day)
    chart = {
        "kind": "line",
        "categories": [i18n.format_month(r["month"], lang) for r in trend],
        "series": [{"name": "NPS", "data": [round(r["nps"], 1) for r in trend], "color": "#7048e8"}],
    }
    return render(
        request,
        "surveys/surveys.html",
        {
            "responses": responses,
            "chart_spec": chart,
            "campaigns": service.campaign_status(session),
            "segments": list(session.scalars(select(Segment.name).where(Segment.active).order_by(Segment.name))),
            "detractors": service.detractor_loop(session, today=day, limit=20),
            "silent": service.silent_customers(session, today=day, limit=20),
        },
    )


@router.post("/surveys/campaigns")
def create_campaign(
    name: str = Form(..., min_length=1, max_length=300),
    kind: str = Form(..., pattern="^(nps|csat|ces)$"),
    segment: str = Form("", max_length=300),
    accounts: str = Form("", max_length=20_000),
    champions_only: bool = Form(False),
    principal: Principal = Depends(current_principal),
    session: Session = DbSession,
) -> RedirectResponse:
    """A draft campaign to the contacts of one segment or touch tier (or all); its page previews it."""
    campaign = service.create_campaign(
        session,
        actor=principal.actor,
        name=name,
        kind=kind,
        account_filter=service.segment_condition(segment, accounts),
        contact_filter={"champions_only": True} if champions_only else {},
    )
    return RedirectResponse(f"/surveys/campaigns/{campaign.id}", status_code=303)


@router.get("/surveys/campaigns/{campaign_id}", response_class=HTMLResponse)
def campaign(
    request: Request,
    campaign_id: Id,
    sent: int | None = Query(None, ge=0, le=2**31 - 1),
    session: Session = DbSession,
    settings: Settings = Depends(settings_of),
) -> HTMLResponse:
    preview = service.preview_campaign(
        session,
        campaign_id=campaign_id,
        settings=settings.model_copy(update={"language": language_of(request)}),
        today=today(),
    )
    (status,) = service.campaign_status(session, campaign_id=campaign_id)
    return render(request, "surveys/campaign.html", {"p": preview, "status": status, "sent": sent})


@router.post("/surveys/campaigns/{campaign_id}/send")
def send_campaign(
    campaign_id: Id,
    principal: Principal = Depends(current_principal),
    session: Session = DbSession,
    settings: Settings = Depends(settings_of),
) -> RedirectResponse:
    """Invite the campaign's contacts not invited yet: the e-mails wait in the outbox until this commits."""
    count = service.send_campaign(session, actor=principal.actor, campaign_id=campaign_id, settings=settings)
    return RedirectResponse(f"/surveys/campaigns/{campaign_id}?sent={count}", status_code=303)


@router.post("/surveys/responses/{response_id}/task")
def follow_up(
    response_id: Id, principal: Principal = Depends(current_principal), session: Session = DbSession
) -> RedirectResponse:
    service.follow_up_task(session, actor=principal.actor, response_id=response_id, today=today())
    return RedirectResponse("/surveys#detractors", status_code=303)


@router.post("/surveys/responses/{response_id}/close")
def close_loop(
    response_id: Id,
    note: str = Form("", max_length=2000),
    principal: Principal = Depends(current_principal),
    session: Session = DbSession,
) -> RedirectResponse:
    service.set_loop_status(
        session, actor=principal.actor, response_id=response_id, status=LoopStatus.closed, note=note or None
    )
    return RedirectResponse("/surveys#detractors", status_code=303)


@router.post("/surveys/silent/{account_id}/task")
def reach_out(
    account_id: Id, principal: Principal = Depends(current_principal), session: Session = DbSession
) -> RedirectResponse:
    service.outreach_task(session, actor=principal.actor, account_id=account_id, today=today())
    return RedirectResponse("/surveys#silent", status_code=303)
