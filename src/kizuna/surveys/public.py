"""The public survey response page (no login): ``GET /s/{token}`` shows the question, ``POST`` stores the answer.

Mounted without login as the surveys domain's public router (``kizuna.domains``); it needs ``app.state.runtime``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from kizuna.errors import Conflict, InvalidInput, NotFound
from kizuna.runtime import Runtime
from kizuna.surveys.service import QUESTIONS, TITLES, invitation_for_token, record_response
from kizuna.voc.models import SCORE_RANGE

router = APIRouter()

TEXT = {
    "ja": {
        "comment": "よろしければ、その理由をお聞かせください(任意)",
        "submit": "送信する",
        "thanks": "ご回答ありがとうございました。いただいたご意見は、サービス改善に活かしてまいります。",
    },
    "en": {
        "comment": "Could you tell us why? (optional)",
        "submit": "Send",
        "thanks": "Thank you for your answer. We will use it to improve.",
    },
}


@lru_cache(maxsize=1)
def _environment() -> Any:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    return Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=select_autoescape(["html"])
    )


def _render(lang: str, kind: str | None, status: int = 200, **context: Any) -> HTMLResponse:
    lang = lang if lang in TEXT else "ja"
    low, high = SCORE_RANGE.get(kind or "nps", (0, 10))
    html = (
        _environment()
        .get_template("survey_response.html")
        .render(
            lang=lang,
            title=TITLES[lang],
            question=QUESTIONS[kind or "nps"][lang],
            scale=range(low, high + 1),
            comment_label=TEXT[lang]["comment"],
            submit=TEXT[lang]["submit"],
            thanks=TEXT[lang]["thanks"],
            **context,
        )
    )
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


@router.get("/s/{token}", response_class=HTMLResponse, include_in_schema=False)
def survey_page(token: str, request: Request) -> HTMLResponse:
    with _runtime(request).transaction() as session:
        try:
            invitation, campaign = invitation_for_token(session, token)
        except NotFound as exc:
            return _render("ja", None, 404, message=str(exc))
        if invitation.response_id is not None:
            return _render(invitation.language, campaign.kind, done=True)
        return _render(invitation.language, campaign.kind)


@router.post("/s/{token}", response_class=HTMLResponse, include_in_schema=False)
def survey_answer(token: str, request: Request, score: int = Form(...), comment: str = Form("")) -> HTMLResponse:
    runtime = _runtime(request)
    with runtime.transaction() as session:
        try:
            invitation, campaign = invitation_for_token(session, token)
        except NotFound as exc:
            return _render("ja", None, 404, message=str(exc))
        lang, kind = invitation.language, campaign.kind
    try:
        with runtime.transaction(write=True) as session:
            record_response(session, token=token, score=score, comment=comment)
    except Conflict:
        return _render(lang, kind, done=True)
    except InvalidInput as exc:
        return _render(lang, kind, 400, error=str(exc))
    return _render(lang, kind, done=True)
