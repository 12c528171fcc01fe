"""QBR / EBR report per account, as a printable HTML page and as a PDF (fpdf2 with a Japanese TrueType font).

The report is built from the customer 360 (one service call) and shows key figures, MRR history, health and its
drivers, churn risk, success-plan progress and next steps (open tasks), in the page's language.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from kizuna.customer360 import service as accounts_service
from kizuna.customer360.service import Customer360
from kizuna.errors import ConfigurationError
from kizuna.platform.clock import today
from kizuna.platform.web import i18n
from kizuna.platform.web.deps import DbSession, Id
from kizuna.platform.web.templating import language_of, render

router = APIRouter(include_in_schema=False)

FONT_CANDIDATES = (
    Path("/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf"),
    Path("/usr/share/fonts/truetype/fonts-japanese-gothic.ttf"),
    Path("/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf"),
)


def japanese_font() -> Path:
    for path in FONT_CANDIDATES:
        if path.is_file():
            return path
    raise ConfigurationError("no Japanese font for PDF reports: install fonts-ipafont-gothic (./dev.sh does)")


def _lang(request: Request, lang: str | None) -> str:
    return lang if lang in i18n.LANGUAGES else language_of(request)


def report_rows(view: Customer360, language: str) -> dict[str, Any]:
    """The report's content as plain rows (shared by the HTML and the PDF)."""
    t = i18n.translator(language)

    def money(amount_minor: int) -> str:
        return i18n.format_money(amount_minor, view.currency, language)

    kpis = [
        (t("metric.mrr"), money(view.mrr_minor)),
        (t("metric.arr"), money(12 * view.mrr_minor)),
        (t("field.next_renewal"), i18n.format_date(view.next_renewal, language)),
        (t("metric.nps"), "—" if view.nps is None else f"{view.nps:+.0f}"),
        (t("support.open_tickets"), str(view.open_tickets)),
        (t("c360.contacts"), str(len(view.contacts))),
    ]
    risk = view.extras.get("risk")
    if risk is not None:
        kpis.append((t("metric.risk"), i18n.format_percent(risk.probability)))
    mrr = [(i18n.format_month(p.month, language), money(p.mrr_minor)) for p in view.mrr_history[-12:]]
    health = []
    for card in view.extras.get("health", []):
        score = card["score"]
        drivers = ", ".join(
            f"{c.get('measure')} ({float(c.get('contribution') or 0):.0f})" for c in card["contributions"][:4]
        )
        band = t(f"band.{score.band}") if score.band else "—"
        value = "—" if score.score is None else f"{score.score:.0f}"
        health.append((score.scorecard, f"{band} {value}", drivers))
    plan = [
        (
            g["goal"],
            "—" if g["progress"] is None else i18n.format_percent(g["progress"], 0),
            i18n.format_date(g["target_date"], language),
        )
        for g in view.extras.get("success_plan", [])
    ]
    steps = [
        (task.title, i18n.format_date(task.due_on, language), t(f"priority.{task.priority}")) for task in view.tasks
    ]
    return {"kpis": kpis, "mrr": mrr, "health": health, "plan": plan, "steps": steps}


@router.get("/accounts/{account_id}/report", response_class=HTMLResponse)
def qbr_html(
    request: Request,
    account_id: Id,
    lang: str | None = Query(None, pattern="^(ja|en)$"),
    session: Session = DbSession,
) -> Response:
    view = accounts_service.customer_360(session, account_id, today=today())
    language = _lang(request, lang)
    request.state.language = language
    return render(request, "customer360/qbr.html", {"v": view, "r": report_rows(view, language), "today": today()})


@router.get("/accounts/{account_id}/report.pdf")
def qbr_pdf(
    request: Request,
    account_id: Id,
    lang: str | None = Query(None, pattern="^(ja|en)$"),
    session: Session = DbSession,
) -> Response:
    view = accounts_service.customer_360(session, account_id, today=today())
    language = _lang(request, lang)
    pdf = qbr_pdf_bytes(view, language, today())
    filename = f"qbr-{view.account.external_id}.pdf".replace('"', "")
    return Response(
        pdf, media_type="application/pdf", headers={"Content-Disposition": f'inline; filename="{filename}"'}
    )


def qbr_pdf_bytes(view: Customer360, language: str, on: dt.date) -> bytes:
    from fpdf import FPDF

    t = i18n.translator(language)
    rows = report_rows(view, language)
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_font("JP", fname=str(japanese_font()))
    pdf.add_page()
    pdf.set_font("JP", size=18)
    pdf.cell(0, 10, f"{view.account.name}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("JP", size=11)
    pdf.set_text_color(100, 100, 100)
    subtitle = f"{t('report.title')} · {t('report.prepared', date=i18n.format_date(on, language))}"
    pdf.cell(0, 7, subtitle, new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)

    def section(title: str, header: tuple[str, ...], body: list[tuple[str, ...]], widths: tuple[int, ...]) -> None:
        pdf.ln(4)
        pdf.set_font("JP", size=13)
        pdf.cell(0, 8, title, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("JP", size=9)
        if not body:
            pdf.cell(0, 6, t("empty.none"), new_x="LMARGIN", new_y="NEXT")
            return
        from fpdf.fonts import FontFace

        headings = FontFace(emphasis="", fill_color=(238, 241, 245))
        with pdf.table(col_widths=widths, text_align="LEFT", line_height=6, headings_style=headings) as table:
            head = table.row()
            for cell in header:
                head.cell(cell)
            for values in body:
                row = table.row()
                for value in values:
                    row.cell(str(value))

    section(t("report.kpis"), ("", ""), rows["kpis"], (60, 120))
    section(t("c360.mrr_history"), (t("field.month"), t("metric.mrr")), rows["mrr"], (60, 120))
    section(
        t("report.health"), (t("health.scorecard"), t("health.band"), t("risk.driver")), rows["health"], (40, 30, 110)
    )
    section(
        t("report.success_plan"),
        (t("plan.goal"), t("plan.progress"), t("plan.target_date")),
        rows["plan"],
        (110, 30, 40),
    )
    section(t("report.next_steps"), (t("task.title"), t("task.due"), t("task.priority")), rows["steps"], (110, 40, 30))
    return bytes(pdf.output())
