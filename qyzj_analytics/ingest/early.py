"""Reading a large CSV export on arrow's threads while pandas is still being imported.

``qyzj clean`` imports pandas (≈ 0.3 s of one core) before it reads a byte; arrow's CSV reader
needs no pandas and leaves the GIL while it reads. :func:`start_early_read` (called by the cli
before the heavy imports) finds the first large CSV file of the raw folder, guesses where its
header ends from the head (standard library only: :mod:`~qyzj_analytics.ingest.csvhead`) and
starts reading the body below it on a thread, every column as bytes. When
:mod:`~qyzj_analytics.ingest.delimited` later finds the header ending at the same byte (same
bytes, delimiter, width and quoting), it takes that table instead of reading the body again:
the same read (:func:`read_body`), started earlier. Otherwise the early table is dropped and the
file is read as before, so a wrong guess costs time, never a different result.

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


class EarlyRead:
    """The body of one CSV export, being read on a thread from the byte its header probably
    ends at (see the module); :meth:`body_for` hands it over when the guess was right."""

    def __init__(self, path: Path, data: Data, start: int, delimiter: str, width: int) -> None:
        self.path, self.data, self.start = path, data, start
        self.delimiter, self.width = delimiter, width
        self.quoted = False  # a '"' below the header (set on the thread, before the read)
        self._table: pa.Table | None = None
        self.taken = False  # the table was handed over (the header ends where guessed)
        self._thread = threading.Thread(target=self._read, name="qyzj-early-read", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        names = column_names(self.width)
        try:
            self.quoted = self.data.find(b'"', self.start) >= 0
            self._table = read_body(
                self.data,
                self.start,
                self.delimiter,
                self.quoted,
                dict.fromkeys(names, pa.binary()),
                names,
            )
        except Exception:
            self._table = None

    def body_for(
        self, data: Data, start: int, delimiter: str, width: int
    ) -> tuple[pa.Table | None, bool] | None:
        """When this is the read of ``data[start:]`` with this delimiter and width (waits for
        it): every column of the body as bytes (None if the early read failed) and whether a
        quote follows ``start`` (the reader's ``newlines_in_values``); else None."""
        if data is not self.data or (start, delimiter, width) != (
            self.start,
            self.delimiter,
            self.width,
        ):
            return None
        self._thread.join()
        table, self._table = self._table, None  # handed over once
        self.taken = table is not None
        return table, self.quoted

    def finish(self) -> None:
        """Wait for the read to end and drop its table (not taken: the guess was wrong)."""
        self._thread.join()
        self._table = None


def start_early_read(raw_dir: Path) -> EarlyRead | None:
    """Start reading the first CSV file of ``raw_dir`` (in the order it is read) that is large
    enough to be memory-mapped, UTF-8 and has a header :func:`guess_header_stop` can place; None
    when there is none. Never raises: anything odd is left to the real read, which reports it."""
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
    if stop is None:
        return None
    start = skip + len(text[: ends[stop - 1]].encode("utf-8"))
    return EarlyRead(path, data, start, delimiter, len(records[stop - 1]))
