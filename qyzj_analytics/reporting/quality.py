"""Data-quality tables: files found, rows read/kept/rejected, reasons, warnings, duplicates,
activities of unknown format and data freshness.

A cell value is shown only when it reads as a date or a small count; any other value is shown by
its shape ("文本，3 字", "数字，11 位"), so no name, phone number, ID number or appeal text ever
leaves this module.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any

import pandas as pd

from qyzj_analytics.errors import ParseError
from qyzj_analytics.ingest.parse import normalize_text, parse_count, parse_date
from qyzj_analytics.ingest.schemas import TABLES
from qyzj_analytics.scoring.kpi import KpiContext, activities_to_date

if TYPE_CHECKING:
    from qyzj_analytics.ingest.pipeline import Prepared

# Dated tables for data freshness: table → the column that dates a row
FRESHNESS_COLUMNS = {name: spec.dated_by for name, spec in TABLES.items() if spec.dated_by}
FILE_STATUS_ZH = {
    "read": "已读取",
    "ignored": "已忽略",
    "facts": "手工事实",
    "columns": "列名映射",
    "error": "无法读取",
}
MAX_EXAMPLES = 5


def _table_zh(table: str) -> str:
    spec = TABLES.get(table)
    return f"{spec.name_zh}" if spec else table


def quality_summary(prepared: Prepared) -> pd.DataFrame:
    """Per file and table: rows read, kept, rejected, duplicates, summary rows, plus a total row.

    ``读取 = 保留 + 拒绝 + 重复 + 合计行`` on every row (blank rows are not rows).
    """
    files = prepared.clean.files
    frame = pd.DataFrame(
        {
            "文件": files["file"].astype("str"),
            "表": files["table"].map(_table_zh).astype("str"),
            "读取": files["rows_read"],
            "保留": files["rows_kept"],
            "拒绝": files["rows_rejected"],
            "重复": files["duplicates"],
            "合计行": files["summary_rows"],
            "空行": files["blank_rows"],
        }
    )
    numbers = ["读取", "保留", "拒绝", "重复", "合计行", "空行"]
    total = {"文件": "合计（全部文件）", "表": "", **{c: int(frame[c].sum()) for c in numbers}}
    frame = pd.concat([frame, pd.DataFrame([total])], ignore_index=True)
    return frame.astype(dict.fromkeys(numbers, "int64") | {"文件": "str", "表": "str"})


def files_overview(prepared: Prepared) -> pd.DataFrame:
    """Every file found in the raw folder: 文件, 状态 (已读取/已忽略/手工事实/无法读取), 识别为, 说明."""
    rows = [
        {
            "文件": f.path,
            "状态": FILE_STATUS_ZH.get(f.status, f.status),
            "识别为": "、".join(_table_zh(t) for t in f.tables),
            "工作表": len(f.sheets),
            "说明": f.note,
        }
        for f in prepared.clean.raw_files
    ]
    columns = ["文件", "状态", "识别为", "工作表", "说明"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.astype({c: "str" for c in columns if c != "工作表"} | {"工作表": "int64"})


def describe_reason(reason: str) -> str:
    """A reason without the cell value it quotes, so equal reasons group together.

    >>> describe_reason("无法识别的日期: '待定'"), describe_reason("必填列为空")
    ('无法识别的日期', '必填列为空')
    """
    head = re.split(r"\s*[:：]\s*", str(reason), maxsplit=1)[0]
    return re.sub(r"^(无法识别的[^\s:：']+)\s.*$", r"\1", head)


_MAX_SHOWN_DIGITS = 6  # a count of up to 999999 is shown; longer digit runs may be a phone
_DIGITS_RE = re.compile(r"\d+(?:\.0+)?")
_DATE_SHAPE_RE = re.compile(r"\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}日?")  # 2025-13-01: shown


def show_value(value: Any) -> str:
    """A cell value as the report may show it: the value when it reads as a date or a count of
    at most six digits (or looks like a date, ``2025-13-01``); else only its shape.

    >>> show_value("2025年3月5日"), show_value("13812345678"), show_value("张三")
    ('2025年3月5日', '数字，11 位', '文本，2 字')
    """
    text = normalize_text(value) or ""
    if not text:
        return ""
    if _DIGITS_RE.fullmatch(text):
        digits = len(text.split(".")[0])
        if digits > _MAX_SHOWN_DIGITS:
            return f"数字，{digits} 位"
    for parse in (parse_date, parse_count):
        try:
            if parse(text) is not None:
                return text
        except ParseError:
            pass
    if _DATE_SHAPE_RE.fullmatch(text):
        return text
    return f"文本，{len(text)} 字"


def _row_ref(sheet: Any, row: Any) -> str:
    return f"{sheet}!{row}" if isinstance(sheet, str) and sheet else f"{row}"


def summarize_issues(issues: pd.DataFrame) -> pd.DataFrame:
    """Issues (rejected rows or warnings) grouped by table, file, column and reason.

    Columns: 表, 文件, 列, 原因, 行数, 示例行号 (``sheet!row``, first five), 示例值 (up to three,
    each a date or a count, or else only its shape: see :func:`show_value`).
    """
    columns = ["表", "文件", "列", "原因", "行数", "示例行号", "示例值"]
    if issues.empty:
        return pd.DataFrame(
            {c: pd.Series([], dtype="int64" if c == "行数" else "str") for c in columns}
        )
    frame = issues.assign(reason_kind=issues["reason"].map(describe_reason))
    rows = []
    keys = ["table", "source_file", "column", "reason_kind"]
    for (table, file, column, reason), group in frame.groupby(keys, sort=False, dropna=False):
        group = group.sort_values("source_row")
        refs = [
            _row_ref(s, r) for s, r in zip(group["source_sheet"], group["source_row"], strict=True)
        ]
        shown = [show_value(v) for v in pd.unique(group["value"].astype("str"))]
        examples = "、".join([v for v in dict.fromkeys(shown) if v][:3])
        rows.append(
            {
                "表": _table_zh(str(table)),
                "文件": str(file),
                "列": str(column),
                "原因": str(reason),
                "行数": len(group),
                "示例行号": "、".join(refs[:MAX_EXAMPLES])
                + ("…" if len(refs) > MAX_EXAMPLES else ""),
                "示例值": examples,
            }
        )
    out = pd.DataFrame(rows, columns=columns).sort_values(
        ["表", "文件", "行数"], ascending=[True, True, False]
    )
    return out.astype({c: "str" for c in columns if c != "行数"} | {"行数": "int64"}).reset_index(
        drop=True
    )


def rejections_by_reason(prepared: Prepared) -> pd.DataFrame:
    """Rejected rows grouped by table, file, column and reason (see :func:`summarize_issues`)."""
    return summarize_issues(prepared.clean.rejected)


def warnings_by_reason(prepared: Prepared) -> pd.DataFrame:
    """Kept-but-flagged rows (unreadable counts, bad credit-code check digits), grouped likewise."""
    return summarize_issues(prepared.clean.warnings)


def duplicates_summary(prepared: Prepared) -> pd.DataFrame:
    """Duplicate rows per table, file and the file holding the row kept instead: 表, 重复所在文件,
    保留所在文件, 行数, 示例行号."""
    dups = prepared.clean.duplicates
    columns = ["表", "重复所在文件", "保留所在文件", "行数", "示例行号"]
    if dups.empty:
        return pd.DataFrame(
            {c: pd.Series([], dtype="int64" if c == "行数" else "str") for c in columns}
        )
    rows = []
    for (table, file, kept), group in dups.groupby(
        ["table", "source_file", "kept_file"], sort=False
    ):
        refs = [
            _row_ref(s, r) for s, r in zip(group["source_sheet"], group["source_row"], strict=True)
        ]
        rows.append(
            {
                "表": _table_zh(str(table)),
                "重复所在文件": str(file),
                "保留所在文件": str(kept),
                "行数": len(group),
                "示例行号": "、".join(refs[:MAX_EXAMPLES])
                + ("…" if len(refs) > MAX_EXAMPLES else ""),
            }
        )
    out = pd.DataFrame(rows, columns=columns).sort_values("行数", ascending=False)
    return out.astype({c: "str" for c in columns if c != "行数"} | {"行数": "int64"}).reset_index(
        drop=True
    )


def unknown_formats(ctx: KpiContext) -> pd.DataFrame:
    """Activities whose format could not be told (counted in no KPI): 文件, 行号, 日期, 活动名称.

    The activity title is shown (it names an event, not a person); display it escaped.
    """
    acts = activities_to_date(ctx)
    acts = acts.loc[acts["format_kind"] == "unknown"].sort_values("date")
    return (
        pd.DataFrame(
            {
                "文件": acts["source_file"].astype("str"),
                "行号": [
                    _row_ref(s, r)
                    for s, r in zip(acts["source_sheet"], acts["source_row"], strict=True)
                ],
                "日期": acts["date"].dt.strftime("%Y-%m-%d"),
                "活动名称": acts["title"].astype("str"),
            }
        )
        .astype("str")
        .reset_index(drop=True)
    )


def data_freshness(prepared: Prepared, as_of: dt.date) -> pd.DataFrame:
    """Per dated table: rows, the latest date on or before ``as_of``, how many days before
    ``as_of`` that is, and rows dated after ``as_of`` (not counted yet).

    Columns: 表, 行数, 最新日期 (YYYY-MM-DD or empty), 距截至日天数 (missing without rows),
    晚于截至日.
    """
    rows = []
    cutoff = pd.Timestamp(as_of)
    for table, column in FRESHNESS_COLUMNS.items():
        dates = prepared.clean.tables[table][column]
        known = dates.loc[dates.notna() & (dates <= cutoff)]
        latest = known.max() if len(known) else None
        rows.append(
            {
                "表": _table_zh(table),
                "行数": len(dates),
                "最新日期": latest.strftime("%Y-%m-%d") if latest is not None else "",
                "距截至日天数": (cutoff - latest).days if latest is not None else None,
                "晚于截至日": int((dates > cutoff).sum()),
            }
        )
    return pd.DataFrame(rows).astype(
        {
            "表": "str",
            "行数": "int64",
            "最新日期": "str",
            "距截至日天数": "Int64",
            "晚于截至日": "int64",
        }
    )


_INTERNAL_ID_RE = re.compile(r"(?<![\w-])[a-z][a-z0-9_]*（([^（）]*)）")
_LIST_REPR_RE = re.compile(r"\[((?:'[^']*'(?:, )?)+)\]")


def plain_text(text: str) -> str:
    """A message as a reader may see it: internal ids with their Chinese names in brackets become
    the Chinese names, and Python lists of names become ``、``-joined names.

    >>> plain_text("最接近的表格: activities（活动台账），需要的列: title（活动名称/活动主题）")
    '最接近的表格: 活动台账，需要的列: 活动名称/活动主题'
    >>> plain_text("找到的表头: ['填表说明', '备注']")
    '找到的表头: 填表说明、备注'
    """
    text = _INTERNAL_ID_RE.sub(r"\1", str(text))
    return _LIST_REPR_RE.sub(lambda m: "、".join(re.findall(r"'([^']*)'", m.group(1))), text)


def is_hidden_file(name: str) -> bool:
    """True for a hidden or marker file (``.DS_Store``, ``.qyzj-sample``) and an Excel lock file
    (``~$…``): the reader never lists them, they are only counted.

    >>> is_hidden_file("sub/.DS_Store"), is_hidden_file("~$活动台账.xlsx"), is_hidden_file("活动.csv")
    (True, True, False)
    """
    base = re.split(r"[\\/]", str(name))[-1]
    return base.startswith((".", "~$"))


def listed_files(files: pd.DataFrame) -> pd.DataFrame:
    """The files overview as the report lists it: hidden, marker and lock files left out, notes
    in plain text (see :func:`plain_text`)."""
    shown = files.loc[~files["文件"].map(is_hidden_file)].reset_index(drop=True)
    return shown.assign(说明=shown["说明"].map(plain_text))
