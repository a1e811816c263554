"""Finding a sheet's header: which row it is, which table it names, and the rows below it.

The header is looked for in the first 15 rows; :func:`find_header` explains in Chinese why none
was found (the headers seen and the nearest table). :func:`read_grid` turns a fully read grid
(an xlsx sheet, a small or ragged CSV) into a :class:`~qyzj_analytics.ingest.raw.RawTable`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from qyzj_analytics.errors import DataError, Location
from qyzj_analytics.ingest.columns import column_snippet
from qyzj_analytics.ingest.parse import is_empty, normalize_header, normalize_text
from qyzj_analytics.ingest.raw import RawTable
from qyzj_analytics.ingest.schemas import (
    NO_ALIASES,
    TABLES,
    HeaderAliases,
    HeaderMatch,
    describe_column,
    match_table,
    recognize_header,
)

HEADER_SEARCH_ROWS = 15
_SUMMARY_RE = re.compile(r"^\s*(合\s*计|总\s*计|小\s*计)\s*(?:[:：(（\s].*)?$")


def is_summary_cell(value: Any) -> bool:
    """True when a first non-empty cell marks a summary row (合计, 总计, 小计).

    >>> is_summary_cell("合计："), is_summary_cell("总计划")
    (True, False)
    """
    text = normalize_text(value)
    return bool(text and _SUMMARY_RE.match(text))


def find_header(
    rows: Sequence[Sequence[Any]], where: Location, aliases: HeaderAliases = NO_ALIASES
) -> tuple[int, HeaderMatch]:
    """Index of the header row among the first 15 rows and the table it belongs to.

    ``aliases`` adds the headers mapped in ``columns.yaml``.

    Raises:
        DataError: no row matches a table (names the headers found and the nearest table, with a
            ``columns.yaml`` snippet for it), two tables tie, or an accepted header appears twice.
    """
    best_partial: tuple[int, HeaderMatch] | None = None
    for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        if all(is_empty(c) for c in row):
            continue
        matches = recognize_header(row, aliases)
        complete = [m for m in matches if m.complete]
        if complete:
            top = [m for m in complete if m.score == complete[0].score]
            if len(top) > 1:
                names = "、".join(f"{m.table}（{TABLES[m.table].name_zh}）" for m in top)
                raise DataError(
                    f"表头同时符合多个表且匹配列数相同，无法判断: {names}",
                    _at(where, row=i + 1),
                )
            match = top[0]
            if match.duplicates:
                col, positions = next(iter(match.duplicates.items()))
                heads = [str(row[p]) for p in positions]
                raise DataError(
                    f"表头重复: {' / '.join(heads)} 都对应 {describe_column(match.table, col)}，"
                    "无法判断使用哪一列",
                    _at(where, row=i + 1, column=heads[0]),
                )
            return i, match
        partial = matches[0]
        if partial.score and (best_partial is None or partial.score > best_partial[1].score):
            best_partial = (i, partial)
    if best_partial is not None:
        i, match = best_partial
        found = [str(c) for c in rows[i] if not is_empty(c)]
        missing = "、".join(describe_column(match.table, c) for c in match.missing)
        raise DataError(
            f"表头最接近 {match.table}（{TABLES[match.table].name_zh}），但缺少必填列: {missing}；"
            f"找到的表头: {found}" + _snippet_hint(match.table, match.missing, rows[i], aliases),
            _at(where, row=i + 1),
        )
    nonempty = [r for r in rows[:HEADER_SEARCH_ROWS] if not all(is_empty(c) for c in r)]
    if not nonempty:
        raise DataError("文件为空或前 15 行没有内容", where)
    found = [str(c) for c in max(nonempty, key=lambda r: sum(not is_empty(c) for c in r))]
    found = [c for c in found if c.strip()]
    near = nearest_table(found)
    spec = TABLES[near]
    needed = match_table(
        [normalize_header(c) for c in found], spec, aliases.for_table(near)
    ).missing
    wanted = "、".join(describe_column(near, c) for c in needed)
    raise DataError(
        f"无法识别表头，前 15 行中没有任何已知表格的列名；找到的表头: {found}；"
        f"最接近的表格: {near}（{TABLES[near].name_zh}），它需要的列: {wanted}"
        + _snippet_hint(near, needed, found, aliases),
        where,
    )


def _snippet_hint(
    table: str, missing: Sequence[str], header: Sequence[Any], aliases: HeaderAliases
) -> str:
    """The tail of a no-table error: a ``columns.yaml`` block to paste, on lines of its own."""
    return (
        "\n若只是列名不同，可在原始数据文件夹顶层的 columns.yaml 中加入以下内容"
        "（请核对猜测的表头，[] 中填入文件里对应的表头；已有该表时合并）:\n"
        + column_snippet(table, missing, header, aliases)
    )


def nearest_table(cells: Sequence[Any]) -> str:
    """The table whose accepted headers look most like ``cells`` (for error messages).

    >>> nearest_table(["活动名", "活动日"])
    'activities'
    """
    heads = [h for h in (normalize_header(c) for c in cells) if h]

    def similarity(table: str) -> float:
        accepted = [h for col in TABLES[table].columns for h in col.headers]
        return sum(
            max(difflib.SequenceMatcher(None, head, a).ratio() for a in accepted) for head in heads
        )

    return max(TABLES, key=similarity)


def _at(where: Location, row: int | None = None, column: str | None = None) -> Location:
    return Location(where.file, where.sheet, row, column)


def read_grid(
    rows: list[list[Any]],
    where: Location,
    row_offset: int = 0,
    aliases: HeaderAliases = NO_ALIASES,
) -> RawTable:
    """A raw table from a fully materialised grid (xlsx sheets, small or ragged CSVs).

    Raises:
        DataError: no recognised header (see :func:`find_header`).
    """
    h, match = find_header(rows, where, aliases)
    body = rows[h + 1 :]
    blank = np.fromiter((all(is_empty(c) for c in r) for r in body), bool, len(body))
    summary = np.fromiter(
        (is_summary_cell(next((c for c in r if not is_empty(c)), None)) for r in body),
        bool,
        len(body),
    )

    def column_of(pos: int) -> pd.Series:
        return pd.Series([r[pos] if pos < len(r) else None for r in body], dtype=object)

    data = {col: column_of(pos) for col, pos in match.columns.items()}
    frame = pd.DataFrame(data, index=pd.RangeIndex(len(body)))
    return RawTable(
        file=where.file or "",
        sheet=where.sheet,
        table=match.table,
        header_row=row_offset + h + 1,
        headers=[str(c) for c in rows[h]],
        frame=frame,
        source_row=np.arange(len(body)) + row_offset + h + 2,
        blank=blank,
        summary=summary,
        header_of=map_headers(rows[h], match),
        alternates={
            col: [(str(rows[h][pos]).strip(), column_of(pos)) for pos in positions]
            for col, positions in match.alternates.items()
        },
    )


def map_headers(header: Sequence[Any], match: HeaderMatch) -> dict[str, str]:
    """Canonical column -> its header text as the file spells it (stripped)."""
    return {col: str(header[pos]).strip() for col, pos in match.columns.items()}
