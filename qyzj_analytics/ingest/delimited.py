"""Reading CSV exports: encoding, delimiter and header from the head, the body with pyarrow.

Encodings: UTF-8 (with or without BOM), GBK/GB18030, UTF-16 (BOM). The header is found by the
csv module in the first 15 records; pyarrow reads the body when it can do so record for record,
else the csv module reads the whole file, with the same result. A UTF-8 file with some GBK lines
(or the reverse) is decoded line by line (:mod:`~qyzj_analytics.ingest.mixedenc`) only once the
file fails to decode as a whole; its table records which rows were read how (``RawTable.mixed``).
(Named ``delimited`` so it never shadows the standard library's ``csv``.)
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from concurrent.futures import wait

import numpy as np
import pandas as pd
import pyarrow as pa

from qyzj_analytics.errors import DataError, Location
from qyzj_analytics.ingest.arrow import encode_categorical
from qyzj_analytics.ingest.csvhead import (
    HEAD_BYTES,
    find_bom,
    head_bytes,
    head_records,
    sniff_delimiter,
    split_lines,
)
from qyzj_analytics.ingest.early import EarlyRead, body_columns, column_names, read_body
from qyzj_analytics.ingest.flags import flag_rows
from qyzj_analytics.ingest.headers import (
    Header,
    locate_header,
    map_headers,
    read_grid,
)
from qyzj_analytics.ingest.mixedenc import MixedText, decode_mixed, is_mostly_utf8
from qyzj_analytics.ingest.raw import Data, MixedRows, RawTable
from qyzj_analytics.ingest.schemas import NO_ALIASES, HeaderAliases
from qyzj_analytics.ingest.workers import worker_pool

_MAX_BAD_LINES = 10  # lines in neither encoding a file may have (or 1 %) before it is refused
_ENCODING_ERROR = "无法识别文件编码（支持 UTF-8、UTF-8 BOM、GBK/GB18030、UTF-16）"


class _NotOneEncoding(Exception):
    """The file is not all in ``encoding``, the encoding its head (or BOM) shows."""

    def __init__(self, encoding: str) -> None:
        super().__init__(encoding)
        self.encoding = encoding


def decode_csv(data: Data, name: str) -> tuple[str, str]:
    """Text and encoding of CSV bytes: UTF-8 (with or without BOM), GBK/GB18030 or UTF-16 (BOM).

    Raises:
        DataError: none of these encodings reads the bytes.
    """
    skip, encoding = find_bom(data)
    for candidate in (encoding,) if encoding else ("utf-8", "gb18030"):
        try:
            return str(memoryview(data)[skip:], candidate), candidate
        except UnicodeDecodeError:
            continue
    raise DataError(_ENCODING_ERROR, Location(name))


def _is_blank(data: Data, skip: int) -> bool:
    """Nothing but whitespace after the byte-order mark (scans no further than needed)."""
    if re.search(rb"\S", data[skip : skip + HEAD_BYTES]):
        return False
    return not data[skip + HEAD_BYTES :].strip()


def read_csv_export(
    data: Data, name: str, aliases: HeaderAliases = NO_ALIASES, early: EarlyRead | None = None
) -> RawTable:
    """The table of one CSV export: the csv module finds the header, pyarrow reads the body.

    Row numbers are those Excel shows (one per CSV record, blank lines included). A body pyarrow
    cannot read record for record (ragged rows, lines of only spaces, line breaks inside cells)
    is read whole by the csv module instead, with the same result. A file not all in one
    encoding (GBK rows in a UTF-8 file, or the reverse) is read line by line: see
    :func:`_read_mixed`. ``aliases`` adds the headers mapped in ``columns.yaml``. ``early`` is
    the body already being read (:mod:`~qyzj_analytics.ingest.early`), used when it is this read.

    Raises:
        DataError: empty file, unknown encoding or unrecognised header.
    """
    try:
        return _read_csv(data, name, aliases, early)
    except _NotOneEncoding as exc:
        return _read_mixed(data, name, aliases, exc.encoding)


def _read_csv(
    data: Data, name: str, aliases: HeaderAliases, early: EarlyRead | None = None
) -> RawTable:
    """:func:`read_csv_export` of a file in one encoding.

    Raises:
        _NotOneEncoding: the file does not decode as a whole in the encoding of its head.
    """
    where = Location(name)
    skip, encoding = find_bom(data)
    if _is_blank(data, skip):
        raise DataError("文件为空（没有任何内容）", where)
    text: str | None = None  # the whole file, decoded, when it had to be
    head_text = ""
    if encoding in (None, "utf-8"):  # decode the first MiB only, whole lines
        head = head_bytes(data, skip)
        try:
            head_text, encoding = head.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:  # GBK, or a UTF-8 file with GBK lines (may decode as GBK)
            if encoding or is_mostly_utf8(bytes(head)):
                raise _NotOneEncoding("utf-8") from None
            try:
                head_text, encoding = head.decode("gb18030"), "gb18030"
            except UnicodeDecodeError:
                raise _NotOneEncoding("gb18030") from None
    if encoding not in ("utf-8", "gb18030"):
        text, encoding = decode_csv(data, name)
        head_text = text
    delimiter = sniff_delimiter(head_text)
    try:
        records, ends = head_records(head_text, delimiter)
    except csv.Error:  # e.g. a quote left open at the end of the first MiB
        records, ends = [], []
    if records:
        found = locate_header(records, where, aliases)  # (may span two lines)
        body = _utf8_body(data, skip, head_text[: ends[found.stop - 1]], encoding, text)
        try:
            if body is not None:
                return _read_csv_fast(body[0], body[1], delimiter, found, name, early)
        except pa.ArrowException:
            pass  # the csv module reads what pyarrow cannot
    if text is None:  # (UTF-8 or GB18030, as the head)
        text = _decode_whole(data, skip, encoding, head_text)
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:  # e.g. a cell longer than the csv module's limit
        raise DataError(f"CSV 格式错误，无法读取: {exc}", where) from None
    return read_grid(rows, where, aliases=aliases)


def _decode_whole(data: Data, skip: int, encoding: str, head_text: str) -> str:
    """``data[skip:]`` in ``encoding`` (an all-ASCII UTF-8 head may lead a GB18030 file).

    Raises:
        _NotOneEncoding: the bytes are not all in ``encoding``.
    """
    candidates = [encoding]
    if skip == 0 and encoding == "utf-8" and head_text.isascii():
        candidates.append("gb18030")
    for candidate in candidates:
        try:
            return str(memoryview(data)[skip:], candidate)
        except UnicodeDecodeError:
            continue
    raise _NotOneEncoding(encoding)


def _read_mixed(data: Data, name: str, aliases: HeaderAliases, encoding: str) -> RawTable:
    """A CSV file in ``encoding`` with lines in the other one (UTF-8 ↔ GB18030), read line by line.

    Rows in neither encoding are decoded with replacement characters and rejected in cleaning;
    more than a few (10, or 1 % of the lines) mean the file is in some other encoding: refused.
    Lines above the first data row are decoded the same way, without a note.

    Raises:
        DataError: too many lines in neither encoding, or as :func:`read_csv_export`.
    """
    mixed = decode_mixed(data, find_bom(data)[0], encoding)
    n_lines = _count_lines(mixed.data, 0)
    if len(mixed.bad_lines) > max(_MAX_BAD_LINES, n_lines // 100):
        first = int(mixed.bad_lines[0]) + 1
        raise DataError(
            f"{_ENCODING_ERROR}：第 {first} 行起有 {len(mixed.bad_lines)} 行既不是 UTF-8"
            " 也不是 GB18030（GBK）",
            Location(name, row=first),
        )
    raw = _read_csv(mixed.data, name, aliases)
    raw.mixed = MixedRows(
        encoding,
        mixed.other,
        _positions(raw, _rows_of_lines(mixed, raw, n_lines, mixed.odd_lines)),
        _positions(raw, _rows_of_lines(mixed, raw, n_lines, mixed.bad_lines)),
    )
    return raw


def _rows_of_lines(mixed: MixedText, raw: RawTable, n_lines: int, lines: np.ndarray) -> np.ndarray:
    """The row number (as Excel shows it: one per CSV record) of each 0-based physical line."""
    if not len(lines) or raw.header_row + len(raw.source_row) == n_lines:
        return lines + 1  # one record per line
    text = mixed.data.decode("utf-8")  # a quoted cell spans lines: count them record by record
    delimiter = sniff_delimiter(text[:HEAD_BYTES])
    line = 0
    firsts: list[int] = []  # the first line of each record

    def counting() -> Iterator[str]:
        nonlocal line
        for physical in split_lines(text):
            line += 1  # (before the reader asks for the next record)
            yield physical

    reader = csv.reader(counting(), delimiter=delimiter)
    while True:
        first = line
        try:
            next(reader)
        except StopIteration:
            break
        firsts.append(first)
    return np.searchsorted(np.asarray(firsts, dtype=np.int64), lines, side="right")


def _positions(raw: RawTable, rows: np.ndarray) -> np.ndarray:
    """Positions in ``raw`` of the data rows numbered ``rows`` (others left out), once each."""
    if not len(raw.source_row):
        return np.zeros(0, dtype=np.int64)
    at = np.unique(rows - int(raw.source_row[0]))
    return at[(at >= 0) & (at < len(raw.source_row))].astype(np.int64)


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
    found: Header,
    name: str,
    early: EarlyRead | None = None,
) -> RawTable:
    """Read the UTF-8 rows in ``data[start:]`` with pyarrow, one row per CSV record.

    A blank line becomes a row of empty cells, as in the csv module.
    ``found`` is the header (its cells, match and lines) above ``data[start:]``. When ``early``
    is this very read, started before pandas was imported, its columns (and their dictionary
    encodings) are used when it has them, cast to the types wanted here (bytes read as text
    are checked to be UTF-8, as the reader would).

    Raises:
        pyarrow.ArrowInvalid: ragged rows (including lines of only spaces), invalid UTF-8, or
            line breaks inside quoted cells (rows would not be records).
    """
    header, match, h = [str(c or "") for c in found.cells], found.match, found.start
    width = len(header)
    names = column_names(width)
    body = early.body_for(data, start, delimiter, width) if early is not None else None
    quoted = body.quoted if body is not None else data.find(b'"', start) >= 0
    ready = body.table if body is not None else None
    types, first = body_columns(match, width)  # (canonical columns as bytes: see there)
    pre_encoded: dict[str, pa.ChunkedArray] = {}  # early dictionary encodings of columns used

    def read(columns: list[int]) -> pa.Table:
        include = [names[i] for i in columns]
        if body is None or ready is None or not set(include) <= set(ready.column_names):
            return read_body(data, start, delimiter, quoted, types, include)
        body.used = True
        for n in include:  # (an early encoding is of the bytes: valid where bytes are wanted)
            if n in body.encoded and types[n] == pa.binary():
                pre_encoded[n] = body.encoded[n]
        return pa.table({n: ready.column(n).cast(types[n]) for n in include})

    def text(column: pa.ChunkedArray) -> pa.ChunkedArray:
        """A column as text (bytes checked to be UTF-8: raises ArrowInvalid otherwise)."""
        return column.cast(pa.string()) if column.type == pa.binary() else column

    # first the canonical columns and the first one, which decides blank and summary rows ...
    table = read(first)
    n = table.num_rows
    if quoted and n != _count_lines(data, start):
        raise pa.ArrowInvalid("a quoted cell holds a line break: rows are not lines")
    # the canonical columns are dictionary-encoded on worker threads (arrow releases the GIL)
    # while the row flags are worked out here
    encoded = {
        col: worker_pool().submit(
            encode_categorical, table.column(names[pos]), pre_encoded.get(names[pos])
        )
        for col, pos in match.columns.items()
    }
    alternates = {  # other columns with an accepted header (rare): coalesced in cleaning
        col: [(header[pos].strip(), table.column(names[pos]).to_pandas()) for pos in positions]
        for col, positions in match.alternates.items()
    }
    try:
        every = table if table.num_columns == width else None
        blank, summary = flag_rows([text(table.column(names[0]))], n)
        if blank.any():  # ... and all columns when a first cell is empty
            if every is None:
                every = read(list(range(width)))
            blank, summary = flag_rows([text(every.column(name)) for name in names], n)
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
        source_row=np.arange(found.stop + 1, n + found.stop + 1),
        blank=blank,
        summary=summary,
        header_of=map_headers(header, match),
        alternates=alternates,
    )


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
