"""Row accounting: the columns of rejected rows, warnings and duplicates, and the per-table counts.

Every reported row carries its lineage (file, sheet, row); :func:`summarize_quality` gives the
conservation counts per table (DESIGN ``quality``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import union_categoricals

from qyzj_analytics.errors import ParseError
from qyzj_analytics.ingest.parse import is_empty, normalize_text, parse_count, parse_date
from qyzj_analytics.ingest.processed import CleanResult, fill_constant
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
    column: str | Sequence[str] | np.ndarray,
    value: Any,
    reason: str | Sequence[str] | np.ndarray | pd.Categorical,
) -> pd.DataFrame:
    """Rejected rows or warnings of ``raw``: lineage of ``rows``, column, value, why.

    The frame is compact: its text columns are ``Categorical`` (one string per distinct value,
    so a million warnings cost a few arrays of codes); ``column`` and ``reason`` may be one
    string for every row. :func:`~qyzj_analytics.ingest.arrow.materialize_text` gives the
    ``str`` columns (:class:`~qyzj_analytics.ingest.processed.CleanResult` does on look-up).
    """
    return _issue_frame(raw, raw.source_row[rows], column, _value_texts(value), reason)


def _issue_frame(
    raw: RawTable,
    source_rows: np.ndarray,
    column: str | Sequence[str] | np.ndarray,
    value: pd.Categorical,
    reason: str | Sequence[str] | np.ndarray | pd.Categorical,
) -> pd.DataFrame:
    n = len(source_rows)
    return pd.DataFrame(
        {
            "table": fill_constant(raw.table, n),
            "source_file": fill_constant(raw.file, n),
            "source_sheet": fill_constant(raw.sheet, n),
            "source_row": np.asarray(source_rows, dtype=np.int64),
            "column": _texts(column, n),
            "value": value,
            "reason": _texts(reason, n),
        },
        columns=ISSUE_COLUMNS,
        index=pd.RangeIndex(n),
    )


def coded_texts(labels: Sequence[str], codes: np.ndarray) -> pd.Categorical:
    """``labels[codes]`` as a ``Categorical`` (equal labels merged), without a string per row.

    >>> list(coded_texts(["a", "b", "a"], np.array([2, 1, 0])))
    ['a', 'b', 'a']
    """
    remap, uniques = pd.factorize(np.asarray(labels, dtype=object))
    return pd.Categorical.from_codes(
        remap[codes], categories=pd.Index(uniques, dtype=object), validate=False
    )


def _texts(values: str | Sequence[str] | np.ndarray | pd.Categorical, n: int) -> pd.Categorical:
    """``values`` (or ``n`` copies of one string) as a ``Categorical``."""
    if isinstance(values, str):
        return fill_constant(values, n)
    if isinstance(values, pd.Categorical):
        return values
    codes, uniques = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=True)
    return pd.Categorical.from_codes(
        codes, categories=pd.Index(uniques, dtype=object), validate=False
    )


def _value_texts(values: Any) -> pd.Categorical:
    """Each value as the text an issue shows (``""`` when empty), worked out per distinct value."""
    if isinstance(values, pd.Series):
        values = values.array
    if isinstance(values, pd.Categorical):
        codes, uniques = values.codes, list(values.categories)
    else:
        codes, uniques = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=True)
        uniques = list(uniques)
    shown = ["" if is_empty(v) else str(v) for v in uniques] + [""]  # (code -1: empty)
    remap, labels = pd.factorize(np.asarray(shown, dtype=object))
    return pd.Categorical.from_codes(
        remap[codes].astype(np.int32, copy=False),
        categories=pd.Index(labels, dtype=object),
        validate=False,
    )


def list_extra_issues(raw: RawTable, items: list[tuple[int, str, str, str]]) -> pd.DataFrame:
    """Issues found before cleaning (``(source row, column, value, reason)``) as issue rows."""
    rows, column, value, reason = zip(*items, strict=True) if items else ((), (), (), ())
    source_rows = np.asarray(rows, dtype=np.int64)
    return _issue_frame(
        raw, source_rows, list(column), _texts(list(value), len(rows)), list(reason)
    )


def empty_issues() -> pd.DataFrame:
    """No issue rows, with the columns and dtypes of :func:`list_issues` (compact)."""
    return pd.DataFrame(
        {
            c: np.zeros(0, np.int64) if c == "source_row" else fill_constant(None, 0)
            for c in ISSUE_COLUMNS
        }
    )


def concat_issues(parts: list[pd.DataFrame], columns: list[str] = ISSUE_COLUMNS) -> pd.DataFrame:
    """The non-empty ``parts`` one below the other; no rows (but ``columns``) if none.

    ``Categorical`` columns stay categorical (their categories joined), so compact issue frames
    stay compact.
    """
    parts = [p for p in parts if len(p)]
    if not parts:
        return empty_issues() if columns == ISSUE_COLUMNS else pd.DataFrame(columns=columns)
    if len(parts) == 1:
        return parts[0].reset_index(drop=True)
    data: dict[str, Any] = {}
    for name in parts[0].columns:
        pieces = [p[name] for p in parts]
        if any(isinstance(c.dtype, pd.CategoricalDtype) for c in pieces):
            # (a column of no values, e.g. the kept sheet of CSV duplicates, joins as codes)
            pieces = [
                pd.Series(fill_constant(None, len(c))) if c.isna().all() else c for c in pieces
            ]
        if all(isinstance(c.dtype, pd.CategoricalDtype) for c in pieces):
            data[name] = union_categoricals([_object_categories(c.array) for c in pieces])
        else:
            data[name] = pd.concat(pieces, ignore_index=True)
    n = sum(len(p) for p in parts)
    return pd.DataFrame(data, columns=parts[0].columns, index=pd.RangeIndex(n))


def _object_categories(values: pd.Categorical) -> pd.Categorical:
    """``values`` with its categories as an object ``Index`` (so any two can be joined)."""
    if values.categories.dtype == object:
        return values
    categories = pd.Index(values.categories.to_numpy(dtype=object), dtype=object)
    return pd.Categorical.from_codes(values.codes, categories=categories, validate=False)


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
