"""Pre-scanning an xlsx workbook before python-calamine builds each sheet as one dense grid.

python-calamine sizes a sheet's grid from A1 to its farthest cell with a value: one stray cell
typed at XFD1048576 asks for ~550 GB and aborts the process. :func:`prepare_xlsx` streams each
sheet's XML once (1 MiB chunks, the ``<c r="...">`` references found with numpy, see
:func:`scan_chunk`; the claimed ``<dimension>`` is ignored) and counts the cells per row and
per column. A sheet whose full extent stays within :data:`CELL_BUDGET` cells is read from the
file exactly as before. Otherwise its data block is A1 to the end of the busiest run of rows (and of columns), a run ending at the first gap
of more than :data:`ROW_GAP` empty rows (:data:`COL_GAP` empty columns); the cells outside it are
left out of a patched in-memory copy of the workbook (:mod:`~qyzj_analytics.ingest.xlsxpatch`)
and come back as :class:`~qyzj_analytics.ingest.sheetcells.FarCell` s, each kept as a rejected
row or a warning. The same pass notices whether a sheet has error values or formulas at all (the
marked-cells scan of :mod:`~qyzj_analytics.ingest.sheetcells`).
"""

from __future__ import annotations

import re
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

import numpy as np

from qyzj_analytics.errors import DataError, Location
from qyzj_analytics.ingest.sheetcells import (
    PreparedWorkbook,
    scan_sheet_marks,
    sheet_members,
)
from qyzj_analytics.ingest.xlsxpatch import walk_cells, write_patched

CELL_BUDGET = 4_000_000  # a grid this large (~160 MB in the reader) is read as it is
MAX_BLOCK_CELLS = 30_000_000  # a data block larger than this is refused, never allocated
ROW_GAP = 1000  # more empty rows than this ends a run of rows
COL_GAP = 50  # more empty columns than this ends a run of columns

_PREFIX = rb"(?:[A-Za-z_][\w.-]*:)?"
_CELL_TAG_RE = re.compile(rb"<" + _PREFIX + rb"c[\s/>]")
_PAD = b"\0" * 16  # room for the look-ahead past a chunk's last byte
_QUOTES = (34, 39)
_SPACES = (32, 9, 10, 11, 12, 13)  # what re's \s matches in bytes
_TAG_ENDS = (*_SPACES, 47, 62)  # what may follow a tag's name: space, "/", ">"
_CHUNK = 1 << 20
_FORMAT_ERRORS = (OSError, EOFError, zipfile.BadZipFile, zlib.error, KeyError, ValueError)


@dataclass
class SheetExtent:
    """Cells with a reference per 0-based row and column, and whether the XML hints at marks."""

    rows: Counter[int] = field(default_factory=Counter)
    cols: Counter[int] = field(default_factory=Counter)
    hinted: bool = False

    @property
    def size(self) -> int:
        """Cells of the dense grid from A1 to the farthest cell."""
        return (max(self.rows) + 1) * (max(self.cols) + 1) if self.rows else 0


def prepare_xlsx(path: Path) -> PreparedWorkbook:
    """The xlsx workbook at ``path`` ready for the reader: its marked cells, and for a sheet whose
    extent exceeds the budget a patched copy without its far cells.

    Anything unexpected in the zip leaves the file as it is: the reader reports what it cannot read.

    Raises:
        DataError: a sheet's data block itself exceeds :data:`MAX_BLOCK_CELLS`.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            members = sheet_members(zf)
            prepared = PreparedWorkbook(path)
            blocks: dict[str, tuple[int, int]] = {}  # zip member -> (rows, columns) of its block
            for name, member in members.items():
                extent = scan_extent(zf, member)
                if extent.hinted:
                    marks = scan_sheet_marks(zf, member)
                    if marks:
                        prepared.marks[name] = marks
                if extent.size <= CELL_BUDGET:
                    continue
                block = choose_block(extent)
                if block[0] * block[1] > MAX_BLOCK_CELLS:
                    raise DataError(
                        f"工作表的数据区过大（{block[0]} 行 × {block[1]} 列），超出可读取的范围",
                        Location(path.name, name),
                    )
                if block[0] * block[1] < extent.size:
                    blocks[member] = block
            if blocks:
                by_member = {m: n for n, m in members.items()}
                data, far = write_patched(zf, blocks)
                prepared.data = data
                prepared.far = {by_member[m]: cells for m, cells in far.items() if cells}
            return prepared
    except (*_FORMAT_ERRORS, ElementTree.ParseError):
        return PreparedWorkbook(path)


def scan_extent(zf: zipfile.ZipFile, member: str) -> SheetExtent:
    """The cells per row and column of one sheet (its XML streamed once, in chunks).

    Each chunk is scanned with numpy (:func:`scan_chunk`); a sheet whose cell tags outnumber
    its references is followed cell by cell instead.
    """
    rows: list[tuple[np.ndarray, np.ndarray]] = []  # per chunk: (values, counts)
    cols: list[tuple[np.ndarray, np.ndarray]] = []
    refs = tags = 0
    hinted = False
    carry = b""
    with zf.open(member) as fh:
        more = True
        while more:
            chunk = fh.read(_CHUNK)
            more = bool(chunk)
            window = carry + chunk
            cut = window.rfind(b"<") if more else -1  # a tag may go on in the next chunk
            cut = len(window) if cut < 0 else cut
            body, carry = window[:cut], window[cut:]
            found = scan_chunk(body)
            rows.append(np.unique(found.rows, return_counts=True))
            cols.append(np.unique(found.cols, return_counts=True))
            refs += len(found.rows)
            tags += found.tags
            hinted = hinted or found.hinted
    if refs != tags:  # cells without a reference: follow them one by one
        return _scan_extent_in_order(zf, member, hinted)
    return SheetExtent(_counts(rows), _counts(cols), hinted)


@dataclass
class ChunkScan:
    """The references (0-based rows and columns) and cell tags in a piece of sheet XML."""

    rows: np.ndarray
    cols: np.ndarray
    tags: int
    hinted: bool


def scan_chunk(body: bytes) -> ChunkScan:
    """Every ``r="A1"`` reference (``\\sr=["']`` 1-3 letters, 1-7 digits, a quote), the number of
    ``<c`` tags (any prefix) and whether an error cell or a formula may be in ``body``.

    Vectorised over the ``=``, ``<`` and ``:`` bytes; ``body`` must not end inside a tag. Rows
    have digits only, so their ``r`` is not a cell reference; a stray match elsewhere only makes
    the references differ from the cell tags, and the sheet is then followed cell by cell.
    """
    n = len(body)
    a = np.frombuffer(body + _PAD, np.uint8)
    head = a[:n]
    eq = np.flatnonzero(head == 61)  # '='
    eq = eq[eq >= 2]
    quoted = _isin(a[eq + 1], _QUOTES)
    hint_e = quoted & (a[eq - 1] == 116) & (a[eq + 2] == 101) & _isin(a[eq + 3], _QUOTES)
    at = eq[quoted & (a[eq - 1] == 114) & _isin(a[eq - 2], _SPACES)]
    lt = np.flatnonzero(head == 60)  # '<'
    after_lt = a[lt + 1]
    after_colon = a[np.flatnonzero(head == 58) + 1]  # ':'
    if (after_colon == 99).any():  # a namespace prefix may stand before a cell tag
        tags = len(_CELL_TAG_RE.findall(body))
    else:
        tags = int(np.count_nonzero((after_lt == 99) & _isin(a[lt + 2], _TAG_ENDS)))
    colon = np.flatnonzero(head == 58)
    formula = (after_lt == 102) & _isin(a[lt + 2], _TAG_ENDS)  # <f> or <f …, not <formula1>
    prefixed = (after_colon == 102) & _isin(a[colon + 2], _TAG_ENDS)
    hinted = bool(hint_e.any() or formula.any() or prefixed.any())
    rows, cols = _refs_at(a, at + 2)
    return ChunkScan(rows, cols, tags, hinted)


def _refs_at(a: np.ndarray, start: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """0-based (rows, columns) of the well-formed references whose text begins at ``start``
    (1-3 letters, 1-7 digits, then a quote); one byte position at a time over all of them."""
    first = a[start]
    start = start[(first >= 65) & (first <= 90)]
    col = a[start].astype(np.int32) - 64
    upper = np.ones(len(start), bool)
    n_letters = np.ones(len(start), np.int64)
    for k in (1, 2):
        ch = a[start + k]
        upper &= (ch >= 65) & (ch <= 90)
        col = np.where(upper, col * 26 + ch - 64, col)
        n_letters += upper
    digits_at = start + n_letters
    row = np.zeros(len(start), np.int64)
    n_digits = np.zeros(len(start), np.int64)
    alive = np.ones(len(start), bool)
    for k in range(8):
        ch = a[digits_at + k]
        alive &= (ch >= 48) & (ch <= 57)
        row = np.where(alive, row * 10 + ch - 48, row)
        n_digits += alive
    ok = (n_digits >= 1) & (n_digits <= 7) & _isin(a[digits_at + n_digits], _QUOTES)
    return row[ok] - 1, col[ok].astype(np.int64) - 1


def _isin(values: np.ndarray, allowed: tuple[int, ...]) -> np.ndarray:
    out = values == allowed[0]
    for v in allowed[1:]:
        out |= values == v
    return out


def _counts(parts: list[tuple[np.ndarray, np.ndarray]]) -> Counter[int]:
    """The per-chunk ``(values, counts)`` of ``parts`` added up."""
    values = np.concatenate([v for v, _ in parts]) if parts else np.zeros(0, np.int64)
    counts = np.concatenate([c for _, c in parts]) if parts else np.zeros(0, np.int64)
    keys, inverse = np.unique(values, return_inverse=True)
    totals = np.bincount(inverse.ravel(), weights=counts, minlength=len(keys)).astype(np.int64)
    return Counter(dict(zip(keys.tolist(), totals.tolist(), strict=True)))


def _scan_extent_in_order(zf: zipfile.ZipFile, member: str, hinted: bool) -> SheetExtent:
    """:func:`scan_extent` for XML whose cells do not all carry a reference (slower)."""
    extent = SheetExtent(hinted=hinted)

    def count(row: int, col: int, *_: object) -> bool:
        extent.rows[row] += 1
        extent.cols[col] += 1
        return True

    with zf.open(member) as fh:
        walk_cells(fh, count)
    return extent


def choose_block(extent: SheetExtent) -> tuple[int, int]:
    """Rows and columns of the data block: from A1 to the end of the busiest run of each."""
    return _run_end(extent.rows, ROW_GAP) + 1, _run_end(extent.cols, COL_GAP) + 1


def _run_end(counts: Counter[int], gap: int) -> int:
    """The last index of the run (indices at most ``gap`` apart) holding the most cells."""
    best_end, best_total = -1, -1
    start_total, prev = 0, None
    for index in sorted(counts):
        if prev is not None and index - prev > gap + 1:
            if start_total > best_total:
                best_end, best_total = prev, start_total
            start_total = 0
        start_total += counts[index]
        prev = index
    if prev is not None and start_total > best_total:
        best_end = prev
    return best_end
