"""The KPI workbook (``kpi_<quarter>.xlsx``): aggregates only, every text cell neutralised.

The one place of the report that knows xlsx number formats; they follow the rules of
:mod:`qyzj_analytics.formats` so a figure reads the same here as in the HTML and the Word file:
whole numbers ``#,##0``, other counts ``#,##0.0``, shares ``0.0%``, 完成率 ``0%``, scores ``0.00``
holding the truncated value (:func:`~qyzj_analytics.formats.truncate_score`). Every sheet prints
landscape on A4, one page wide, its header row repeated, with an autofilter and frozen panes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qyzj_analytics.formats import (
    ATTAINMENT_DECIMALS,
    SCORE_DECIMALS,
    SHARE_DECIMALS,
    SHARE_UNIT,
    format_quantity,
    format_ratio,
    quantity_decimals,
    truncate_score,
)
from qyzj_analytics.reporting.report.cover import forecast_draws, grade_probabilities

if TYPE_CHECKING:
    from qyzj_analytics.contract.model import Contract
    from qyzj_analytics.reporting.bundle import Metrics
    from qyzj_analytics.reporting.report.options import ReportOptions

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
FORECAST_COLUMNS = {  # metrics.ForecastMetrics.kpis column → workbook header
    "P10": "年终预测 P10",
    "P50": "年终预测 P50",
    "P90": "年终预测 P90",
    "达标概率": "年终达标概率",
    "每周还需": "达标每周还需",
    "还需单位": "还需单位",
}
STATUS_FILL = {"on_track": "C6EFCE", "at_risk": "FFEB9C", "behind": "FFC7CE", "missing": "D9D9D9"}


def neutralize_cell(value: Any) -> Any:
    """A spreadsheet-safe cell value: text starting with ``= + - @`` (or tab/CR) gets a ``'``.

    Spreadsheet programs run such text as a formula (CSV/formula injection); numbers, dates and
    other values are returned unchanged.

    >>> neutralize_cell("=SUM(A1:A9)")
    "'=SUM(A1:A9)"
    >>> neutralize_cell(-3), neutralize_cell("线下活动")
    (-3, '线下活动')
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def percent_format(decimals: int) -> str:
    """The xlsx format of a percentage with ``decimals`` places.

    >>> percent_format(0), percent_format(1)
    ('0%', '0.0%')
    """
    return f"0{'.' + '0' * decimals if decimals else ''}%"


WHOLE_FORMAT = "#,##0"
SCORE_FORMAT = "0." + "0" * SCORE_DECIMALS
ATTAINMENT_FORMAT = percent_format(ATTAINMENT_DECIMALS)


def quantity_format(value: float | None, unit: str) -> str:
    """The xlsx format of a KPI value, as :func:`~qyzj_analytics.formats.format_quantity` shows it.

    >>> quantity_format(1944.0, "家次"), quantity_format(1944.3, "家次"), quantity_format(0.8, "比例")
    ('#,##0', '#,##0.0', '0.0%')
    """
    if unit == SHARE_UNIT:
        return percent_format(SHARE_DECIMALS)
    if value is None or quantity_decimals(value, unit) == 0:
        return WHOLE_FORMAT
    return "#,##0.0"


def _float(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if number != number else number  # NaN → empty cell


class _Sheet:
    """A worksheet with the report's styles: title rows, a frozen header, boxed cells."""

    def __init__(self, ws: Any, title: str, subtitle: str) -> None:
        from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

        self.ws = ws
        thin = Side(style="thin", color="BFBFBF")
        self.box = Border(left=thin, right=thin, top=thin, bottom=thin)
        self.head = (
            Font(bold=True, color="FFFFFF"),
            PatternFill("solid", fgColor="1F4E79"),
            Alignment(horizontal="center", vertical="center", wrap_text=True),
        )
        self.put(1, 1, title).font = Font(bold=True, size=14)
        self.put(2, 1, subtitle).font = Font(italic=True, color="7F7F7F")

    def put(self, row: int, col: int, value: Any, fmt: str | None = None, box: bool = False) -> Any:
        """Write one cell (text neutralised against formula injection)."""
        cell = self.ws.cell(row=row, column=col, value=neutralize_cell(value))
        if fmt:
            cell.number_format = fmt
        if box:
            cell.border = self.box
        return cell

    def header(self, row: int, columns: Sequence[tuple[str, int]]) -> None:
        """The header row (white on blue), column widths, title rows merged, panes frozen below."""
        from openpyxl.utils import get_column_letter

        for col, (name, width) in enumerate(columns, start=1):
            cell = self.put(row, col, name, box=True)
            cell.font, cell.fill, cell.alignment = self.head
            self.ws.column_dimensions[get_column_letter(col)].width = width
        self.ws.row_dimensions[row].height = 30
        for title_row in (1, 2):
            self.ws.merge_cells(
                start_row=title_row, start_column=1, end_row=title_row, end_column=len(columns)
            )
        self.ws.freeze_panes = self.ws.cell(row=row + 1, column=1)
        self.header_row, self.width = row, len(columns)

    def finish(self, last_row: int) -> None:
        """Autofilter over the table (header to ``last_row``) and print setup: A4 landscape,
        one page wide, the header row repeated on every page."""
        from openpyxl.utils import get_column_letter
        from openpyxl.worksheet.properties import PageSetupProperties

        ws, head = self.ws, self.header_row
        ws.auto_filter.ref = f"A{head}:{get_column_letter(self.width)}{max(last_row, head)}"
        ws.print_title_rows = f"{head}:{head}"
        ws.page_setup.orientation = ws.ORIENTATION_LANDSCAPE
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0  # as many pages down as the rows need
        ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
        ws.print_options.horizontalCentered = True


def write_kpi_xlsx(
    path: Path, options: ReportOptions, contract: Contract, metrics: Metrics
) -> Path:
    """The KPI workbook the bureau can file (aggregates only; every text cell neutralised).

    Sheets: ``KPI达成`` (one row per KPI: actual, target, pace, status colour, points, year-end
    forecast), ``考核得分`` (score, grade, year-end grade probabilities, payment schedule) and
    ``数据质量`` (row counts per table).
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    from qyzj_analytics.reporting.styles import STATUS_BY_ZH

    bold = Font(bold=True)
    subtitle = f"数据截至 {options.as_of.isoformat()} · 生成于 {dt.date.today().isoformat()}"
    if options.is_sample:
        subtitle += " · 示例数据（虚构），仅用于演示"
    wb = Workbook()
    wb.properties.creator = "qyzj-analytics"
    wb.properties.title = f"{contract.name} {options.quarter} KPI 达成"

    # KPI sheet
    sheet = _Sheet(wb.active, f"{contract.name} — {options.quarter} KPI 达成情况", subtitle)
    sheet.ws.title = "KPI达成"
    table = metrics.kpi_table
    forecast = metrics.forecast.kpis if metrics.forecast is not None else None
    fcols = []
    if forecast is not None and len(forecast):
        fcols = [c for c in FORECAST_COLUMNS if c in forecast.columns]
        forecast = forecast.set_index("id") if "id" in forecast.columns else forecast
    columns = [("序号", 6), ("指标", 26), ("合同条款", 10), ("单位", 7), ("实际完成", 11)]
    columns += [("年度目标", 11), ("完成率", 9), ("应达进度", 11), ("进度状态", 10)]
    columns += [("权重", 8), ("得分", 8)]
    columns += [(FORECAST_COLUMNS[c], 13) for c in fcols]
    sheet.header(4, columns)
    specs = {s.id: s for s in contract.kpis}
    row = 5
    for i, (kpi_id, k) in enumerate(table.iterrows(), start=1):
        unit = str(k["单位"])
        values: list[tuple[Any, str | None]] = [
            (i, "0"),
            (str(k["指标"]), None),
            (specs[kpi_id].source if kpi_id in specs else "", None),
            (unit, None),
            *((_float(k[c]), quantity_format(_float(k[c]), unit)) for c in ("实际", "目标")),
            (_float(k["完成率"]), ATTAINMENT_FORMAT),
            (_float(k["应达进度"]), quantity_format(_float(k["应达进度"]), unit)),
            (str(k["状态"]), None),
            (_float(k["权重"]), "0.00"),
            (truncate_score(_float(k["得分"])), SCORE_FORMAT),
        ]
        for c in fcols:
            value = forecast.at[kpi_id, c] if kpi_id in forecast.index else None
            if c == "还需单位":
                values.append((None if value is None else str(value), None))
            else:
                fmt = quantity_format(_float(value), unit)
                values.append((_float(value), {"达标概率": "0%", "每周还需": "0.0"}.get(c, fmt)))
        for col, (value, number_format) in enumerate(values, start=1):
            sheet.put(row, col, value, number_format, box=True)
        status = sheet.ws.cell(row=row, column=9)
        colour = STATUS_FILL.get(STATUS_BY_ZH.get(str(k["状态"]), ""))
        if colour:
            status.fill = PatternFill("solid", fgColor=colour)
        status.alignment = Alignment(horizontal="center")
        row += 1
    sheet.finish(row - 1)  # the filter leaves the total row out
    sheet.put(row, 2, "合计", box=True).font = bold
    sheet.put(row, 10, float(table["权重"].sum()), "0.00", box=True).font = bold
    sheet.put(row, 11, truncate_score(metrics.score["base"]), SCORE_FORMAT, box=True).font = bold
    at_risk = format_ratio(contract.at_risk_ratio)
    sheet.put(
        row + 2,
        1,
        f"进度状态：正常 = 实际 ≥ 应达进度；预警 = 不低于应达进度的 {at_risk}；落后 = 更低。",
    )
    sheet.put(row + 3, 1, "本表只含汇总数字，不含任何个人信息（合同五.3）。")
    missing = metrics.score.get("missing_exports") or []
    if missing:
        sheet.put(
            row + 4,
            1,
            f"缺少导出：{'、'.join(missing)}（相关指标记 0 分，得分、档次与付款只是下限）。",
        ).font = Font(bold=True, color="C00000")

    # Score sheet
    sheet = _Sheet(
        wb.create_sheet("考核得分"), f"{contract.name} — {options.quarter} 考核得分", subtitle
    )
    sheet.header(4, [("项目", 24), ("数值", 16), ("低值", 16), ("高值", 16), ("说明", 48)])
    score = metrics.score
    full = format_quantity(contract.full_score, "分")
    bonus_kpi = contract.kpi(contract.bonus_kpi).name
    lines: list[tuple[str, Any, str | None, Any, Any, str]] = [
        (
            "基础分",
            truncate_score(score["base"]),
            SCORE_FORMAT,
            None,
            None,
            f"各项 KPI 得分之和（0–{full}）",
        ),
        (
            "奖励分",
            truncate_score(score["bonus"]),
            SCORE_FORMAT,
            None,
            None,
            f"获奖与超额{bonus_kpi}，不改变档次",
        ),
        ("当前档次", score["grade_name"], None, None, None, str(score["renewal"])),
    ]
    draws = forecast_draws(metrics)
    for name, probability in grade_probabilities(metrics):
        note = f"蒙特卡洛预测，{draws:,} 次模拟" if draws else "蒙特卡洛预测"
        lines.append((f"年终档次概率：{name}", probability, "0.0%", None, None, note))
    for p in metrics.payment_schedule.itertuples(index=False):
        lines.append(
            (f"{p.款项}（{p.应付日期}）", float(p.金额), "#,##0.00", p.低值, p.高值, str(p.说明))
        )
    for r, (label, value, fmt, low, high, note) in enumerate(lines, start=5):
        sheet.put(r, 1, label, box=True)
        sheet.put(r, 2, value, fmt, box=True)
        sheet.put(r, 3, _float(low), fmt, box=True)
        sheet.put(r, 4, _float(high), fmt, box=True)
        sheet.put(r, 5, note, box=True)
    sheet.finish(4 + len(lines))

    # Quality sheet: per table (file names are left out)
    sheet = _Sheet(wb.create_sheet("数据质量"), f"{contract.name} — 导出数据质量（行数）", subtitle)
    numbers = ["读取", "保留", "拒绝", "重复", "合计行", "空行"]
    sheet.header(4, [("表格", 16), *((n, 10) for n in numbers)])
    quality = metrics.quality
    per_table = (
        quality.loc[quality["表"].astype(str) != ""].groupby("表", sort=False)[numbers].sum()
    )
    for r, (name, counts) in enumerate(per_table.iterrows(), start=5):
        sheet.put(r, 1, str(name), box=True)
        for c, key in enumerate(numbers, start=2):
            sheet.put(r, c, int(counts[key]), WHOLE_FORMAT, box=True)
    sheet.finish(4 + len(per_table))
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path
