"""Web "Excel exports" that are markup: an HTML table or SpreadsheetML 2003 XML saved as .xls.

Both are turned into the same grid an xlsx sheet gives, so header detection, cleaning and row
numbers work as for any export. Only the standard library is used: ``html.parser`` for HTML,
``xml.etree`` for SpreadsheetML with DOCTYPE/ENTITY declarations refused (no entity bombs).
Spans and indexes are bounded by Excel's own limits, and skipped rows are stored empty, so a
hostile file cannot make the reader allocate a huge grid.
"""

from __future__ import annotations

import codecs
import datetime as dt
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from typing import Any

from qyzj_analytics.errors import DataError, Location
from qyzj_analytics.ingest.raw import Data

MAX_ROWS = 1_048_576  # Excel's limits: no real export goes beyond them
MAX_COLUMNS = 16_384
MAX_COLSPAN = 1_000  # the HTML standard's own caps
MAX_ROWSPAN = 65_534
_CHARSET = re.compile(rb"""charset\s*=\s*["']?([A-Za-z0-9_\-]+)""", re.I)
_SS = "{urn:schemas-microsoft-com:office:spreadsheet}"

Grid = list[list[Any]]


def decode_markup(data: Data, name: str) -> str:
    """The text of an HTML/XML file: BOM, then a declared charset, then UTF-8, then GB18030.

    Raises:
        DataError: no encoding reads the bytes.
    """
    raw = bytes(data)
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if raw.startswith(bom):
            candidates = [encoding]
            raw = raw[len(bom) :]
            break
    else:
        declared = _CHARSET.search(raw[:4096])
        candidates = [declared.group(1).decode("ascii")] if declared else []
        candidates += ["utf-8", "gb18030"]
    for encoding in candidates:
        if encoding.lower() in {"gbk", "gb2312", "gb_2312-80"}:
            encoding = "gb18030"  # a superset: GBK files often hold a few GB18030 characters
        try:
            return raw.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    raise DataError(
        "无法识别网页/XML 文件的编码（支持 UTF-8、GBK/GB18030、UTF-16）", Location(name)
    )


def _span(value: str | None, cap: int) -> int:
    """A span attribute (colspan, rowspan, MergeAcross + 1) as a count between 1 and ``cap``."""
    try:
        return min(max(int(str(value).strip()), 1), cap)
    except ValueError:
        return 1


class _TableParser(HTMLParser):
    """Collects the rows of every top-level ``<table>`` (cell text, spans as empty cells)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[Grid] = []
        self.rows: Grid = []
        self.depth = 0  # table nesting; only depth 1 is read (nested text joins its cell)
        self.row: list[Any] | None = None
        self.cell: list[str] | None = None
        self.spans: dict[int, int] = {}  # column -> rows still covered by a rowspan above
        self.colspan = 1
        self.rowspan = 1
        self.overflow = False  # a cell or row beyond Excel's size was met

    def parse_marked_section(self, i: int, report: int = 1) -> int:
        """Skip a marked section ``<![...]>`` the standard parser would refuse with an assert."""
        try:
            return super().parse_marked_section(i, report)
        except AssertionError:
            end = self.rawdata.find(">", i)
            return -1 if end < 0 else end + 1

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.depth += 1
        elif self.depth == 1 and tag == "tr":
            self._end_row()
            self.row = []
        elif self.depth == 1 and tag in ("td", "th"):
            if self.row is None:
                self.row = []
            self._end_cell()
            self.cell = []
            found = dict(attrs)
            self.colspan = _span(found.get("colspan"), MAX_COLSPAN)
            self.rowspan = _span(found.get("rowspan"), MAX_ROWSPAN)
        elif tag == "br" and self.cell is not None:
            self.cell.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            if self.depth == 1:
                self.end_table()
            self.depth = max(self.depth - 1, 0)
        elif self.depth == 1 and tag in ("td", "th"):
            self._end_cell()
        elif self.depth == 1 and tag == "tr":
            self._end_row()

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)

    def _skip_spanned(self) -> None:
        """Fill the columns a rowspan above still covers with empty cells."""
        assert self.row is not None
        while self.spans.get(len(self.row), 0) > 0 and len(self.row) < MAX_COLUMNS:
            self.spans[len(self.row)] -= 1
            self.row.append(None)

    def _end_cell(self) -> None:
        if self.cell is None or self.row is None:
            return
        self._skip_spanned()
        text = "".join(self.cell).strip()
        start = len(self.row)
        for _ in range(min(self.colspan, MAX_COLUMNS - start)):
            self.row.append(None)
        if start < len(self.row):
            self.row[start] = text or None
        elif text:
            self.overflow = True
        if self.rowspan > 1:
            for col in range(start, len(self.row)):
                self.spans[col] = self.rowspan - 1
        self.cell = None

    def end_table(self) -> None:
        """Close the table being read (kept when it has rows)."""
        self._end_row()
        if self.rows:
            self.tables.append(self.rows)
        self.rows, self.spans = [], {}

    def _end_row(self) -> None:
        self._end_cell()
        if self.row is not None:
            self._skip_spanned()
            for col, left in list(self.spans.items()):
                if col >= len(self.row) and left > 0:
                    self.spans[col] = left - 1
            if len(self.rows) < MAX_ROWS and sum(map(len, self.tables)) < MAX_ROWS:
                self.rows.append(self.row)
            else:
                self.overflow = True
            self.row = None


def read_html_tables(data: Data, name: str) -> list[Grid]:
    """The cells of every top-level ``<table>`` of an HTML file, row by row (text values).

    Raises:
        DataError: not decodable, or no table in it.
    """
    parser = _TableParser()
    parser.feed(decode_markup(data, name))
    parser.close()
    parser.end_table()
    if parser.overflow:
        raise _too_big(name)
    if not parser.tables:
        raise DataError("这是一个网页（HTML）文件，但其中没有表格（<table>）", Location(name))
    return parser.tables


def _too_big(name: str, sheet: str | None = None, row: int | None = None) -> DataError:
    """The error of a table beyond Excel's own size (nothing of it is silently dropped)."""
    return DataError(
        f"表格超出 Excel 的上限（{MAX_ROWS:,} 行 × {MAX_COLUMNS:,} 列），文件损坏或不是真正的导出",
        Location(name, sheet, row),
    )


def _ss_value(cell: ET.Element) -> Any:
    """The value of one SpreadsheetML ``<Cell>``: number, date-time or text (None when empty)."""
    data = cell.find(f"{_SS}Data")
    if data is None:
        return None
    text = "".join(data.itertext())
    kind = data.get(f"{_SS}Type", "String")
    if kind == "Number":
        try:
            number = float(text)
        except ValueError:
            return text
        return int(number) if number.is_integer() and abs(number) < 2**53 else number
    if kind == "DateTime":
        try:
            return dt.datetime.fromisoformat(text.split(".")[0])
        except ValueError:
            return text
    return text if text.strip() else None


def _index(element: ET.Element, after: int, cap: int) -> int:
    """The 1-based ``ss:Index`` of a row or cell (``after + 1`` when absent), capped at ``cap``."""
    value = element.get(f"{_SS}Index")
    try:
        index = int(value) if value is not None else after + 1
    except ValueError:
        index = after + 1
    return min(max(index, after + 1), cap)


def read_spreadsheetml(data: Data, name: str) -> list[tuple[str, Grid]]:
    """Every worksheet of a SpreadsheetML 2003 file as ``(sheet name, grid)``.

    Rows skipped by ``ss:Index`` are kept as empty rows (so row numbers match Excel's); cells
    are placed by ``ss:Index``, merged cells (``ss:MergeAcross``) leave empty cells.

    Raises:
        DataError: not decodable, a DOCTYPE/ENTITY declaration, or not well-formed XML.
    """
    text = decode_markup(data, name)
    if re.search(r"<!(?:DOCTYPE|ENTITY)", text, re.I):
        raise DataError("XML 文件含有 DOCTYPE/ENTITY 声明，出于安全原因不予读取", Location(name))
    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text)  # the declaration names the bytes' encoding
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise DataError(f"XML 文件格式错误（文件损坏或被截断）: {exc}", Location(name)) from None
    sheets: list[tuple[str, Grid]] = []
    for number, sheet in enumerate(root.iter(f"{_SS}Worksheet"), start=1):
        title = sheet.get(f"{_SS}Name") or f"Sheet{number}"
        grid: Grid = []
        table = sheet.find(f"{_SS}Table")
        for row in table.iter(f"{_SS}Row") if table is not None else ():
            at = _index(row, len(grid), MAX_ROWS + 1)
            if at > MAX_ROWS:
                raise _too_big(name, title)
            grid.extend([] for _ in range(at - 1 - len(grid)))
            cells: list[Any] = []
            for cell in row.iter(f"{_SS}Cell"):
                col = _index(cell, len(cells), MAX_COLUMNS + 1)
                if col > MAX_COLUMNS:
                    raise _too_big(name, title, at)
                cells.extend(None for _ in range(col - 1 - len(cells)))
                cells.append(_ss_value(cell))
                across = _span(cell.get(f"{_SS}MergeAcross", "1"), MAX_COLUMNS + 1) - 1
                cells.extend(None for _ in range(min(across, MAX_COLUMNS - len(cells))))
            grid.append(cells)
        sheets.append((title, grid))
    if not sheets:
        raise DataError("XML 文件中没有工作表（Worksheet）", Location(name))
    return sheets
