"""Row accounting: the columns of rejected rows, warnings and duplicates, and the per-table counts.

Every reported row carries its lineage (file, sheet, row); :func:`summarize_quality` gives the
conservation counts per table (DESIGN ``quality``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from qyzj_analytics.errors import ParseError
from qyzj_analytics.ingest.parse import is_empty, normalize_text, parse_count, parse_date
from qyzj_analytics.ingest.processed import CleanResult
from qyzj_analytics.ingest.raw import RawTable
from qyzj_analytics.ingest.schemas import LINEAGE, TABLES

ISSUE_COLUMNS = ["table", *LINEAGE, "column", "value", "reason"]
DUPLICATE_COLUMNS = ["table", *LINEAGE, "kept_file", "kept_sheet", "kept_row"]
QUALITY_COLUMNS = [
    "rows_read",
    "rows_kept",
    "rows_rejected",
    "duplicates",
    "summary_rows",
    "blank_rows",
]


def list_issues(
    raw: RawTable,
    rows: np.ndarray,
    column: Iterable[str],
    value: Iterable[Any],
    reason: Iterable[str],
) -> pd.DataFrame:
    """Rejected rows or warnings of ``raw``: lineage of ``rows``, column, value, why."""
    return pd.DataFrame(
        {
            "table": raw.table,
            "source_file": raw.file,
            "source_sheet": raw.sheet,
            "source_row": raw.source_row[rows],
            "column": list(column),
            "value": ["" if is_empty(v) else str(v) for v in value],
            "reason": list(reason),
        },
        columns=ISSUE_COLUMNS,
    )


def list_extra_issues(raw: RawTable, items: list[tuple[int, str, str, str]]) -> pd.DataFrame:
    """Issues found before cleaning (``(source row, column, value, reason)``) as issue rows."""
    rows, column, value, reason = zip(*items, strict=True) if items else ((), (), (), ())
    frame = pd.DataFrame(
        {
            "table": raw.table,
            "source_file": raw.file,
            "source_sheet": raw.sheet,
            "source_row": np.asarray(rows, dtype=np.int64),
            "column": list(column),
            "value": list(value),
            "reason": list(reason),
        },
        columns=ISSUE_COLUMNS,
    )
    return frame


def empty_issues() -> pd.DataFrame:
    """No issue rows, with the columns and dtypes of :func:`list_issues`."""
    return pd.DataFrame(
        {c: pd.Series([], dtype="int64" if c == "source_row" else "str") for c in ISSUE_COLUMNS}
    )


def concat_issues(parts: list[pd.DataFrame], columns: list[str] = ISSUE_COLUMNS) -> pd.DataFrame:
    """The non-empty ``parts`` one below the other; no rows (but ``columns``) if none."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return empty_issues() if columns == ISSUE_COLUMNS else pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True)


def summarize_quality(result: CleanResult) -> dict[str, dict[str, int]]:
    """Per table: rows read, kept, rejected, duplicates, summary and blank rows (all tables)."""
    by_table = result.files.groupby("table")[QUALITY_COLUMNS].sum()
    return {
        t: {c: int(by_table.loc[t, c]) if t in by_table.index else 0 for c in QUALITY_COLUMNS}
        for t in TABLES
    }


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


def describe_reason(reason: str) -> str:
    """A reason without the cell value it quotes, so equal reasons group together.

    >>> describe_reason("无法识别的日期: '待定'"), describe_reason("必填列为空")
    ('无法识别的日期', '必填列为空')
    """
    head = re.split(r"\s*[:：]\s*", str(reason), maxsplit=1)[0]
    return re.sub(r"^(无法识别的[^\s:：']+)\s.*$", r"\1", head)
