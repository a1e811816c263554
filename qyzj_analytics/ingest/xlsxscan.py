"""Pre-scanning an xlsx workbook before python-calamine builds each sheet as one dense grid.

python-calamine sizes a sheet's grid from A1 to its farthest cell with a value: one stray cell
typed at XFD1048576 asks for ~550 GB and aborts the process. :func:`prepare_xlsx` streams each
sheet's XML once (1 MiB chunks, a byte regex over the ``<c r="...">`` tags; the claimed
``<dimension>`` is ignored) and counts the cells per row and per column. A sheet whose full extent
stays within :data:`CELL_BUDGET` cells is read from the file exactly as before. Otherwise its data
block is A1 to the end of the busiest run of rows (and of columns), a run ending at the first gap
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
from operator import itemgetter
from pathlib import Path
from xml.etree import ElementTree

from qyzj_analytics.errors import DataError, Location
from qyzj_analytics.ingest.sheetcells import (
    PreparedWorkbook,
    column_index,
    scan_sheet_marks,
    sheet_members,
)
from qyzj_analytics.ingest.xlsxpatch import walk_cells, write_patched

CELL_BUDGET = 4_000_000  # a grid this large (~160 MB in the reader) is read as it is
MAX_BLOCK_CELLS = 30_000_000  # a data block larger than this is refused, never allocated
ROW_GAP = 1000  # more empty rows than this ends a run of rows
COL_GAP = 50  # more empty columns than this ends a run of columns

_PREFIX = rb"(?:[A-Za-z_][\w.-]*:)?"
# a cell's reference attribute (rows have digits only; a stray match elsewhere only makes the
# counts differ from the cell tags, and the sheet is then followed cell by cell)
_REF_RE = re.compile(rb"\sr=[\"']([A-Z]{1,3})(\d{1,7})[\"']")
_CELL_TAG_RE = re.compile(rb"<" + _PREFIX + rb"c[\s/>]")
_HINTS = (b't="e"', b"t='e'", b"<f", b":f")  # an error cell or a formula may be in the XML
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
    """The cells per row and column of one sheet (its XML streamed once, in chunks)."""
    extent = SheetExtent()
    refs = tags = 0
    carry = b""
    with zf.open(member) as fh:
        while chunk := fh.read(_CHUNK):
            window = carry + chunk
            cut = window.rfind(b"<")  # a tag may go on in the next chunk
            cut = len(window) if cut < 0 else cut
            body, carry = window[:cut], window[cut:]
            found = _REF_RE.findall(body)
            refs += len(found)
            tags += len(_CELL_TAG_RE.findall(body))
            extent.rows.update(map(itemgetter(1), found))
            extent.cols.update(map(itemgetter(0), found))
            extent.hinted = extent.hinted or any(h in window for h in _HINTS)
        found = _REF_RE.findall(carry)
        refs += len(found)
        tags += len(_CELL_TAG_RE.findall(carry))
        extent.rows.update(map(itemgetter(1), found))
        extent.cols.update(map(itemgetter(0), found))
    if refs != tags:  # cells without a reference: follow them one by one
        return _scan_extent_in_order(zf, member, extent.hinted)
    rows: Counter[int] = Counter()
    for digits, n in extent.rows.items():
        rows[int(digits) - 1] += n
    cols: Counter[int] = Counter()
    for letters, n in extent.cols.items():
        cols[column_index(letters.decode())] += n
    return SheetExtent(rows, cols, extent.hinted)


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
