"""The QBR deck as PowerPoint (python-pptx): a 16:9 deck whose charts are PowerPoint charts (their data can be edited
in PowerPoint) and whose text is text, so a CSM can adjust a slide before sending it.

Text runs name a Japanese typeface for East Asian characters (Meiryo, Windows' and Office's UI font; PowerPoint on a
Mac substitutes Hiragino) and a Latin one for the rest.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from kizuna.customer360.qbr.content import Chart, Deck, Slide, Table

if TYPE_CHECKING:
    from pptx.slide import Slide as PptxSlide
    from pptx.text.text import TextFrame

LATIN_FONT = "Segoe UI"
EAST_ASIAN_FONT = "Meiryo"
INK = (0x21, 0x25, 0x29)
MUTED = (0x6C, 0x75, 0x7D)
ACCENT = (0x25, 0x63, 0xEB)
SECOND = (0xEA, 0x58, 0x0C)
TILE = (0xF1, 0xF5, 0xF9)
WARNING = (0xB9, 0x1C, 0x1C)


def render_pptx(deck: Deck) -> bytes:
    from pptx import Presentation
    from pptx.util import Inches

    prs = Presentation()
    prs.slide_width = Inches(13.333)
    prs.slide_height = Inches(7.5)
    prs.core_properties.title = f"{deck.account_name} · {deck.title}"
    prs.core_properties.author = "kizuna"
    prs.core_properties.language = deck.language
    blank = prs.slide_layouts[6]
    _cover(prs.slides.add_slide(blank), deck)
    for slide in deck.slides:
        _slide(prs.slides.add_slide(blank), deck, slide)
    out = io.BytesIO()
    prs.save(out)
    return out.getvalue()


def _rgb(color: tuple[int, int, int]) -> Any:
    from pptx.dml.color import RGBColor

    return RGBColor(*color)


def _write(
    frame: TextFrame,
    text: str,
    *,
    size: float,
    color: tuple[int, int, int] = INK,
    bold: bool = False,
    new_paragraph: bool = False,
) -> None:
    from pptx.oxml.ns import qn
    from pptx.util import Pt

    paragraph = frame.add_paragraph() if new_paragraph else frame.paragraphs[0]
    run = paragraph.add_run()
    run.text = text
    font = run.font
    font.size = Pt(size)
    font.bold = bold
    font.name = LATIN_FONT
    font.color.rgb = _rgb(color)
    properties = run._r.get_or_add_rPr()
    east_asian = properties.find(qn("a:ea"))
    if east_asian is None:
        east_asian = properties.makeelement(qn("a:ea"), {})
        properties.append(east_asian)
    east_asian.set("typeface", EAST_ASIAN_FONT)


def _box(slide: PptxSlide, left: float, top: float, width: float, height: float) -> TextFrame:
    from pptx.util import Inches

    shape = slide.shapes.add_textbox(Inches(left), Inches(top), Inches(width), Inches(height))
    frame = shape.text_frame
    frame.word_wrap = True
    return frame


def _rect(slide: PptxSlide, left: float, top: float, width: float, height: float, color: tuple[int, int, int]) -> Any:
    from pptx.enum.shapes import MSO_SHAPE
    from pptx.util import Inches

    shape = slide.shapes.add_shape(MSO_SHAPE.RECTANGLE, Inches(left), Inches(top), Inches(width), Inches(height))
    shape.fill.solid()
    shape.fill.fore_color.rgb = _rgb(color)
    shape.line.fill.background()
    return shape


def _banner(slide: PptxSlide, text: str) -> None:
    from pptx.enum.text import PP_ALIGN

    shape = _rect(slide, 0, 0, 13.333, 0.32, WARNING)
    frame = shape.text_frame
    _write(frame, text, size=11, color=(255, 255, 255), bold=True)
    frame.paragraphs[0].alignment = PP_ALIGN.CENTER


def _cover(slide: PptxSlide, deck: Deck) -> None:
    _rect(slide, 0, 0, 0.45, 7.5, ACCENT)
    if deck.confidential:
        _banner(slide, deck.confidential)
    frame = _box(slide, 1.1, 2.2, 11.5, 3.8)
    _write(frame, deck.account_name, size=36, bold=True)
    _write(frame, deck.title, size=24, color=ACCENT, new_paragraph=True)
    for line in (deck.period, deck.prepared, deck.presenter):
        if line:
            _write(frame, line, size=14, color=MUTED, new_paragraph=True)


def _slide(slide: PptxSlide, deck: Deck, content: Slide) -> None:
    if content.internal or deck.confidential:
        _banner(slide, deck.confidential)
    title = _box(slide, 0.5, 0.4, 12.3, 0.7)
    _write(title, content.title, size=26, bold=True)
    _write(title, f"{deck.account_name} · {deck.period}", size=11, color=MUTED, new_paragraph=True)
    _rect(slide, 0.5, 1.28, 12.33, 0.03, ACCENT)
    top = 1.5
    if content.figures:
        top = _figures(slide, content, top)
    bottom = 7.1
    if content.empty and content.chart is None and content.table is None and not content.bullets:
        frame = _box(slide, 0.5, top + 0.3, 12.3, 1.5)
        _write(frame, content.empty, size=16, color=MUTED)
    elif content.chart is not None and content.table is not None:
        _chart(slide, content.chart, content.chart_title, 0.5, top, 6.0, bottom - top)
        _table(slide, content.table, 6.7, top, 6.1)
    elif content.chart is not None:
        if content.bullets or content.empty:
            _bullets(slide, content.bullets or [content.empty], 0.5, top + 0.1, 6.0)
            _chart(slide, content.chart, content.chart_title, 6.8, top, 6.0, bottom - top)
        else:
            _chart(slide, content.chart, content.chart_title, 0.5, top, 12.3, bottom - top)
    else:
        y = top
        if content.table is not None:
            y = _table(slide, content.table, 0.5, top, 12.3) + 0.3
        if content.bullets:
            _bullets(slide, content.bullets, 0.5, y, 12.3)
        elif content.empty:
            _write(_box(slide, 0.5, y, 12.3, 1.0), content.empty, size=14, color=MUTED)
    footer = _box(slide, 0.5, 7.05, 12.3, 0.35)
    _write(footer, f"{deck.title} · {deck.prepared}", size=9, color=MUTED)


def _figures(slide: PptxSlide, content: Slide, top: float) -> float:
    from pptx.enum.text import MSO_ANCHOR, PP_ALIGN

    per_row, gap = 4, 0.18
    width = (12.33 - gap * (per_row - 1)) / per_row
    big = content.chart is None and content.table is None
    height = 1.25 if big else 0.88
    for i, figure in enumerate(content.figures):
        row, col = divmod(i, per_row)
        left, y = 0.5 + col * (width + gap), top + row * (height + gap)
        shape = _rect(slide, left, y, width, height, TILE)
        frame = shape.text_frame
        frame.word_wrap = True
        frame.vertical_anchor = MSO_ANCHOR.TOP
        _write(frame, figure.label, size=10, color=MUTED)
        # a long value (a plan's name, a date) in a smaller size rather than wrapped over two lines
        size = (24 if big else 18) if len(figure.value) <= 9 else (17 if big else 14)
        _write(frame, figure.value, size=size, bold=True, new_paragraph=True)
        if figure.note:
            _write(frame, figure.note, size=9, color=MUTED, new_paragraph=True)
        for paragraph in frame.paragraphs:
            paragraph.alignment = PP_ALIGN.LEFT
    rows = -(-len(content.figures) // per_row)
    return top + rows * (height + gap) + 0.05


def _bullets(slide: PptxSlide, bullets: list[str], left: float, top: float, width: float) -> None:
    frame = _box(slide, left, top, width, 4.5)
    for i, bullet in enumerate(bullets):
        _write(frame, f"■ {bullet}", size=16, new_paragraph=i > 0)
        frame.paragraphs[-1].space_after = 8 * 12700  # 8 pt in EMU


def _table(slide: PptxSlide, table: Table, left: float, top: float, width: float) -> float:
    from pptx.util import Inches, Pt

    rows, columns = len(table.rows) + 1, len(table.header)
    row_height = 0.36
    shape = slide.shapes.add_table(rows, columns, Inches(left), Inches(top), Inches(width), Inches(row_height * rows))
    grid = shape.table
    widths = table.relative_widths()
    for c in range(columns):
        grid.columns[c].width = Inches(width * widths[c] / sum(widths))
    for r, values in enumerate([table.header, *table.rows]):
        grid.rows[r].height = Inches(row_height)
        for c, value in enumerate(values):
            cell = grid.cell(r, c)
            cell.margin_top = cell.margin_bottom = Pt(2)
            frame = cell.text_frame
            frame.word_wrap = True
            _write(frame, value, size=11, color=(255, 255, 255) if r == 0 else INK, bold=r == 0)
            cell.fill.solid()
            cell.fill.fore_color.rgb = _rgb(ACCENT if r == 0 else (TILE if r % 2 else (255, 255, 255)))
    return top + row_height * rows


def _chart(slide: PptxSlide, chart: Chart, title: str, left: float, top: float, width: float, height: float) -> None:
    from pptx.chart.data import CategoryChartData
    from pptx.enum.chart import XL_CHART_TYPE, XL_LEGEND_POSITION
    from pptx.util import Inches, Pt

    data = CategoryChartData()
    data.categories = chart.categories
    for series in chart.series:
        data.add_series(series.name, series.values, number_format="0%" if chart.percent else "#,##0")
    if chart.horizontal:
        kind = XL_CHART_TYPE.BAR_CLUSTERED
    elif any(s.style == "line" for s in chart.series):
        kind = XL_CHART_TYPE.LINE_MARKERS
    else:
        kind = XL_CHART_TYPE.COLUMN_CLUSTERED
    frame = slide.shapes.add_chart(kind, Inches(left), Inches(top), Inches(width), Inches(height), data)
    plot = frame.chart
    plot.has_title = True
    plot.chart_title.text_frame.text = title
    plot.chart_title.text_frame.paragraphs[0].runs[0].font.size = Pt(14)
    plot.has_legend = len(chart.series) > 1
    if plot.has_legend:
        plot.legend.position = XL_LEGEND_POSITION.BOTTOM
        plot.legend.include_in_layout = False
    plot.font.size = Pt(10)
    plot.font.name = LATIN_FONT
    colors = [ACCENT, SECOND]
    for i, series in enumerate(plot.plots[0].series):
        color = _rgb(colors[i % len(colors)])
        if kind == XL_CHART_TYPE.LINE_MARKERS:
            series.format.line.color.rgb = color
            series.smooth = False
        else:
            series.format.fill.solid()
            series.format.fill.fore_color.rgb = color
    if chart.percent:
        axis = plot.value_axis
        axis.maximum_scale = 1.0
        axis.minimum_scale = 0.0
        axis.tick_labels.number_format = "0%"
        axis.tick_labels.number_format_is_linked = False
    if chart.horizontal:
        plot.category_axis.reverse_order = True
