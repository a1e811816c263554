"""The head of a CSV export: byte-order mark, physical lines, delimiter and the first records.

Standard library only (no pandas, numpy or pyarrow), so :mod:`~qyzj_analytics.ingest.early` can
look at a file's head while pandas is still being imported; :mod:`~qyzj_analytics.ingest.delimited`
uses the same functions, so both see the same head.
"""

from __future__ import annotations

import codecs
import csv
import itertools
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from qyzj_analytics.ingest.raw import Data

HEADER_SEARCH_ROWS = 15  # the header is looked for in the first 15 records
HEAD_BYTES = 1 << 20  # ... of the first MiB
BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_LINE_RE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def find_bom(data: Data) -> tuple[int, str | None]:
    """Length of the byte-order mark at the start of ``data`` and the encoding it names."""
    start = bytes(data[:4])
    for bom, encoding in BOMS:
        if start.startswith(bom):
            return len(bom), encoding
    return 0, None


def split_lines(text: str) -> Iterator[str]:
    """Physical lines of ``text`` with their endings (\\n, \\r\\n or \\r, as the csv module)."""
    return (m.group() for m in _LINE_RE.finditer(text))


def sniff_delimiter(text: str) -> str:
    """The delimiter (comma, tab or semicolon) seen most often in the first 15 lines."""
    head = "".join(itertools.islice(split_lines(text), HEADER_SEARCH_ROWS))
    counts = {d: head.count(d) for d in (",", "\t", ";")}
    return max(counts, key=counts.__getitem__) if any(counts.values()) else ","


def head_records(text: str, delimiter: str) -> tuple[list[list[str]], list[int]]:
    """The first 15 CSV records of ``text`` and, for each, how many characters reach its end.

    Raises:
        csv.Error: e.g. a quote left open at the end of ``text``.
    """
    used = 0

    def counting() -> Iterator[str]:
        nonlocal used
        for line in split_lines(text):
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


def head_bytes(data: Data, skip: int) -> Data:
    """The whole lines of the first MiB after the byte-order mark (0x0A is never part of a UTF-8
    or GBK character, so the cut is between characters)."""
    head = data[skip : skip + HEAD_BYTES]
    if len(data) > skip + HEAD_BYTES:
        head = head[: head.rfind(b"\n") + 1] or head
    return head
