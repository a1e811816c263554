"""``qyzj template``: one data-entry workbook per table, built from the table specs and the contract.

Each workbook has the data sheet (the reader's standard headers, frozen, nothing below them),
validations on every column (drop-downs from a hidden list sheet, dates, whole numbers, 18-character
credit codes, all with Chinese messages) and the 填表说明 sheet, which the reader skips (it has no
table header).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from qyzj_analytics.contract.model import Contract
from qyzj_analytics.entry.fields import Field, describe_tags, list_fields, template_name
from qyzj_analytics.entry.guide import write_guide
from qyzj_analytics.errors import UsageError
from qyzj_analytics.ingest.discover import (
    COLUMNS_NAMES,
    FACTS_NAMES,
    SAMPLE_MARKER,
    SPREADSHEET_SUFFIXES,
)
from qyzj_analytics.ingest.schemas import TABLES

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

LIST_SHEET = "下拉列表"  # hidden: the drop-downs' lists, one column each
GUIDE_SHEET = "填表说明"
LAST_ROW = 1048576  # validations cover the whole column below the header
_WIDTHS = {"date": 14, "code": 24, "count": 12, "yesno": 14}
_TITLE_LIMIT, _TEXT_LIMIT = 32, 255  # Excel's limits on a validation's title and message


def write_templates(out: Path, contract: Contract, *, force: bool = False) -> list[Path]:
    """Write every table's template into ``out``; the paths written, in table order.

    Raises:
        UsageError: a template exists already (without ``force``), or ``out`` looks like a raw
            folder (it holds exports, ``facts.yaml`` or ``columns.yaml``): exit 2.
    """
    paths = [out / template_name(t) for t in TABLES]
    check_template_dir(out, paths, force=force)
    out.mkdir(parents=True, exist_ok=True)
    for table, path in zip(TABLES, paths, strict=True):
        build_template(table, contract).save(path)
    return paths


def check_template_dir(out: Path, paths: Sequence[Path], *, force: bool) -> None:
    """Refuse a file as ``out``, a raw folder, or (without ``force``) existing templates."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out 应为文件夹，但 {out} 是一个文件")
    if not out.is_dir():
        return
    ours = {p.name for p in paths}
    for entry in out.iterdir():
        name = entry.name.lower()
        raw_like = name in FACTS_NAMES | COLUMNS_NAMES or entry.name == SAMPLE_MARKER
        if entry.suffix.lower() in SPREADSHEET_SUFFIXES and entry.name not in ours:
            raw_like = not entry.name.startswith("~$")
        if raw_like:
            raise UsageError(
                f"{out} 中已有导出或配置文件（{entry.name}），像是原始数据文件夹；"
                "模板不能写入原始数据文件夹（空模板会被当作导出读取），请换一个文件夹"
            )
    existing = [p.name for p in paths if p.exists()]
    if existing and not force:
        raise UsageError(
            f"{out} 中已有模板（{'、'.join(existing)}），未覆盖；确认要重新生成请加 --force"
        )


def build_template(table: str, contract: Contract):  # -> openpyxl.Workbook
    """The template workbook of ``table`` (not saved)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    fields = list_fields(table, contract)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = TABLES[table].name_zh
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
    lists = workbook.create_sheet(LIST_SHEET) if any(f.choices for f in fields) else None
    used_lists = 0
    for j, field in enumerate(fields, start=1):
        letter = get_column_letter(j)
        cell = sheet.cell(row=1, column=j, value=field.header)
        cell.font, cell.fill = bold, fill
        cell.alignment = Alignment(horizontal="center", vertical="center")
        dim = sheet.column_dimensions[letter]
        dim.width = max(_WIDTHS.get(field.kind, 20), 2 * len(field.header) + 4)
        if field.column == "title":
            dim.width = 36
        if field.kind == "date":
            dim.number_format = "yyyy-mm-dd"
        elif field.kind == "code" or field.column == "appeal_id":
            dim.number_format = "@"  # kept as text: no 1.23E+17, no lost leading zeros
        source = None
        if field.choices and lists is not None:
            used_lists += 1
            source = _put_list(lists, used_lists, field.choices)
        validation = _validation(field, contract, source)
        if validation is not None:
            validation.add(f"{letter}2:{letter}{LAST_ROW}")
            sheet.add_data_validation(validation)
    sheet.freeze_panes = "A2"
    write_guide(workbook.create_sheet(GUIDE_SHEET), table, fields, contract)
    if lists is not None:
        workbook.move_sheet(lists, offset=1)  # last
        lists.sheet_state = "hidden"
    return workbook


def _put_list(lists: Worksheet, column: int, words: Sequence[str]) -> str:
    """Write ``words`` down column ``column`` of the list sheet; the absolute range holding them."""
    from openpyxl.utils import get_column_letter

    for i, word in enumerate(words, start=1):
        lists.cell(row=i, column=column, value=word)
    letter = get_column_letter(column)
    return f"'{LIST_SHEET}'!${letter}$1:${letter}${len(words)}"


def _clip(text: str, limit: int = _TEXT_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _validation(field: Field, contract: Contract, source: str | None):
    """The data validation of one column (None: free text without guidance)."""
    from openpyxl.worksheet.datavalidation import DataValidation

    start, end = contract.period_start, contract.period_end
    need = "必填。" if field.required else ""
    if source is not None:
        dv = DataValidation(type="list", formula1=source, allow_blank=True)
        prompt = f"{need}{field.meaning}。可选：{'、'.join(field.choices)}"
        error = f"请从下拉列表中选择：{'、'.join(field.choices)}"
    elif field.kind == "date":
        low, high = dt.date(start.year - 30, 1, 1), dt.date(end.year + 1, 12, 31)
        dv = DataValidation(
            type="date",
            operator="between",
            formula1=f"DATE({low.year},{low.month},{low.day})",
            formula2=f"DATE({high.year},{high.month},{high.day})",
            allow_blank=True,
        )
        prompt = (
            f"{need}{field.meaning}，填日期，如 {start.year}-03-15。合同服务期 "
            f"{start.isoformat()} 至 {end.isoformat()}，期内的行计入指标"
        )
        error = f"请填写 {low.year}–{high.year} 年间的有效日期，如 {start.year}-03-15"
    elif field.kind == "count":
        dv = DataValidation(type="whole", operator="greaterThanOrEqual", formula1="0")
        prompt, error = (
            f"{need}{field.meaning}（0 或正整数）",
            "请填写 0 或正整数（不要写“约”“家”等文字）",
        )
        dv.allow_blank = True
    elif field.kind == "code":
        dv = DataValidation(type="textLength", operator="equal", formula1="18", allow_blank=True)
        prompt, error = f"{need}{field.meaning}", "统一社会信用代码应为 18 位（数字和大写字母）"
    else:
        dv = DataValidation(allow_blank=True)  # any value: the input message only
        prompt, error = f"{need}{field.meaning}", f"{field.header}填写有误"
        if (field.column) == "category":
            prompt += f"。专项关键词：{describe_tags(contract)}"
    dv.promptTitle = _clip(field.header, _TITLE_LIMIT)
    dv.prompt = _clip(prompt)
    dv.errorTitle = _clip(f"{field.header}填写有误", _TITLE_LIMIT)
    dv.error = _clip(error)
    dv.showInputMessage = dv.showErrorMessage = True
    dv.errorStyle = "stop"
    return dv
