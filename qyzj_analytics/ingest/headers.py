"""Finding a sheet's header: which row it is, which table it names, and the rows below it.

The header is looked for in the first 15 rows; :func:`find_header` explains in Chinese why none
was found (the headers seen and the nearest table). :func:`read_grid` turns a fully read grid
(an xlsx sheet, a small or ragged CSV) into a :class:`~qyzj_analytics.ingest.raw.RawTable`.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from qyzj_analytics.errors import DataError, Location
from qyzj_analytics.ingest.columns import column_snippet
from qyzj_analytics.ingest.csvhead import HEADER_SEARCH_ROWS
from qyzj_analytics.ingest.parse import BLANK_CHARS, is_empty, normalize_header, normalize_text
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

_SUMMARY_RE = re.compile(r"^\s*(合\s*计|总\s*计|小\s*计)\s*(?:[:：(（\s].*)?$")


def is_summary_cell(value: Any) -> bool:
    """True when a first non-empty cell marks a summary row (合计, 总计, 小计).

    >>> is_summary_cell("合计："), is_summary_cell("总计划")
    (True, False)
    """
    text = normalize_text(value)
    return bool(text and _SUMMARY_RE.match(text))


@dataclass(frozen=True)
class Header:
    """A recognised header: its first row (0-based), how many rows it spans, its cells, its match.

    A header over two merged rows (group headings above leaf headers) has ``height`` 2 and
    ``cells`` combined column by column (:func:`combine_header_rows`).
    """

    start: int
    height: int
    cells: list[Any]
    match: HeaderMatch

    @property
    def stop(self) -> int:
        """Index of the first row below the header."""
        return self.start + self.height


def find_header(
    rows: Sequence[Sequence[Any]], where: Location, aliases: HeaderAliases = NO_ALIASES
) -> tuple[int, HeaderMatch]:
    """Index of the (first) header row among the first 15 rows and the table it belongs to.

    See :func:`locate_header`, which also tells how many rows the header spans.
    """
    found = locate_header(rows, where, aliases)
    return found.start, found.match


def locate_header(
    rows: Sequence[Sequence[Any]], where: Location, aliases: HeaderAliases = NO_ALIASES
) -> Header:
    """The header among the first 15 rows: one row, or two rows read as one (merged headings).

    A row that is not a table's header on its own is tried together with the next row
    (:func:`combine_header_rows`); the pair is taken when it is a complete header and matches more
    columns than either row alone. A row that is a header on its own is only extended when the
    next row is empty under every header it recognised (as under a vertical merge) and adds
    headers, so a first data row never becomes part of the header. ``aliases`` adds the headers
    mapped in ``columns.yaml``.

    Raises:
        DataError: no row matches a table (names the headers found and the nearest table, with a
            ``columns.yaml`` snippet for it), two tables tie, or an accepted header appears twice.
    """
    best_partial: tuple[int, HeaderMatch] | None = None
    search = rows[:HEADER_SEARCH_ROWS]
    singles = _SingleMatches(search, aliases)
    for i, row in enumerate(search):
        matches = singles[i]
        if matches is None:
            continue
        pair = _try_pair(search, singles, i, where, aliases)
        if pair is not None:
            return _checked(pair, where)
        complete = [m for m in matches if m.complete]
        if complete:
            return _checked(Header(i, 1, list(row), _top(complete, where, i)), where)
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


def _is_blank_row(row: Sequence[Any]) -> bool:
    return all(is_empty(c) for c in row)


def _top(complete: list[HeaderMatch], where: Location, i: int, height: int = 1) -> HeaderMatch:
    """The best complete match; two tables with the same score are an error."""
    top = [m for m in complete if m.score == complete[0].score]
    if len(top) > 1:
        names = "、".join(f"{m.table}（{TABLES[m.table].name_zh}）" for m in top)
        raise DataError(
            f"表头{_rows_note(i, height)}同时符合多个表且匹配列数相同，无法判断: {names}",
            _at(where, row=i + 1),
        )
    return top[0]


def _rows_note(i: int, height: int) -> str:
    """For a two-row header: ``（第 3–4 行）`` (the location names the first row only)."""
    return "" if height == 1 else f"（第 {i + 1}–{i + 2} 行）"


def _checked(found: Header, where: Location) -> Header:
    """``found``, unless an accepted header appears twice in it (an error)."""
    match = found.match
    if match.duplicates:
        col, positions = next(iter(match.duplicates.items()))
        heads = [str(found.cells[p]) for p in positions]
        raise DataError(
            f"表头{_rows_note(found.start, found.height)}重复: {' / '.join(heads)} 都对应 "
            f"{describe_column(match.table, col)}，无法判断使用哪一列",
            _at(where, row=found.start + 1, column=heads[0]),
        )
    return found


class _SingleMatches:
    """Each row's matches on its own (None: a blank row), worked out once when first asked."""

    def __init__(self, rows: Sequence[Sequence[Any]], aliases: HeaderAliases) -> None:
        self.rows, self.aliases = rows, aliases
        self.done: dict[int, list[HeaderMatch] | None] = {}

    def __getitem__(self, i: int) -> list[HeaderMatch] | None:
        if i not in self.done:
            row = self.rows[i]
            self.done[i] = None if _is_blank_row(row) else recognize_header(row, self.aliases)
        return self.done[i]


def _try_pair(
    rows: Sequence[Sequence[Any]],
    singles: _SingleMatches,
    i: int,
    where: Location,
    aliases: HeaderAliases,
) -> Header | None:
    """Rows ``i`` and ``i + 1`` read as one header, when that recognises more than either alone."""
    if i + 1 >= len(rows) or singles[i + 1] is None:
        return None
    upper, lower = rows[i], rows[i + 1]
    cells = combine_header_rows(upper, lower, aliases)
    complete = [m for m in recognize_header(cells, aliases) if m.complete]
    if not complete:
        return None
    for alone in (singles[i], singles[i + 1]):
        done = [m for m in alone or () if m.complete]
        if done and done[0].score >= complete[0].score:
            return None
    own = [m for m in singles[i] or () if m.complete]
    if own:  # a header on its own: the next row must be empty under what it recognised
        used = [*own[0].columns.values(), *(p for ps in own[0].alternates.values() for p in ps)]
        if any(p < len(lower) and not is_empty(lower[p]) for p in used):
            return None
    return Header(i, 2, cells, _top(complete, where, i, height=2))


def combine_header_rows(
    upper: Sequence[Any], lower: Sequence[Any], aliases: HeaderAliases = NO_ALIASES
) -> list[Any]:
    """Two header rows as one, column by column (calamine and HTML spans leave merged cells empty
    but the first).

    Per column: the upper heading joined with the lower one when that is a known header
    ("活动" + "日期"); else the lower cell; else the upper cell (a heading merged down). The
    upper heading is carried right across the empty cells of a horizontal merge.

    >>> combine_header_rows(["序号", "活动", "", "参与情况", ""], ["", "名称", "日期", "活动形式", "人数"])
    ['序号', '活动名称', '活动日期', '活动形式', '人数']
    """
    known = _known_headers(aliases)
    out: list[Any] = []
    carried = ""
    for j in range(max(len(upper), len(lower))):
        up = upper[j] if j < len(upper) else None
        low = lower[j] if j < len(lower) else None
        if not is_empty(up):
            carried = str(up).strip()
        if is_empty(low):
            out.append(up)
            continue
        joined = f"{carried}{str(low).strip()}"
        out.append(joined if carried and normalize_header(joined) in known else low)
    return out


def _known_headers(aliases: HeaderAliases) -> frozenset[str]:
    """Every accepted header of every table (normalised), with those of ``columns.yaml``."""
    heads = {h for spec in TABLES.values() for col in spec.columns for h in col.headers}
    heads.update(h for extra in aliases.extra.values() for hs in extra.values() for h in hs)
    return frozenset(heads)


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


_NOTHING = object()  # first_filled of a row with no filled cell


def first_filled(row: Sequence[Any]) -> Any:
    """The first cell of ``row`` that is not empty (:func:`is_empty`), else ``_NOTHING``.

    Cells of the common types (None, text, whole numbers, dates) are told apart without the
    general test: a sheet of 10,000 rows has every cell looked at here.

    >>> first_filled([None, " ", 3])
    3
    """
    for cell in row:
        if cell is None:
            continue
        kind = type(cell)
        if kind is str:
            if cell.strip(BLANK_CHARS):
                return cell
        elif kind is int or kind is dt.datetime or kind is dt.date or not is_empty(cell):
            return cell
    return _NOTHING


def _at(where: Location, row: int | None = None, column: str | None = None) -> Location:
    return Location(where.file, where.sheet, row, column)


def read_grid(
    rows: list[list[Any]],
    where: Location,
    row_offset: int = 0,
    aliases: HeaderAliases = NO_ALIASES,
) -> RawTable:
    """A raw table from a fully materialised grid (xlsx sheets, small or ragged CSVs).

    The header may span two rows (:func:`locate_header`); ``header_row`` is its first row.

    Raises:
        DataError: no recognised header (see :func:`find_header`).
    """
    found = locate_header(rows, where, aliases)
    h, match, header = found.start, found.match, found.cells
    body = rows[found.stop :]
    firsts = [first_filled(r) for r in body]
    blank = np.fromiter((f is _NOTHING for f in firsts), bool, len(body))
    # a summary mark (合计, 总计, 小计) is text: other first cells cannot be one
    summary = np.fromiter(
        (isinstance(f, str) and is_summary_cell(f) for f in firsts), bool, len(body)
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
        headers=[str(c) for c in header],
        frame=frame,
        source_row=np.arange(len(body)) + row_offset + found.stop + 1,
        blank=blank,
        summary=summary,
        header_of=map_headers(header, match),
        alternates={
            col: [(str(header[pos]).strip(), column_of(pos)) for pos in positions]
            for col, positions in match.alternates.items()
        },
    )


def map_headers(header: Sequence[Any], match: HeaderMatch) -> dict[str, str]:
    """Canonical column -> its header text as the file spells it (stripped)."""
    return {col: str(header[pos]).strip() for col, pos in match.columns.items()}
