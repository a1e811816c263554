"""Reading raw platform exports: find the files, find each sheet's header, recognise its table.

Raw files are opened read-only and never written. The output is a list of :class:`RawTable`: the
data rows below a recognised header with their raw cell values, row numbers as Excel (or a text
editor) shows them, and flags for blank and summary rows. Cleaning happens in :mod:`clean`.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from qyzj_analytics.errors import DataError, Location
from qyzj_analytics.parse import is_empty, normalize_text
from qyzj_analytics.schemas import TABLES, HeaderMatch, describe_column, recognize_header

HEADER_SEARCH_ROWS = 15
SPREADSHEET_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".csv"}
FACTS_NAMES = {"facts.yaml", "facts.yml"}
_SUMMARY_RE = re.compile(r"^\s*(合\s*计|总\s*计|小\s*计)\s*(?:[:：(（\s].*)?$")


@dataclass
class RawTable:
    """The data rows of one recognised sheet (or CSV file), raw values under canonical names."""

    file: str
    sheet: str | None
    table: str
    header_row: int
    headers: list[str]
    frame: pd.DataFrame  # canonical column -> raw cell values
    source_row: np.ndarray  # 1-based row number of each data row
    blank: np.ndarray  # bool: every cell empty
    summary: np.ndarray  # bool: first non-empty cell is 合计/总计/小计


@dataclass
class RawFile:
    """One file found in the raw folder, with what became of it."""

    path: str
    size: int
    sha256: str
    status: str  # read | ignored | facts | error
    note: str = ""
    tables: list[str] = field(default_factory=list)
    sheets: list[str] = field(default_factory=list)


@dataclass
class RawExports:
    """Everything found in a raw folder."""

    tables: list[RawTable]
    files: list[RawFile]
    notes: list[str]
    errors: list[DataError]
    facts_path: Path | None = None


def is_summary_cell(value: Any) -> bool:
    """True when a first non-empty cell marks a summary row (合计, 总计, 小计).

    >>> is_summary_cell("合计："), is_summary_cell("总计划")
    (True, False)
    """
    text = normalize_text(value)
    return bool(text and _SUMMARY_RE.match(text))


def find_header(rows: Sequence[Sequence[Any]], where: Location) -> tuple[int, HeaderMatch]:
    """Index of the header row among the first 15 rows and the table it belongs to.

    Raises:
        DataError: no row matches a table (names the headers found and the nearest table), two
            tables tie, or an accepted header appears twice.
    """
    best_partial: tuple[int, HeaderMatch] | None = None
    for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        if all(is_empty(c) for c in row):
            continue
        matches = recognize_header(row)
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
            f"找到的表头: {found}",
            _at(where, row=i + 1),
        )
    nonempty = [r for r in rows[:HEADER_SEARCH_ROWS] if not all(is_empty(c) for c in r)]
    if not nonempty:
        raise DataError("文件为空或前 15 行没有内容", where)
    found = [str(c) for c in max(nonempty, key=lambda r: sum(not is_empty(c) for c in r))]
    found = [c for c in found if c.strip()]
    raise DataError(
        f"无法识别表头，前 15 行中没有任何已知表格的列名；找到的表头: {found}；"
        f"已知表格: {', '.join(TABLES)}",
        where,
    )


def _at(where: Location, row: int | None = None, column: str | None = None) -> Location:
    return Location(where.file, where.sheet, row, column)


def _grid_to_table(rows: list[list[Any]], where: Location, row_offset: int = 0) -> RawTable:
    """A raw table from a fully materialised grid (xlsx sheets, small or ragged CSVs)."""
    h, match = find_header(rows, where)
    body = rows[h + 1 :]
    blank = np.fromiter((all(is_empty(c) for c in r) for r in body), bool, len(body))
    summary = np.fromiter(
        (is_summary_cell(next((c for c in r if not is_empty(c)), None)) for r in body),
        bool,
        len(body),
    )
    data = {
        col: pd.Series([r[pos] if pos < len(r) else None for r in body], dtype=object)
        for col, pos in match.columns.items()
    }
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
    )


def read_workbook(path: Path, name: str) -> tuple[list[RawTable], list[str]]:
    """Every sheet of an xlsx/xls workbook whose header is recognised, plus notes on the rest.

    Raises:
        DataError: the workbook cannot be opened, or no sheet holds a recognised table.
    """
    from python_calamine import CalamineWorkbook

    try:
        with path.open("rb") as fh:
            workbook = CalamineWorkbook.from_filelike(fh)
            sheets = [
                (s, workbook.get_sheet_by_name(s).to_python(skip_empty_area=False))
                for s in workbook.sheet_names
            ]
    except Exception as exc:  # calamine raises its own, zipfile and OS errors
        raise DataError(
            f"无法打开 Excel 文件（文件损坏、被截断或不是 Excel 格式）: {exc}", Location(name)
        ) from None
    tables: list[RawTable] = []
    notes: list[str] = []
    errors: list[DataError] = []
    for sheet, rows in sheets:
        where = Location(name, sheet)
        if not rows or all(all(is_empty(c) for c in r) for r in rows):
            notes.append(f"{name} / {sheet}: 空工作表，已跳过")
            continue
        try:
            tables.append(_grid_to_table(rows, where))
        except DataError as exc:
            errors.append(exc)
    if not tables:
        if errors:
            raise (
                errors[0]
                if len(errors) == 1
                else DataError(
                    "没有任何工作表能识别出表头:\n  " + "\n  ".join(str(e) for e in errors),
                    Location(name),
                )
            )
        raise DataError("工作簿为空，没有任何内容", Location(name))
    notes.extend(f"{e}（该工作表已跳过）" for e in errors)
    return tables, notes


def decode_csv(data: bytes, name: str) -> tuple[str, str]:
    """Text and encoding of CSV bytes: UTF-8 (with or without BOM) or GBK/GB18030."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="strict"), "utf-8-sig"
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise DataError("无法识别文件编码（支持 UTF-8、UTF-8 BOM、GBK/GB18030）", Location(name))


def _first_lines(text: str, n: int) -> list[str]:
    """The first ``n`` lines of ``text`` (without the "\\n") without splitting all of it."""
    lines: list[str] = []
    start = 0
    while len(lines) < n and start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        lines.append(text[start:end])
        start = end + 1
    return lines


def _sniff_delimiter(head: str) -> str:
    counts = {d: head.count(d) for d in (",", "\t", ";")}
    return max(counts, key=counts.__getitem__) if any(counts.values()) else ","


def read_csv_export(data: bytes, name: str) -> RawTable:
    """The table of one CSV export; pyarrow reads the body, the csv module only the head.

    Raises:
        DataError: empty file, unknown encoding or unrecognised header.
    """
    where = Location(name)
    if not data.strip():
        raise DataError("文件为空", where)
    text, _encoding = decode_csv(data, name)
    head_lines = _first_lines(text, HEADER_SEARCH_ROWS)
    delimiter = _sniff_delimiter("\n".join(head_lines))
    head_rows = list(csv.reader(io.StringIO("\n".join(head_lines)), delimiter=delimiter))
    h, match = find_header(head_rows, where)
    width = len(head_rows[h])
    body = text[sum(len(line) + 1 for line in head_lines[: h + 1]) :]
    try:
        return _read_csv_fast(body, delimiter, width, h, match, head_rows[h], name)
    except pa.ArrowInvalid:
        pass  # ragged rows, blank lines or line breaks inside cells: the csv module reads them
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    return _grid_to_table(rows, where)


def _read_csv_fast(
    body: str,
    delimiter: str,
    width: int,
    h: int,
    match: HeaderMatch,
    header: list[str],
    name: str,
) -> RawTable:
    names = [f"c{i}" for i in range(width)]
    table = pacsv.read_csv(
        io.BytesIO(body.encode("utf-8")),
        read_options=pacsv.ReadOptions(column_names=names, use_threads=True),
        parse_options=pacsv.ParseOptions(delimiter=delimiter),
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False
        ),
    )
    n = table.num_rows
    lines = body.count("\n") + (0 if not body or body.endswith("\n") else 1)
    if n != lines:  # pyarrow skipped blank lines or joined quoted line breaks: row numbers differ
        raise pa.ArrowInvalid("row count differs from line count")
    trimmed = [pc.utf8_trim_whitespace(table.column(i)) for i in range(width)]
    nonempty = [pc.not_equal(c, "") for c in trimmed]
    blank = np.ones(n, bool)
    first = pa.nulls(n, pa.string())
    for col, ok in zip(trimmed, nonempty, strict=True):
        blank &= ~ok.to_numpy(zero_copy_only=False)
        first = pc.if_else(pc.and_(pc.is_null(first), ok), col, first)
    summary = pc.fill_null(pc.match_substring_regex(first, _SUMMARY_RE.pattern), False)
    frame = pd.DataFrame(
        {col: table.column(pos).to_pandas() for col, pos in match.columns.items()},
        index=pd.RangeIndex(n),
    )
    return RawTable(
        file=name,
        sheet=None,
        table=match.table,
        header_row=h + 1,
        headers=header,
        frame=frame,
        source_row=np.arange(n) + h + 2,
        blank=blank,
        summary=summary.to_numpy(zero_copy_only=False),
    )


def read_raw_dir(raw_dir: Path) -> RawExports:
    """Read every export in ``raw_dir`` (recursively, in name order).

    Excel lock files (``~$*``), hidden files and non-spreadsheets are ignored and listed as notes;
    ``facts.yaml`` is remembered for :mod:`facts`. File-level problems are collected, not raised.
    """
    tables: list[RawTable] = []
    files: list[RawFile] = []
    notes: list[str] = []
    errors: list[DataError] = []
    facts_path: Path | None = None
    for path in sorted(p for p in raw_dir.rglob("*") if p.is_file()):
        name = path.relative_to(raw_dir).as_posix()
        data = path.read_bytes()
        record = RawFile(name, len(data), hashlib.sha256(data).hexdigest(), "read")
        files.append(record)
        suffix = path.suffix.lower()
        if path.name.startswith("~$"):
            record.status, record.note = "ignored", "Excel 锁定文件（文件正在被打开），已忽略"
        elif any(part.startswith(".") for part in path.relative_to(raw_dir).parts):
            record.status, record.note = "ignored", "隐藏文件，已忽略"
        elif path.name.lower() in FACTS_NAMES:
            record.status, record.note = "facts", "手工维护的 facts.yaml"
            facts_path = path
        elif suffix not in SPREADSHEET_SUFFIXES:
            record.status, record.note = "ignored", "不是表格文件（xlsx/xls/csv），已忽略"
        else:
            try:
                if suffix == ".csv":
                    found, file_notes = [read_csv_export(data, name)], []
                else:
                    found, file_notes = read_workbook(path, name)
            except DataError as exc:
                record.status, record.note = "error", exc.message
                errors.append(exc)
                continue
            tables.extend(found)
            notes.extend(file_notes)
            record.tables = sorted({t.table for t in found})
            record.sheets = [t.sheet for t in found if t.sheet is not None]
        if record.status == "ignored":
            notes.append(f"{name}: {record.note}")
    return RawExports(tables, files, notes, errors, facts_path)
