"""Reading a large CSV export on arrow's threads while pandas is still being imported.

``qyzj clean`` imports pandas (≈ 0.3 s of one core) before it reads a byte; arrow's CSV reader
needs no pandas and leaves the GIL while it reads. :func:`start_early_read` (called by the cli
before the heavy imports) finds the first large CSV file of the raw folder, guesses where its
header ends from the head (standard library only: :mod:`~qyzj_analytics.ingest.csvhead`) and
which table that header names (:func:`~qyzj_analytics.ingest.schemas.match_table`, without the
``columns.yaml`` aliases), and starts reading the body below it on a thread: the columns
:mod:`~qyzj_analytics.ingest.delimited` reads first, as it reads them (:func:`body_columns`),
the canonical ones then dictionary-encoded. When the reader later finds the header ending at
the same byte (same bytes, delimiter and width), it takes what it needs of that body instead of
reading it again: the same read (:func:`read_body`), started earlier. Otherwise (or when a
column it needs is missing) it reads as before, so a wrong guess costs time, never a different
result.

Imports neither pandas nor anything that imports it (a test checks).
"""

from __future__ import annotations

import csv
import errno
import mmap
import os
import re
import stat
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.csv as pacsv

from qyzj_analytics.ingest.csvhead import find_bom, head_bytes, head_records, sniff_delimiter
from qyzj_analytics.ingest.discover import classify_file, walk_raw_dir
from qyzj_analytics.ingest.headertext import clean_text, header_key
from qyzj_analytics.ingest.schemas import TABLES, HeaderMatch, match_table

if TYPE_CHECKING:
    from qyzj_analytics.ingest.raw import Data

MAP_BYTES = 1 << 24  # files this large are memory-mapped, not read; only these are read early
_DIGIT_RE = re.compile(r"[0-9]")


def load_bytes(path: Path, map_bytes: int = MAP_BYTES) -> Data:
    """The bytes of ``path``: a read-only memory map when ``map_bytes`` or more (no copy), else a
    read.

    Opened without blocking and checked to be a regular file, so a FIFO swapped in after the
    folder was listed cannot hang the reader.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, "不是普通文件")
        size = info.st_size
        if size < max(map_bytes, 1):  # (an empty file cannot be mapped)
            return fh.read()
        return mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)


def read_body(
    data: Data,
    start: int,
    delimiter: str,
    quoted: bool,
    types: dict[str, pa.DataType],
    include: Sequence[str],
) -> pa.Table:
    """The CSV records in ``data[start:]`` with pyarrow, one column per name of ``types`` (in
    order), only those in ``include``; cells never null, blank lines kept as rows.

    Raises:
        pyarrow.ArrowInvalid: ragged rows, a text column not in UTF-8, and the like.
    """
    return pacsv.read_csv(
        pa.BufferReader(pa.py_buffer(data)[start:]),
        read_options=pacsv.ReadOptions(column_names=list(types), use_threads=True),
        parse_options=pacsv.ParseOptions(
            delimiter=delimiter, newlines_in_values=quoted, ignore_empty_lines=False
        ),
        convert_options=pacsv.ConvertOptions(
            column_types=types, strings_can_be_null=False, include_columns=list(include)
        ),
    )


def column_names(width: int) -> list[str]:
    """The names the body's columns are read under (``c0``, ``c1``, …)."""
    return [f"c{i}" for i in range(width)]


def body_columns(match: HeaderMatch, width: int) -> tuple[dict[str, pa.DataType], list[int]]:
    """How a CSV body under a header matching ``match`` is read: the type of each of its
    ``width`` columns and the positions read first (the first column, which decides blank and
    summary rows, the canonical columns and the other accepted ones).

    The canonical columns are read as bytes: they are dictionary-encoded next, and only their
    distinct values are then checked to be UTF-8, not every row's (the other columns are read,
    and checked, as text).
    """
    extra = [pos for positions in match.alternates.values() for pos in positions]
    as_bytes = set(match.columns.values()) - {*extra}
    names = column_names(width)
    types = {n: pa.binary() if i in as_bytes else pa.string() for i, n in enumerate(names)}
    return types, sorted({0, *match.columns.values(), *extra})


def guess_match(record: Sequence[str]) -> HeaderMatch | None:
    """The table a header ``record`` of text cells names, matched as the reader matches one row
    (without ``columns.yaml``); None when no table has all its required headers there."""
    cells = [header_key(clean_text(cell)) for cell in record]
    matches = [match_table(cells, spec) for spec in TABLES.values()]
    complete = [m for m in matches if m.complete]
    return max(complete, key=lambda m: m.score) if complete else None


def guess_header_stop(records: Sequence[Sequence[str]]) -> int | None:
    """Where the header of the head ``records`` probably ends (the index of the first data row):
    after the first run of records with two or more filled cells and no digit (a title row has
    one filled cell; data rows have numbers, dates or codes). None when no record looks like a
    header, or no data row follows."""
    for i, record in enumerate(records):
        if _looks_like_header(record):
            stop = i + 1
            while stop < len(records) and _looks_like_header(records[stop]):
                stop += 1
            return stop if stop < len(records) else None
    return None


def _looks_like_header(record: Sequence[str]) -> bool:
    filled = [cell for cell in record if cell.strip()]
    return len(filled) >= 2 and not any(_DIGIT_RE.search(cell) for cell in filled)


class EarlyBody:
    """What the early read made of a body: its table (the columns of :func:`body_columns`),
    whether a quote follows the header (the reader's ``newlines_in_values``), and the
    dictionary encoding of each column read as bytes."""

    def __init__(self) -> None:
        self.table: pa.Table | None = None  # None: the read failed
        self.quoted = False
        self.encoded: dict[str, pa.ChunkedArray] = {}
        self.used = False  # set by the reader when it took columns of ``table``


class EarlyRead:
    """The body of one CSV export, being read on a thread from the byte its header probably
    ends at (see the module); :meth:`body_for` hands it over when the guess was right."""

    def __init__(
        self, path: Path, data: Data, start: int, delimiter: str, width: int, match: HeaderMatch
    ) -> None:
        self.path, self.data, self.start = path, data, start
        self.delimiter, self.width, self.match = delimiter, width, match
        self._body: EarlyBody | None = EarlyBody()
        self._handed: EarlyBody | None = None
        self._thread = threading.Thread(target=self._read, name="qyzj-early-read", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        body = self._body
        if body is None:
            return
        types, columns = body_columns(self.match, self.width)
        names = column_names(self.width)
        try:
            body.quoted = self.data.find(b'"', self.start) >= 0
            include = [names[i] for i in columns]
            table = read_body(self.data, self.start, self.delimiter, body.quoted, types, include)
            for name in table.column_names:
                if types[name] == pa.binary():
                    body.encoded[name] = table.column(name).dictionary_encode()
            body.table = table
        except Exception:  # a guess: the real read meets the problem again and reports it
            body.table, body.encoded = None, {}

    def body_for(self, data: Data, start: int, delimiter: str, width: int) -> EarlyBody | None:
        """The early body when this is the read of ``data[start:]`` with this delimiter and
        width (waits for it), once; else None."""
        if data is not self.data or (start, delimiter, width) != (
            self.start,
            self.delimiter,
            self.width,
        ):
            return None
        self._thread.join()
        body, self._body = self._body, None  # handed over once
        self._handed = body
        return body

    @property
    def used(self) -> bool:
        """The reader took columns of the early table (the header ended where guessed)."""
        return self._handed is not None and self._handed.used

    def finish(self) -> None:
        """Wait for the read to end and drop its table (not taken: the guess was wrong)."""
        self._thread.join()
        self._body = None


def start_early_read(raw_dir: Path) -> EarlyRead | None:
    """Start reading the first CSV file of ``raw_dir`` (in the order it is read) large enough to
    be memory-mapped, when it is in UTF-8 and has a header :func:`guess_header_stop` can place
    and :func:`guess_match` recognise; else None. Never raises for the file: anything odd is left to
    the real read, which reports it."""
    try:
        for path, _ in walk_raw_dir(raw_dir).files:
            if classify_file(path, raw_dir)[0] != "read" or path.suffix.lower() != ".csv":
                continue
            if path.stat().st_size >= MAP_BYTES:
                return _start(path)
    except (OSError, ValueError):  # e.g. a file gone or changed since it was listed
        return None
    return None


def _start(path: Path) -> EarlyRead | None:
    """:func:`start_early_read` of one file: None when its head is not a UTF-8 CSV head."""
    data = load_bytes(path)
    skip, encoding = find_bom(data)
    if encoding not in (None, "utf-8") or bytes(data[skip : skip + 2]) == b"PK":
        return None
    try:
        text = bytes(head_bytes(data, skip)).decode("utf-8")
    except UnicodeDecodeError:
        return None
    if text.lstrip().startswith("<"):  # a web page or XML saved as .csv
        return None
    delimiter = sniff_delimiter(text)
    try:
        records, ends = head_records(text, delimiter)
    except csv.Error:  # the real read reports it
        return None
    stop = guess_header_stop(records)
    match = guess_match(records[stop - 1]) if stop is not None else None
    if stop is None or match is None:
        return None
    start = skip + len(text[: ends[stop - 1]].encode("utf-8"))
    return EarlyRead(path, data, start, delimiter, len(records[stop - 1]), match)
