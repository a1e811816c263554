"""Assemble the bureau's Word report (``<quarter>_运营情况报告.docx``) from :class:`Metrics`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import docx
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm

from qyzj_analytics.reporting.word import content
from qyzj_analytics.reporting.word.layout import (
    ADDRESS_STYLE,
    CAPTION_STYLE,
    SAMPLE_TEXT,
    SUBTITLE_STYLE,
    TABLE_STYLE_TEXT,
    TEXT_WIDTH,
    TITLE_STYLE,
    add_font_fallbacks,
    add_page_numbers,
    add_sample_header,
    repeat_header_row,
    set_up_page,
    set_up_styles,
)

if TYPE_CHECKING:
    from docx.document import Document
    from docx.text.paragraph import Paragraph

    from qyzj_analytics.reporting.bundle import Metrics

# Column widths of the KPI table (mm, adding up to the text width of 156 mm)
KPI_WIDTHS_MM = (52, 28, 28, 20, 28)
SECTIONS = ("一、总体情况", "二、合同指标完成情况", "三、重点工作开展情况", "四、存在的问题")
PLAN_SECTION = "五、下一季度工作安排"
# Charts the notebooks write into charts/ that the Word report shows, by section
ATTAINMENT_CHART = "kpi_attainment"
PARKS_CHART = "parks_covered"
LIVESTREAM_CHART = "livestreams"
ACTIVITY_CHART = "activities_by_category"


def word_report_name(quarter: str) -> str:
    """``2025Q3_运营情况报告.docx``."""
    return f"{quarter}_运营情况报告.docx"


class _Writer:
    """Keeps the document and the figure/table counters while the sections are written."""

    def __init__(self, doc: Document, charts_dir: Path | None) -> None:
        self.doc = doc
        self.charts = charts_dir
        self.figures = 0
        self._style_ids: dict[str, str | None] = {}

    def style_id(self, name: str) -> str | None:
        """The paragraph style's id (None for the default style), looked up once per name:
        python-docx looks the default style up among all styles on every assignment."""
        if name not in self._style_ids:
            self._style_ids[name] = self.doc.part.get_style_id(name, WD_STYLE_TYPE.PARAGRAPH)
        return self._style_ids[name]

    def styled(self, paragraph: Paragraph, style: str | None) -> Paragraph:
        """``paragraph.style = style``, as python-docx sets it, with the id looked up once."""
        if style is not None:
            paragraph._p.style = self.style_id(style)
        return paragraph

    def para(self, text: str, style: str | None = None) -> None:
        self.styled(self.doc.add_paragraph(text), style)

    def heading(self, text: str, level: int) -> None:
        self.para(text, f"Heading {level}")

    def chart(self, name: str, caption: str) -> None:
        """Insert ``charts/<name>.png`` at text width with a numbered caption, if it exists."""
        png = self.charts / f"{name}.png" if self.charts else None
        if png is None or not png.is_file():
            return
        self.figures += 1
        paragraph = self.styled(self.doc.add_paragraph(), CAPTION_STYLE)
        paragraph.paragraph_format.line_spacing = 1.0  # exact spacing would clip the picture
        paragraph.paragraph_format.keep_with_next = True
        picture = paragraph.add_run().add_picture(str(png), width=TEXT_WIDTH)
        describe_picture(picture, caption)
        self.para(f"图{self.figures}  {caption}", CAPTION_STYLE)


def describe_picture(picture: object, caption: str) -> None:
    """Chinese alt text (``wp:docPr@descr``) instead of an empty or English description."""
    inline = picture._inline  # type: ignore[attr-defined]
    for element in inline.iter(qn("wp:docPr"), qn("pic:cNvPr")):  # not the PNG's file name
        element.set("descr", caption)
        element.set("name", caption)


def _kpi_table(w: _Writer, metrics: Metrics) -> None:
    rows = content.kpi_rows(metrics.kpi_table)
    w.para("表1  合同指标完成情况", CAPTION_STYLE)
    table = w.doc.add_table(rows=1 + len(rows), cols=len(content.KPI_COLUMNS))
    table.style = w.doc.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    table._tbl.tblPr.append(layout)
    repeat_header_row(table.rows[0])
    for row, values in zip(table.rows, [content.KPI_COLUMNS, *rows], strict=True):
        r = row._index
        for c, (cell, value) in enumerate(zip(row.cells, values, strict=True)):  # a row at a time
            cell.width = Mm(KPI_WIDTHS_MM[c])
            cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
            paragraph = w.styled(cell.paragraphs[0], TABLE_STYLE_TEXT)
            paragraph.paragraph_format.alignment = (
                WD_ALIGN_PARAGRAPH.LEFT if c == 0 and r else WD_ALIGN_PARAGRAPH.CENTER
            )
            run = paragraph.add_run(value)
            run.bold = r == 0
    for c, width in enumerate(KPI_WIDTHS_MM):
        table.columns[c].width = Mm(width)


def write_word_report(
    path: Path,
    metrics: Metrics,
    *,
    plan_steps: list[str],
    buyer: str = "",
    charts_dir: Path | None = None,
) -> Path:
    """Write the bureau's Word report of ``metrics`` to ``path``; returns ``path``.

    Args:
        plan_steps: the action plan as Chinese sentences (section 五.(二)).
        buyer: the bureau the report is addressed to (the contract's ``buyer``); empty: none.
        charts_dir: the report run's ``charts/`` (PNG charts inserted where present).
    """
    doc = docx.Document()
    set_up_styles(doc)
    add_font_fallbacks(doc)
    section = doc.sections[0]
    set_up_page(section)
    add_page_numbers(doc, section)
    if metrics.is_sample:
        add_sample_header(doc, section, SAMPLE_TEXT)
    doc.core_properties.title = content.report_title(metrics)
    props = doc.core_properties
    props.author = props.last_modified_by = props.comments = props.keywords = ""
    props.language = "zh-CN"
    props.created = props.modified = dt.datetime.now(dt.UTC).replace(microsecond=0)
    w = _Writer(doc, charts_dir)
    body = doc.paragraphs[0] if doc.paragraphs else None
    if body is not None:  # the template's empty first paragraph
        body._p.getparent().remove(body._p)
    w.para(content.report_title(metrics), TITLE_STYLE)
    w.para(content.date_line(metrics), SUBTITLE_STYLE)
    if metrics.is_sample:
        w.para(content.sample_notice(), SUBTITLE_STYLE)
    if buyer:
        w.para(f"{buyer}：", ADDRESS_STYLE)
    w.para(content.opening(metrics))

    w.heading(SECTIONS[0], 1)
    for text in content.overview(metrics):
        w.para(text)

    w.heading(SECTIONS[1], 1)
    w.para(content.kpi_intro(metrics))
    _kpi_table(w, metrics)
    w.chart(ATTAINMENT_CHART, "各项指标完成率")

    w.heading(SECTIONS[2], 1)
    _key_work(w, metrics)

    w.heading(SECTIONS[3], 1)
    for i, text in enumerate(content.problems(metrics), start=1):
        w.para(f"{i}．{text}")

    w.heading(PLAN_SECTION, 1)
    catch_up = content.catch_up(metrics)
    number = 0
    if catch_up:
        number += 1
        w.heading(f"（{content.NUMERALS[number - 1]}）补足进度滞后的指标", 2)
        for i, text in enumerate(catch_up, start=1):
            w.para(f"{i}．{text}")
    number += 1
    w.heading(f"（{content.NUMERALS[number - 1]}）重点工作安排", 2)
    steps = plan_steps or ["继续按合同要求推进各项工作，保持各项指标进度。"]
    for i, text in enumerate(steps, start=1):
        w.para(f"{i}．{text}")
    w.para("特此报告。")
    doc.save(str(path))
    return path


def _key_work(w: _Writer, metrics: Metrics) -> None:
    """三、重点工作开展情况: parks, 小微你好, alliance, livestreams, each with its chart."""
    table = metrics.kpi_table
    parts = [
        ("park_events", PARKS_CHART, "进小微园活动覆盖情况", content.parks_text),
        ("xiaowei_nihao_events", None, "", None),
        ("alliance_events", None, "", None),
    ]
    number = 0
    for kpi_id, chart, caption, extra in parts:
        if kpi_id not in table.index:
            continue
        number += 1
        w.heading(f"（{_numeral(number)}）{table.loc[kpi_id, '指标']}", 2)
        text = content.kpi_progress(metrics, kpi_id)
        text = text if text.endswith("。") else f"{text}。"
        w.para(text + (extra(metrics) if extra else ""))
        if chart:
            w.chart(chart, caption)
    if len(metrics.livestreams):
        number += 1
        w.heading(f"（{_numeral(number)}）线上直播", 2)
        w.para(content.livestream_text(metrics))
        w.chart(LIVESTREAM_CHART, "每月线上直播场次")
    if sum(metrics.formats.values()):
        number += 1
        w.heading(f"（{_numeral(number)}）活动总体情况", 2)
        f = metrics.formats
        w.para(
            f"合同期内共举办线下活动{f.get('offline', 0)}场、线上活动{f.get('online', 0)}场、"
            f"线上线下结合活动{f.get('hybrid', 0)}场，各月分类情况见下图。"
        )
        w.chart(ACTIVITY_CHART, "每月活动场次（按类别）")


def _numeral(n: int) -> str:
    return "一二三四五六七八九十"[n - 1]
