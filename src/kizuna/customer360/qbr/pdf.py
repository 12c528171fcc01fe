"""The QBR deck as a PDF: one landscape A4 page per slide, charts drawn as vector shapes, Japanese text in IPA Gothic
embedded as a subset (so the PDF reads the same on any machine and its text can be searched and copied)."""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import TYPE_CHECKING

from kizuna.customer360.qbr.content import Chart, Deck, Slide, Table
from kizuna.errors import ConfigurationError

if TYPE_CHECKING:
    from fpdf import FPDF

FONT_CANDIDATES = (
    # IPA P Gothic first: its Latin letters are proportional (IPA Gothic's are fixed-width, like a terminal's)
    Path("/usr/share/fonts/opentype/ipafont-gothic/ipagp.ttf"),
    Path("/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf"),
    Path("/usr/share/fonts/truetype/fonts-japanese-gothic.ttf"),
    Path("/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf"),
)
FONT = "IPAGothic"

WIDTH, HEIGHT = 297.0, 210.0
MARGIN = 14.0
INK = (33, 37, 41)
MUTED = (108, 117, 125)
ACCENT = (37, 99, 235)
ACCENT_LIGHT = (191, 219, 254)
SECOND = (234, 88, 12)
GRID = (222, 226, 230)
TILE = (241, 245, 249)
WARNING = (185, 28, 28)


def japanese_font() -> Path:
    for path in FONT_CANDIDATES:
        if path.is_file():
            return path
    raise ConfigurationError("no Japanese font for PDF reports: install fonts-ipafont-gothic (./dev.sh does)")


def render_pdf(deck: Deck) -> bytes:
    from fpdf import FPDF

    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.set_auto_page_break(auto=False)
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.add_font(FONT, fname=str(japanese_font()))
    pdf.set_title(f"{deck.account_name} · {deck.title}")
    pdf.set_lang(deck.language)
    pdf.set_creator("kizuna")
    total = len(deck.slides) + 1
    _cover(pdf, deck)
    for number, slide in enumerate(deck.slides, start=2):
        _slide(pdf, deck, slide, number, total)
    return bytes(pdf.output())


def _text(pdf: FPDF, size: float, color: tuple[int, int, int] = INK) -> None:
    pdf.set_font(FONT, size=size)
    pdf.set_text_color(*color)


def _cover(pdf: FPDF, deck: Deck) -> None:
    pdf.add_page()
    pdf.set_fill_color(*ACCENT)
    pdf.rect(0, 0, 12, HEIGHT, style="F")
    if deck.confidential:
        _banner(pdf, deck.confidential)
    pdf.set_xy(MARGIN + 14, 62)
    _text(pdf, 30)
    pdf.multi_cell(WIDTH - 2 * MARGIN - 28, 13, deck.account_name, new_x="LMARGIN", new_y="NEXT")
    pdf.set_x(MARGIN + 14)
    _text(pdf, 20, ACCENT)
    pdf.cell(0, 12, deck.title, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    for line in (deck.period, deck.prepared, deck.presenter):
        if line:
            pdf.set_x(MARGIN + 14)
            _text(pdf, 12, MUTED)
            pdf.cell(0, 8, line, new_x="LMARGIN", new_y="NEXT")


def _banner(pdf: FPDF, text: str) -> None:
    pdf.set_fill_color(*WARNING)
    pdf.rect(0, 0, WIDTH, 7, style="F")
    pdf.set_xy(0, 0.8)
    _text(pdf, 9, (255, 255, 255))
    pdf.cell(WIDTH, 5.5, text, align="C")


def _slide(pdf: FPDF, deck: Deck, slide: Slide, number: int, total: int) -> None:
    pdf.add_page()
    if slide.internal or deck.confidential:
        _banner(pdf, deck.confidential)
    pdf.set_xy(MARGIN, 11)
    _text(pdf, 20)
    pdf.cell(0, 10, slide.title, new_x="LMARGIN", new_y="NEXT")
    _text(pdf, 9, MUTED)
    pdf.cell(0, 5, f"{deck.account_name} · {deck.period}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_draw_color(*ACCENT)
    pdf.set_line_width(0.6)
    pdf.line(MARGIN, 28, WIDTH - MARGIN, 28)
    top = 33.0
    if slide.figures:
        top = _figures(pdf, slide, top)
    bottom = HEIGHT - 16
    inner = WIDTH - 2 * MARGIN
    if slide.empty and slide.chart is None and slide.table is None and not slide.bullets:
        pdf.set_xy(MARGIN, top + 10)
        _text(pdf, 13, MUTED)
        pdf.multi_cell(inner, 8, slide.empty)
    elif slide.chart is not None and slide.table is not None:
        _chart(pdf, slide.chart, slide.chart_title, MARGIN, top, inner * 0.52, bottom - top)
        _table(pdf, slide.table, MARGIN + inner * 0.55, top, inner * 0.45)
    elif slide.chart is not None:
        if slide.bullets or slide.empty:
            _bullets(pdf, slide.bullets or [slide.empty], MARGIN, top + 2, inner * 0.5)
            _chart(pdf, slide.chart, slide.chart_title, MARGIN + inner * 0.54, top, inner * 0.46, bottom - top)
        else:
            _chart(pdf, slide.chart, slide.chart_title, MARGIN, top, inner, bottom - top)
    else:
        y = top
        if slide.table is not None:
            y = _table(pdf, slide.table, MARGIN, top, inner) + 4
        if slide.bullets:
            _bullets(pdf, slide.bullets, MARGIN, y, inner)
        elif slide.empty:
            pdf.set_xy(MARGIN, y + 4)
            _text(pdf, 12, MUTED)
            pdf.multi_cell(inner, 7, slide.empty)
    pdf.set_xy(MARGIN, HEIGHT - 10)
    _text(pdf, 8, MUTED)
    pdf.cell(inner / 2, 5, f"{deck.title} · {deck.prepared}")
    pdf.cell(inner / 2, 5, f"{number} / {total}", align="R")


def _figures(pdf: FPDF, slide: Slide, top: float) -> float:
    per_row = 4
    gap = 4.0
    inner = WIDTH - 2 * MARGIN
    width = (inner - gap * (per_row - 1)) / per_row
    big = slide.chart is None and slide.table is None
    height = 30.0 if big else 21.0
    for i, figure in enumerate(slide.figures):
        row, col = divmod(i, per_row)
        x = MARGIN + col * (width + gap)
        y = top + row * (height + gap)
        pdf.set_fill_color(*TILE)
        pdf.rect(x, y, width, height, style="F", round_corners=True, corner_radius=2)
        pdf.set_xy(x + 3, y + 2)
        _text(pdf, 8.5, MUTED)
        pdf.cell(width - 6, 5, _fit(pdf, figure.label, width - 6))
        pdf.set_xy(x + 3, y + (9 if big else 7.5))
        size = 20.0 if big else 15.0
        _text(pdf, size, INK)
        while size > 10 and pdf.get_string_width(figure.value) > width - 6:
            size -= 1
            _text(pdf, size, INK)
        pdf.cell(width - 6, 10 if big else 8, _fit(pdf, figure.value, width - 6))
        if figure.note:
            pdf.set_xy(x + 3, y + height - 6.5)
            _text(pdf, 7.5, MUTED)
            pdf.cell(width - 6, 4, _fit(pdf, figure.note, width - 6))
    rows = math.ceil(len(slide.figures) / per_row)
    return top + rows * (height + gap) + 2


def _fit(pdf: FPDF, text: str, width: float) -> str:
    """``text`` cut with an ellipsis to fit ``width`` in the current font."""
    if pdf.get_string_width(text) <= width:
        return text
    while text and pdf.get_string_width(text + "…") > width:
        text = text[:-1]
    return text + "…"


def _bullets(pdf: FPDF, bullets: list[str], x: float, y: float, width: float) -> None:
    pdf.set_xy(x, y)
    for bullet in bullets:
        pdf.set_x(x)
        pdf.set_fill_color(*ACCENT)
        pdf.rect(x, pdf.get_y() + 2.6, 2.2, 2.2, style="F")
        pdf.set_x(x + 5)
        _text(pdf, 12)
        pdf.multi_cell(width - 5, 7, bullet, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)


def _table(pdf: FPDF, table: Table, x: float, y: float, width: float) -> float:
    """Draw ``table`` at (x, y) ``width`` wide; the y below it."""
    from fpdf.fonts import FontFace

    left = pdf.l_margin
    pdf.set_left_margin(x)
    pdf.set_xy(x, y)
    _text(pdf, 9)
    pdf.set_fill_color(*TILE)  # fpdf fills the banded rows and draws the lines in the current colours
    pdf.set_draw_color(*GRID)
    pdf.set_line_width(0.2)
    widths = table.relative_widths()
    headings = FontFace(color=(255, 255, 255), fill_color=ACCENT)
    with pdf.table(
        width=width,
        col_widths=widths,
        align="LEFT",
        text_align="LEFT",
        line_height=5.5,
        headings_style=headings,
        borders_layout="HORIZONTAL_LINES",
        cell_fill_color=TILE,
        cell_fill_mode="ROWS",
    ) as grid:
        head = grid.row()
        for cell in table.header:
            head.cell(cell)
        for values in table.rows:
            row = grid.row()
            for value in values:
                row.cell(value)
    below = pdf.get_y()
    pdf.set_left_margin(left)
    return below


def _chart(pdf: FPDF, chart: Chart, title: str, x: float, y: float, width: float, height: float) -> None:
    pdf.set_xy(x, y)
    _text(pdf, 10.5)
    pdf.cell(width, 6, title)
    legend_y = y + 7
    colors = [ACCENT, SECOND, (22, 163, 74)]
    lx = x
    for i, series in enumerate(chart.series):
        pdf.set_fill_color(*colors[i % len(colors)])
        pdf.rect(lx, legend_y + 1.2, 3, 3, style="F")
        _text(pdf, 8, MUTED)
        pdf.set_xy(lx + 4, legend_y)
        pdf.cell(pdf.get_string_width(series.name) + 2, 5.5, series.name)
        lx += pdf.get_string_width(series.name) + 10
    top = legend_y + 8
    if chart.horizontal:
        _horizontal_bars(pdf, chart, x, top, width, y + height - top, colors)
        return
    label_w = 14.0
    px, pw = x + label_w, width - label_w
    ph = y + height - top - 10
    peak = chart.values_max()
    scale = 1.0 if chart.percent and peak <= 1 else _nice(peak)
    pdf.set_line_width(0.2)
    # round ticks: 25 in five steps of 5, 20 in four of 5, 10 in five of 2; shares in quarters
    mantissa = scale / 10 ** math.floor(math.log10(scale))
    steps = 4 if chart.percent or mantissa == 2 else 5
    for step in range(steps + 1):
        tick = scale * step / steps
        gy = top + ph - ph * step / steps
        pdf.set_draw_color(*GRID)
        pdf.line(px, gy, px + pw, gy)
        _text(pdf, 7, MUTED)
        pdf.set_xy(x, gy - 2)
        pdf.cell(label_w - 2, 4, _axis_label(tick, chart.percent), align="R")
    n = len(chart.categories)
    slot = pw / max(n, 1)
    _text(pdf, 7, MUTED)
    widest = max((pdf.get_string_width(c) for c in chart.categories), default=0.0)
    every = max(1, math.ceil((widest + 2) / slot))
    for i, category in enumerate(chart.categories):
        if (n - 1 - i) % every == 0:
            pdf.set_xy(px + i * slot, top + ph + 1.5)
            pdf.cell(slot, 4, category, align="C")
    bars = [s for s in chart.series if s.style == "bar"]
    bar_w = slot * 0.7 / max(len(bars), 1)
    for b, series in enumerate(bars):
        pdf.set_fill_color(*colors[chart.series.index(series) % len(colors)])
        for i, value in enumerate(series.values):
            if value is None or value <= 0:
                continue
            h = ph * min(value / scale, 1.0)
            pdf.rect(px + i * slot + slot * 0.15 + b * bar_w, top + ph - h, bar_w, h, style="F")
    for series in chart.series:
        if series.style != "line":
            continue
        color = colors[chart.series.index(series) % len(colors)]
        pdf.set_draw_color(*color)
        pdf.set_fill_color(*color)
        pdf.set_line_width(0.7)
        points = [
            (px + i * slot + slot / 2, top + ph - ph * min(v / scale, 1.0))
            for i, v in enumerate(series.values)
            if v is not None
        ]
        for (x1, y1), (x2, y2) in itertools.pairwise(points):
            pdf.line(x1, y1, x2, y2)
        for cx, cy in points:
            pdf.rect(cx - 0.9, cy - 0.9, 1.8, 1.8, style="F")
    pdf.set_line_width(0.2)


def _horizontal_bars(
    pdf: FPDF, chart: Chart, x: float, top: float, width: float, height: float, colors: list[tuple[int, int, int]]
) -> None:
    label_w = width * 0.42
    px, pw = x + label_w, width - label_w - 14
    n = len(chart.categories)
    row = min(12.0, height / max(n, 1))
    series = chart.series[0]
    for i, (category, value) in enumerate(zip(chart.categories, series.values, strict=True)):
        cy = top + i * row
        _text(pdf, 8.5)
        pdf.set_xy(x, cy + row / 2 - 2.5)
        pdf.cell(label_w - 2, 5, _fit(pdf, category, label_w - 3))
        pdf.set_fill_color(*ACCENT_LIGHT)
        pdf.rect(px, cy + row * 0.2, pw, row * 0.6, style="F")
        share = 0.0 if value is None else max(0.0, min(float(value), 1.0))
        pdf.set_fill_color(*colors[0])
        if share > 0:
            pdf.rect(px, cy + row * 0.2, pw * share, row * 0.6, style="F")
        _text(pdf, 8.5, MUTED)
        pdf.set_xy(px + pw + 1, cy + row / 2 - 2.5)
        pdf.cell(13, 5, "—" if value is None else f"{share * 100:.0f}%")


def _nice(peak: float) -> float:
    """A round axis maximum at or above ``peak`` (1, 2, 2.5 or 5 times a power of ten)."""
    if peak <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(peak))
    for step in (1, 2, 2.5, 5, 10):
        if peak <= step * power:
            return float(step * power)
    return float(10 * power)


def _axis_label(value: float, percent: bool) -> str:
    if percent:
        return f"{value * 100:.0f}%"
    if value >= 10_000:
        return f"{value / 1000:,.0f}K"
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"
