"""Reading raw platform exports: find the files, find each sheet's header, recognise its table.

Raw files are opened read-only (large ones memory-mapped) and never written. The output is a list
of :class:`RawTable`: the data rows below a recognised header with their raw cell values, row
numbers as Excel shows them, and flags for blank and summary rows. Cleaning happens in
:mod:`clean`. Workbooks are read with python-calamine; CSV bodies with pyarrow, falling back to
the csv module for files pyarrow cannot read row for row.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import hashlib
import io
import itertools
import mmap
import os
import re
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from qyzj_analytics.errors import DataError, Location
from qyzj_analytics.ingest.parse import BLANK_CHARS, is_empty, normalize_header, normalize_text
from qyzj_analytics.ingest.schemas import TABLES, HeaderMatch, describe_column, recognize_header

HEADER_SEARCH_ROWS = 15
Data = bytes | mmap.mmap  # a raw file's content: read, or memory-mapped when large
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
    frame: pd.DataFrame  # canonical column -> raw cell values (CSV: categorical strings)
    source_row: np.ndarray  # 1-based row number of each data row
    blank: np.ndarray  # bool: every cell empty
    summary: np.ndarray  # bool: first non-empty cell is 合计/总计/小计
    header_of: dict[str, str] = field(default_factory=dict)  # canonical column -> header text

    def header_text(self, column: str) -> str:
        """The header of canonical ``column`` as the file spells it (for messages)."""
        return self.header_of.get(column) or TABLES[self.table].column(column).headers[0]


@dataclass
class RawFile:
    """One file found in the raw folder, with what became of it."""

    path: str
    size: int
    digest: str | Future[str]  # SHA-256 (hex) of the bytes read, or its computation under way
    status: str  # read | ignored | facts | error
    note: str = ""
    tables: list[str] = field(default_factory=list)
    sheets: list[str] = field(default_factory=list)

    @property
    def sha256(self) -> str:
        """SHA-256 (hex) of the file's bytes as they were read (waits for the hashing thread)."""
        if isinstance(self.digest, Future):
            self.digest = self.digest.result()
        return self.digest

    def as_dict(self) -> dict[str, Any]:
        """The record for ``manifest.json``."""
        return {
            "path": self.path,
            "size": self.size,
            "sha256": self.sha256,
            "status": self.status,
            "note": self.note,
            "tables": self.tables,
            "sheets": self.sheets,
        }


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
    near = nearest_table(found)
    spec = TABLES[near]
    needed = [*spec.required, *(["/".join(spec.one_of)] if spec.one_of else [])]
    wanted = "、".join(describe_column(near, c) for c in needed)
    raise DataError(
        f"无法识别表头，前 15 行中没有任何已知表格的列名；找到的表头: {found}；"
        f"最接近的表格: {near}（{TABLES[near].name_zh}），它需要的列: {wanted}",
        where,
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
        header_of=_header_of(rows[h], match),
    )


def _header_of(header: Sequence[Any], match: HeaderMatch) -> dict[str, str]:
    return {col: str(header[pos]).strip() for col, pos in match.columns.items()}


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


_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_MAP_BYTES = 1 << 24  # files this large are memory-mapped, not read
_HEAD_BYTES = 1 << 20  # the header is looked for in the first 15 records of the first MiB
_LINE_RE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")
_BLANK_LEAD = np.zeros(256, bool)  # first UTF-8 byte of each blank character
_BLANK_LEAD[[c.encode("utf-8")[0] for c in BLANK_CHARS]] = True
_NONBLANK_RE = "[^" + "".join(f"\\x{{{ord(c):04x}}}" for c in BLANK_CHARS) + "]"


def _bom(data: Data) -> tuple[int, str | None]:
    """Length of the byte-order mark at the start of ``data`` and the encoding it names."""
    start = bytes(data[:4])
    for bom, encoding in _BOMS:
        if start.startswith(bom):
            return len(bom), encoding
    return 0, None


def decode_csv(data: Data, name: str) -> tuple[str, str]:
    """Text and encoding of CSV bytes: UTF-8 (with or without BOM), GBK/GB18030 or UTF-16 (BOM).

    Raises:
        DataError: none of these encodings reads the bytes.
    """
    skip, encoding = _bom(data)
    for candidate in (encoding,) if encoding else ("utf-8", "gb18030"):
        try:
            return str(memoryview(data)[skip:], candidate), candidate
        except UnicodeDecodeError:
            continue
    raise DataError(
        "无法识别文件编码（支持 UTF-8、UTF-8 BOM、GBK/GB18030、UTF-16）", Location(name)
    )


def _is_blank(data: Data, skip: int) -> bool:
    """Nothing but whitespace after the byte-order mark (scans no further than needed)."""
    if re.search(rb"\S", data[skip : skip + _HEAD_BYTES]):
        return False
    return not data[skip + _HEAD_BYTES :].strip()


def _lines(text: str) -> Iterator[str]:
    """Physical lines of ``text`` with their endings (\\n, \\r\\n or \\r, as the csv module)."""
    return (m.group() for m in _LINE_RE.finditer(text))


def _sniff_delimiter(text: str) -> str:
    head = "".join(itertools.islice(_lines(text), HEADER_SEARCH_ROWS))
    counts = {d: head.count(d) for d in (",", "\t", ";")}
    return max(counts, key=counts.__getitem__) if any(counts.values()) else ","


def _head_records(text: str, delimiter: str) -> tuple[list[list[str]], list[int]]:
    """The first 15 CSV records of ``text`` and, for each, how many characters reach its end."""
    used = 0

    def counting() -> Iterator[str]:
        nonlocal used
        for line in _lines(text):
            used += len(line)
            yield line

    records: list[list[str]] = []
    ends: list[int] = []
    for record in csv.reader(counting(), delimiter=delimiter):
        records.append(record)
        ends.append(used)
        if len(records) == HEADER_SEARCH_ROWS:
            break
    return records, ends


def read_csv_export(data: Data, name: str) -> RawTable:
    """The table of one CSV export: the csv module finds the header, pyarrow reads the body.

    Row numbers are those Excel shows (one per CSV record, blank lines included). A body pyarrow
    cannot read record for record (ragged rows, lines of only spaces, line breaks inside cells,
    bytes that are not UTF-8 after a UTF-8 head) is read whole by the csv module instead, with
    the same result.

    Raises:
        DataError: empty file, unknown encoding or unrecognised header.
    """
    where = Location(name)
    skip, encoding = _bom(data)
    if _is_blank(data, skip):
        raise DataError("文件为空（没有任何内容）", where)
    text: str | None = None  # the whole file, decoded, when it had to be
    head_text = ""
    if encoding in (None, "utf-8"):  # decode the first MiB only, whole lines
        head = data[skip : skip + _HEAD_BYTES]
        if len(data) > skip + _HEAD_BYTES:  # (0x0A is never part of a UTF-8/GBK character)
            head = head[: head.rfind(b"\n") + 1] or head
        for candidate in ("utf-8",) if encoding else ("utf-8", "gb18030"):
            try:
                head_text, encoding = head.decode(candidate), candidate
                break
            except UnicodeDecodeError:
                encoding = None
    if encoding not in ("utf-8", "gb18030"):
        text, encoding = decode_csv(data, name)
        head_text = text
    delimiter = _sniff_delimiter(head_text)
    try:
        records, ends = _head_records(head_text, delimiter)
    except csv.Error:  # e.g. a quote left open at the end of the first MiB
        records, ends = [], []
    if records:
        h, match = find_header(records, where)
        body = _utf8_body(data, skip, head_text[: ends[h]], encoding, text)
        try:
            if body is not None:
                return _read_csv_fast(body[0], body[1], delimiter, records[h], h, match, name)
        except pa.ArrowException:
            pass  # the csv module reads what pyarrow cannot
    if text is None:
        text = decode_csv(data, name)[0]
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:  # e.g. a cell longer than the csv module's limit
        raise DataError(f"CSV 格式错误，无法读取: {exc}", where) from None
    return _grid_to_table(rows, where)


def _utf8_body(
    data: Data, skip: int, head: str, encoding: str, text: str | None
) -> tuple[Data, int] | None:
    """The bytes below the header as UTF-8, and where they start; None if they cannot be had.

    UTF-8 files are used as they are (no copy); GBK/GB18030 bodies are transcoded from the byte
    after the header; other encodings from the decoded ``text``.
    """
    if encoding == "utf-8":
        return data, skip + len(head.encode("utf-8"))
    if text is not None:
        return text[len(head) :].encode("utf-8"), 0
    head_bytes = head.encode(encoding)
    start = skip + len(head_bytes)
    if bytes(data[skip:start]) != head_bytes:  # not a byte-exact round trip: play safe
        return None
    try:
        return str(memoryview(data)[start:], encoding).encode("utf-8"), 0
    except UnicodeDecodeError:
        return None


def _read_csv_fast(
    data: Data,
    start: int,
    delimiter: str,
    header: list[str],
    h: int,
    match: HeaderMatch,
    name: str,
) -> RawTable:
    """Read the UTF-8 rows in ``data[start:]`` with pyarrow, one row per CSV record.

    A blank line becomes a row of empty cells, as in the csv module.

    Raises:
        pyarrow.ArrowInvalid: ragged rows (including lines of only spaces), invalid UTF-8, or
            line breaks inside quoted cells (rows would not be records).
    """
    width = len(header)
    names = [f"c{i}" for i in range(width)]
    quoted = data.find(b'"', start) >= 0

    def read(columns: list[int]) -> pa.Table:
        return pacsv.read_csv(
            pa.BufferReader(pa.py_buffer(data)[start:]),
            read_options=pacsv.ReadOptions(column_names=names, use_threads=True),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter, newlines_in_values=quoted, ignore_empty_lines=False
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False,
                include_columns=[names[i] for i in columns],
            ),
        )

    # first the canonical columns and the first one, which decides blank and summary rows ...
    table = read(sorted({0, *match.columns.values()}))
    n = table.num_rows
    if quoted and n != _count_lines(data, start):
        raise pa.ArrowInvalid("a quoted cell holds a line break: rows are not lines")
    # the canonical columns are dictionary-encoded on worker threads (arrow releases the GIL)
    # while the row flags are worked out here
    encoded = {
        col: worker_pool().submit(_categorical, table.column(names[pos]))
        for col, pos in match.columns.items()
    }
    try:
        every = table if table.num_columns == width else None
        blank, summary = _row_flags([table.column(names[0])], n)
        if blank.any():  # ... and all columns when a first cell is empty
            if every is None:
                every = read(list(range(width)))
            blank, summary = _row_flags([every.column(name) for name in names], n)
    finally:
        wait(encoded.values())
    frame = pd.DataFrame(
        {col: future.result() for col, future in encoded.items()}, index=pd.RangeIndex(n)
    )
    return RawTable(
        file=name,
        sheet=None,
        table=match.table,
        header_row=h + 1,
        headers=header,
        frame=frame,
        source_row=np.arange(h + 2, n + h + 2),
        blank=blank,
        summary=summary,
        header_of=_header_of(header, match),
    )


_WORKERS: ThreadPoolExecutor | None = None


def worker_pool() -> ThreadPoolExecutor:
    """Two threads for arrow work that releases the GIL (dictionary-encoding CSV columns,
    writing parquet); shared by reading and cleaning."""
    global _WORKERS
    if _WORKERS is None:
        _WORKERS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="qyzj-arrow")
    return _WORKERS


def _categorical(column: pa.ChunkedArray) -> pd.Categorical:
    """A string column as a ``Categorical``: parsing then visits each distinct value once.

    Reading strings and encoding them afterwards is several times faster than letting the CSV
    reader build dictionaries. The encoded chunks share one dictionary, so their indices are
    the codes as they are.
    """
    encoded = column.dictionary_encode()
    chunks = encoded.chunks
    dictionary = chunks[0].dictionary if chunks else None
    if dictionary is None or not all(c.dictionary.equals(dictionary) for c in chunks):
        return encoded.to_pandas().array  # (unifies the dictionaries)
    codes = pa.chunked_array([c.indices for c in chunks]).to_numpy()
    return pd.Categorical.from_codes(codes, categories=pd.Index(dictionary.to_pandas()))


def _count_lines(data: Data, start: int) -> int:
    """Physical lines in ``data[start:]``, ended by \\n, \\r\\n or a lone \\r."""
    if isinstance(data, bytes):
        lf, cr, crlf = (data.count(end, start) for end in (b"\n", b"\r", b"\r\n"))
    else:
        raw = np.frombuffer(data, np.uint8)[start:]
        lf, cr = int(np.count_nonzero(raw == 10)), int(np.count_nonzero(raw == 13))
        crlf = int(np.count_nonzero((raw[:-1] == 13) & (raw[1:] == 10)))
    ends = lf + cr - crlf
    unterminated = len(data) > start and data[-1:] not in (b"\n", b"\r")
    return ends + int(unterminated)


def _row_flags(columns: list[pa.ChunkedArray], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Blank rows and summary rows, by the same rules as the grid path (:func:`is_empty`).

    Only rows whose earlier cells are all empty look at the next column, so a long export
    usually costs one scan of its first column.
    """
    undecided = None  # rows whose cells so far are all empty (None: every row, at first)
    summary = np.zeros(n, bool)
    for column in columns:
        if undecided is None:
            nonempty, summary = _cell_flags(column)
            undecided = np.flatnonzero(~nonempty)
            continue
        if not len(undecided):
            break
        nonempty, marked = _cell_flags(_take_cells(column, undecided))
        summary[undecided[marked]] = True
        undecided = undecided[~nonempty]
    blank = np.zeros(n, bool)
    blank[np.arange(n) if undecided is None else undecided] = True
    return blank, summary


def _take_cells(cells: pa.ChunkedArray | pa.Array, rows: np.ndarray) -> pa.ChunkedArray | pa.Array:
    """``cells.take(rows)``; a few rows of a chunked column are looked up one by one.

    (A take on a chunked array first joins its chunks, a copy of the whole column.)
    """
    if len(rows) > 1000 or not isinstance(cells, pa.ChunkedArray) or cells.num_chunks < 2:
        return cells.take(pa.array(rows))
    return pa.array([cells[int(i)].as_py() for i in rows], _value_type(cells.type))


def _value_type(type_: pa.DataType) -> pa.DataType:
    return type_.value_type if pa.types.is_dictionary(type_) else type_


def _cell_flags(cells: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Per cell: not empty (:func:`is_empty`), and a summary mark (:func:`is_summary_cell`).

    Arrow kernels scan the strings (of a dictionary column: its distinct values); only cells
    holding "计", the last character of every summary mark, are checked in Python.
    """
    if len(cells) == 0:
        return np.zeros(0, bool), np.zeros(0, bool)
    indices = None
    strings: pa.Array | pa.ChunkedArray = cells
    if pa.types.is_dictionary(cells.type):
        combined = cells.combine_chunks()
        strings = combined.dictionary
        indices = combined.indices.to_numpy(zero_copy_only=False)
    nonempty = _nonempty(strings)
    marked = np.zeros(len(strings), bool)
    maybe = np.flatnonzero(
        pc.match_substring(strings, "计").to_numpy(zero_copy_only=False) & nonempty
    )
    if len(maybe):
        candidates = _take_cells(strings, maybe).to_pylist()
        marked[maybe] = [is_summary_cell(v) for v in candidates]
    if indices is not None:
        return nonempty[indices], marked[indices]
    return nonempty, marked


def _load(path: Path) -> Data:
    """The bytes of ``path``: a read-only memory map for large files (no copy), else a read."""
    with path.open("rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size < max(_MAP_BYTES, 1):  # (an empty file cannot be mapped)
            return fh.read()
        return mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)


_HASHER: ThreadPoolExecutor | None = None


def _hash_later(data: Data) -> Future[str]:
    """SHA-256 of ``data`` computed on a background thread (hashlib releases the GIL).

    Parsing and cleaning go on meanwhile; :attr:`RawFile.sha256` waits for the result.
    """
    global _HASHER
    if _HASHER is None:
        _HASHER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qyzj-sha256")
    return _HASHER.submit(lambda: hashlib.sha256(data).hexdigest())


def _nonempty(strings: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Per string: holds a character outside :data:`BLANK_CHARS` (see :func:`is_empty`).

    Most cells start with such a character; their first byte decides. Only cells that are empty
    or start with a byte that may begin a blank character go through the regex.
    """
    chunks = strings.chunks if isinstance(strings, pa.ChunkedArray) else [strings]
    parts = []
    for chunk in chunks:
        offset_type = {pa.string(): np.int32, pa.large_string(): np.int64}.get(chunk.type)
        if offset_type is None or chunk.null_count:
            parts.append(_nonempty_regex(chunk))
            continue
        buffers = chunk.buffers()
        offsets = np.frombuffer(buffers[1], offset_type)[
            chunk.offset : chunk.offset + len(chunk) + 1
        ]
        data = np.frombuffer(buffers[2], np.uint8) if buffers[2] else np.zeros(1, np.uint8)
        first = data[np.minimum(offsets[:-1], len(data) - 1)]
        doubt = np.flatnonzero((offsets[1:] == offsets[:-1]) | _BLANK_LEAD[first])
        nonempty = np.ones(len(chunk), bool)
        if len(doubt):
            nonempty[doubt] = _nonempty_regex(chunk.take(pa.array(doubt)))
        parts.append(nonempty)
    return np.concatenate(parts) if parts else np.zeros(0, bool)


def _nonempty_regex(strings: pa.Array) -> np.ndarray:
    return pc.match_substring_regex(strings, _NONBLANK_RE).to_numpy(zero_copy_only=False)


def read_raw_dir(raw_dir: Path) -> RawExports:
    """Read every export in ``raw_dir`` (recursively, in name order).

    Excel lock files (``~$*``), hidden files and non-spreadsheets are ignored and listed as notes;
    ``facts.yaml`` is remembered for :mod:`facts`. File-level problems are collected, not raised.
    Files are only read, never written; the SHA-256 of each is computed on a second thread once
    it is read, while the rest is read and cleaned (:attr:`RawFile.sha256` waits for it).
    """
    tables: list[RawTable] = []
    files: list[RawFile] = []
    notes: list[str] = []
    errors: list[DataError] = []
    facts_path: Path | None = None
    for path in sorted(p for p in raw_dir.rglob("*") if p.is_file()):
        name = path.relative_to(raw_dir).as_posix()
        try:
            data = _load(path)
        except OSError as exc:
            record = RawFile(name, 0, "", "error", f"无法读取文件: {exc}")
            files.append(record)
            errors.append(DataError(record.note, Location(name)))
            continue
        record = RawFile(name, len(data), "", "read")
        files.append(record)
        _read_one(path, raw_dir, data, record, tables, notes, errors)
        # hashed once read: reading a CSV keeps both cores busy, cleaning it mostly one
        record.digest = _hash_later(data)
        if record.status == "facts":
            facts_path = path
    return RawExports(tables, files, notes, errors, facts_path)


def _read_one(
    path: Path,
    raw_dir: Path,
    data: Data,
    record: RawFile,
    tables: list[RawTable],
    notes: list[str],
    errors: list[DataError],
) -> None:
    """Classify one file and read its tables into ``tables`` (problems into ``errors``)."""
    name = record.path
    suffix = path.suffix.lower()
    if path.name.startswith("~$"):
        record.status, record.note = "ignored", "Excel 锁定文件（文件正在被打开），已忽略"
    elif any(part.startswith(".") for part in path.relative_to(raw_dir).parts):
        record.status, record.note = "ignored", "隐藏文件，已忽略"
    elif path.name.lower() in FACTS_NAMES:
        record.status, record.note = "facts", "手工维护的 facts.yaml"
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
            return
        tables.extend(found)
        notes.extend(file_notes)
        record.tables = sorted({t.table for t in found})
        record.sheets = [t.sheet for t in found if t.sheet is not None]
    if record.status == "ignored":
        notes.append(f"{name}: {record.note}")
