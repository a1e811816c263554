"""The issue CSVs an analyst opens in Excel: rejected rows, warnings and duplicates, grouped.

One line per file, sheet, column and kind of reason (duplicates: per file, sheet and the file and
sheet of the rows kept instead), with how many rows it covers and the first row numbers as Excel
shows them. The CSVs so stay small however many rows an export has (a platform that masks every
credit code warns on every row); each row, with its value and full reason, stays in the parquet
files of the processed layer. Worked out with arrays of codes: Python loops run per group only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from qyzj_analytics.ingest.schemas import TABLES

EXAMPLE_ROWS = 5  # row numbers listed per group (the first ones, as Excel shows them)
EXAMPLE_VALUES = 3  # distinct non-empty values listed per issue group
_VALUE_CHARS = 30  # an example value is cut to this many characters
_JOIN = "、"
_MORE = "…"

ISSUE_GROUP_COLUMNS = [
    "table",
    "source_file",
    "source_sheet",
    "column",
    "reason",
    "rows",
    "example_rows",
    "example_values",
]
DUPLICATE_GROUP_COLUMNS = [
    "table",
    "source_file",
    "source_sheet",
    "kept_file",
    "kept_sheet",
    "rows",
    "example_rows",
    "example_kept_rows",
]

# The CSVs are opened by analysts in Excel: Chinese headers and table names (the parquet files
# keep the English column names engineers use). Tests read them back with CSV_HEADERS_EN.
CSV_HEADERS_ZH = {
    "table": "台账",
    "file": "文件",
    "source_file": "文件",
    "source_sheet": "工作表",
    "column": "列",
    "reason": "原因",
    "rows": "行数",
    "example_rows": "示例行号",
    "example_values": "示例取值",
    "kept_file": "保留行所在文件",
    "kept_sheet": "保留行所在工作表",
    "example_kept_rows": "对应的保留行号",
    "rows_read": "读入行数",
    "rows_kept": "保留行数",
    "rows_rejected": "拒收行数",
    "duplicates": "重复行数",
    "summary_rows": "合计行数",
    "blank_rows": "空行数",
}
CSV_HEADERS_EN = {zh: en for en, zh in CSV_HEADERS_ZH.items() if en != "file"}
CSV_HEADERS_EN["文件"] = "source_file"  # quality.csv's "file" reads back as source_file


def label_csv(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` as its CSV shows it: Chinese headers, tables by their Chinese names.

    >>> label_csv(pd.DataFrame({"table": ["services"], "rows": [3]})).to_dict("records")
    [{'台账': '企业服务记录', '行数': 3}]
    """
    out = frame.rename(columns=CSV_HEADERS_ZH)
    if "台账" in out.columns:
        names = {t: spec.name_zh for t, spec in TABLES.items()}
        out["台账"] = out["台账"].astype(object).map(lambda t: names.get(t, t))
    return out


def read_issue_csv(path: Any, dtype: Any = None) -> pd.DataFrame:
    """An issue CSV (or ``quality.csv``) read back with English columns and table ids."""
    frame = pd.read_csv(path, dtype=dtype, encoding="utf-8-sig").rename(columns=CSV_HEADERS_EN)
    if "table" in frame.columns:
        ids = {spec.name_zh: t for t, spec in TABLES.items()}
        frame["table"] = frame["table"].map(lambda name: ids.get(name, name))
    return frame


_ROW_PREFIX_RE = re.compile(r"^第 \d+ 行")
_QUOTED_VALUE_RE = re.compile(
    r"\s*[:：]\s*(?:'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|[^，；]*)", re.DOTALL
)
_BARE_VALUE_RE = re.compile(r"^(无法识别的[^\s:：'，；]+) [^，；]*")


def reason_kind(reason: Any) -> str:
    """A reason without the value or row number it quotes, so equal kinds group together.

    What follows the value (``，按空值处理``) is kept.

    >>> reason_kind("无法识别的数量: '约x家'，按空值处理")
    '无法识别的数量，按空值处理'
    >>> reason_kind("第 12 行不是 UTF-8 编码，已按 GB18030（GBK）读取")
    '不是 UTF-8 编码，已按 GB18030（GBK）读取'
    >>> reason_kind("无法识别的日期数值 99999999"), reason_kind("必填列为空")
    ('无法识别的日期数值', '必填列为空')
    """
    text = _ROW_PREFIX_RE.sub("", "" if reason is None else str(reason))
    text = _QUOTED_VALUE_RE.sub("", text, count=1)
    return _BARE_VALUE_RE.sub(r"\1", text)


def _codes(column: pd.Series) -> tuple[np.ndarray, list[Any]]:
    """Non-negative codes per row and the label of each code (missing: a ``None`` label)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes, labels = column.array.codes, list(column.cat.categories)
    else:
        codes, uniques = pd.factorize(column, use_na_sentinel=True)
        labels = list(uniques)
    codes = np.asarray(codes, dtype=np.int64)
    if len(codes) and codes.min() < 0:
        codes = np.where(codes < 0, len(labels), codes)
    return codes, [*labels, None]


def _group_ids(keys: Sequence[np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray]:
    """A group number per row (in order of first appearance) and the first row of each group."""
    key = np.zeros(n, np.int64)
    for codes in keys:
        width = int(codes.max(initial=0)) + 1
        if int(key.max(initial=0)) >= (1 << 62) // width:  # would overflow: renumber first
            key = pd.factorize(key)[0].astype(np.int64)
        key = key * width + codes
    group = pd.factorize(key)[0].astype(np.int64)
    # groups are numbered in order of first appearance: a group starts where the running
    # maximum of the numbers first reaches it
    firsts = np.flatnonzero(np.diff(np.maximum.accumulate(group), prepend=-1) > 0)
    return group, firsts


def _firsts_per_group(group: np.ndarray, rows: np.ndarray, k: int) -> list[np.ndarray]:
    """For each group, the positions of its first ``k`` rows (by row number, then position)."""
    order = np.lexsort((np.arange(len(rows)), rows, group))
    counts = np.bincount(group, minlength=int(group.max(initial=-1)) + 1)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.arange(len(order)) - starts[group[order]]
    chosen = order[rank < k]
    return np.split(chosen, np.cumsum(np.minimum(counts, k))[:-1])


def _row_list(rows: np.ndarray, total: int) -> str:
    return _JOIN.join(str(int(r)) for r in rows) + (_MORE if total > len(rows) else "")


def _label(labels: list[Any], code: int) -> str:
    value = labels[code]
    return "" if value is None else str(value)


def group_issues(issues: pd.DataFrame) -> pd.DataFrame:
    """Rejected rows or warnings grouped by table, file, sheet, column and :func:`reason_kind`.

    Columns: :data:`ISSUE_GROUP_COLUMNS` — ``rows`` counts the group's rows, ``example_rows``
    lists its first five row numbers (``…`` when there are more), ``example_values`` up to
    three of its distinct non-empty values (each cut to 30 characters). Groups are listed in
    the order of their first row in ``issues``.
    """
    n = len(issues)
    if not n:
        return _empty(ISSUE_GROUP_COLUMNS)
    table, file, sheet, column, value, reason = (
        _codes(issues[c])
        for c in ("table", "source_file", "source_sheet", "column", "value", "reason")
    )
    kind_of, kinds = pd.factorize(np.asarray([reason_kind(r) for r in reason[1]], dtype=object))
    kind = kind_of[reason[0]].astype(np.int64)
    group, firsts = _group_ids([table[0], file[0], sheet[0], column[0], kind], n)
    rows = issues["source_row"].to_numpy(dtype=np.int64)
    counts = np.bincount(group)
    examples = _firsts_per_group(group, rows, EXAMPLE_ROWS)
    # distinct non-empty values, each at its first row in the group
    empty = np.array([v is None or str(v) == "" for v in value[1]], dtype=bool)
    shown = np.flatnonzero(~empty[value[0]])
    pair = group[shown] * len(value[1]) + value[0][shown]
    _, first_of_pair = np.unique(pair, return_index=True)
    distinct = shown[first_of_pair]
    values = _firsts_per_group(group[distinct], rows[distinct], EXAMPLE_VALUES)  # (per group)
    out = []
    for g, first in enumerate(firsts):
        picked = values[g] if g < len(values) else ()
        out.append(
            {
                "table": _label(table[1], table[0][first]),
                "source_file": _label(file[1], file[0][first]),
                "source_sheet": _label(sheet[1], sheet[0][first]),
                "column": _label(column[1], column[0][first]),
                "reason": str(kinds[kind[first]]),
                "rows": int(counts[g]),
                "example_rows": _row_list(rows[examples[g]], int(counts[g])),
                "example_values": _JOIN.join(
                    _label(value[1], value[0][distinct[i]])[:_VALUE_CHARS] for i in picked
                ),
            }
        )
    return _typed(pd.DataFrame(out, columns=ISSUE_GROUP_COLUMNS))


def group_duplicates(duplicates: pd.DataFrame) -> pd.DataFrame:
    """Duplicate rows grouped by table, file, sheet and the file and sheet of the kept rows.

    Columns: :data:`DUPLICATE_GROUP_COLUMNS` — ``example_rows`` the first five duplicate rows,
    ``example_kept_rows`` the row kept instead of each of them (same order).
    """
    n = len(duplicates)
    if not n:
        return _empty(DUPLICATE_GROUP_COLUMNS)
    names = ("table", "source_file", "source_sheet", "kept_file", "kept_sheet")
    coded = [_codes(duplicates[c]) for c in names]
    group, firsts = _group_ids([codes for codes, _ in coded], n)
    rows = duplicates["source_row"].to_numpy(dtype=np.int64)
    kept_rows = duplicates["kept_row"].to_numpy(dtype=np.int64)
    counts = np.bincount(group)
    examples = _firsts_per_group(group, rows, EXAMPLE_ROWS)
    out = []
    for g, first in enumerate(firsts):
        total = int(counts[g])
        row = {
            name: _label(labels, codes[first])
            for name, (codes, labels) in zip(names, coded, strict=True)
        }
        row |= {
            "rows": total,
            "example_rows": _row_list(rows[examples[g]], total),
            "example_kept_rows": _row_list(kept_rows[examples[g]], total),
        }
        out.append(row)
    return _typed(pd.DataFrame(out, columns=DUPLICATE_GROUP_COLUMNS))


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {c: pd.Series([], dtype="int64" if c == "rows" else "str") for c in columns}
    )


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype({c: "int64" if c == "rows" else "str" for c in frame.columns})
