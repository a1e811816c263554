"""The 填表说明 sheet of a template: what each column means, which KPI it feeds, an example row
and what makes a row count.

The example row is written down a column (one column per row of this sheet), never as a header
with a row under it, and each column is named with its letter (``A 列：活动名称``), never by its
bare header: the reader would then take this sheet for a table and count the example.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from qyzj_analytics.contract.model import Contract
from qyzj_analytics.entry.fields import Field, describe_tags
from qyzj_analytics.ingest.parse import normalize_header
from qyzj_analytics.ingest.schemas import TABLES

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

GUIDE_HEAD = ("列", "必填", "填写说明", "计入指标", "示例（仅作说明，请勿抄入数据表）")


def _counts_when(table: str, fields: list[Field], contract: Contract) -> str:
    """What makes a row of ``table`` count, in one sentence."""
    period = f"{contract.period_start.isoformat()} 至 {contract.period_end.isoformat()}"
    spec = TABLES[table]
    dated = spec.column(spec.dated_by).headers[0] if spec.dated_by else None
    when = {
        "activities": f"{dated}在合同服务期（{period}）内，且活动形式可判断（空时按活动名称判断）；"
        f"名称或类型含专项关键词（{describe_tags(contract)}）时计入对应专项",
        "services": f"{dated}在合同服务期（{period}）内；同一企业同日同类服务只计一次",
        "appeals": f"{dated}在合同服务期（{period}）内；办结率 = 已办结 ÷ 已受理（"
        f"{'、'.join(contract.not_accepted_statuses)}不算受理）；同一编号只计一次",
        "publications": f"{dated}在合同服务期（{period}）内；每周至少一条，该周才算已更新",
        "institutions": f"{dated}不晚于统计日（空也计入），且状态不是"
        f"{'、'.join(contract.inactive_statuses)}",
        "experts": f"{dated}不晚于统计日（空也计入）",
        "courses": f"{dated}在合同服务期（{period}）内",
        "staff": "每行一人；学历含"
        f"{'、'.join(contract.qualified_education)}或职称含{'、'.join(contract.qualified_title)}"
        "的算大专/中级以上",
    }[table]
    required = "、".join(f.header for f in fields if f.required)
    one_of = " 或 ".join(spec.column(c).headers[0] for c in spec.one_of)
    must = f"必填列（{required}）都有有效值" if required else ""
    if one_of:
        must = f"{must}，且 {one_of} 至少填一项" if must else f"{one_of} 至少填一项"
    return f"{must}；{when}。"


_HEADERS = frozenset(h for spec in TABLES.values() for col in spec.columns for h in col.headers)


def quote_header(value: object) -> object:
    """``value``, ended with 。 when it would read as a table header (``专家姓名`` → ``专家姓名。``).

    >>> quote_header("专家姓名（人）"), quote_header("张某某")
    ('专家姓名（人）。', '张某某')
    """
    if isinstance(value, str) and normalize_header(value) in _HEADERS:
        return f"{value}。"
    return value


def write_guide(sheet: Worksheet, table: str, fields: list[Field], contract: Contract) -> None:
    """Fill the 填表说明 sheet of ``table``'s template."""
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    name = TABLES[table].name_zh
    kpi_names = {k.id: k.name for k in contract.kpis}
    lines = [
        f"{name} 填表说明（{contract.name}）",
        f"1. 在“{name}”工作表第 2 行起逐行填写，一行一条记录；不要改动第 1 行表头，"
        "不要在数据区加标题、合计行、说明或示例行（会被当作数据读取）。",
        "2. 有下拉箭头的列请从列表中选择；日期请填真实日期（如 2025-03-15），数量只填整数。",
        f"3. 一行计入指标的条件：{_counts_when(table, fields, contract)}",
        f"4. 填好后运行 qyzj check {name}_xxx.xlsx 检查，通过后放入原始数据文件夹（data/raw）。",
    ]
    for i, line in enumerate(lines, start=1):
        sheet.cell(row=i, column=1, value=line)
    sheet.cell(row=1, column=1).font = Font(bold=True, size=13)
    top = len(lines) + 2
    for j, head in enumerate(GUIDE_HEAD, start=1):
        sheet.cell(row=top, column=j, value=quote_header(head)).font = Font(bold=True)
    for i, field in enumerate(fields, start=top + 1):
        feeds = "、".join(kpi_names[k] for k in field.feeds) or "（不计入指标，供核对）"
        meaning = field.meaning + (f"。可选：{'、'.join(field.choices)}" if field.choices else "")
        # "A 列：活动名称", never the bare header: a row holding a table's only required header
        # would make this sheet a table of that kind
        column = f"{get_column_letter(i - top)} 列：{field.header}"
        values = (column, "是" if field.required else "", meaning, feeds, field.example)
        for j, value in enumerate(values, start=1):
            cell = sheet.cell(row=i, column=j, value=quote_header(value))
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            if isinstance(value, dt.date):
                cell.number_format = "yyyy-mm-dd"
    for letter, width in zip("ABCDE", (16, 8, 48, 36, 30), strict=True):
        sheet.column_dimensions[letter].width = width
