"""The cell records of one .xls worksheet substream: real extent, error cells, far cells.

Only the records python-calamine turns into grid cells count (blank cells it skips); each is
checked for the length calamine reads without checking, so a corrupt one is reported here
rather than as a panic.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from qyzj_analytics.errors import DataError, Location
from qyzj_analytics.ingest.sheetcells import Marks

ERROR_CODES = {
    0x00: "#NULL!",
    0x07: "#DIV/0!",
    0x0F: "#VALUE!",
    0x17: "#REF!",
    0x1D: "#NAME?",
    0x24: "#NUM!",
    0x2A: "#N/A",
    0x2B: "#GETTING_DATA",
}
_NUMBER, _LABEL, _BOOLERR, _STRING, _RK = 0x0203, 0x0204, 0x0205, 0x0207, 0x027E
_LABELSST, _MULRK, _FORMULA, _RSTRING = 0x00FD, 0x00BD, 0x0006, 0x00D6
_MIN_LEN = {_NUMBER: 14, _LABEL: 9, _BOOLERR: 8, _RK: 10, _LABELSST: 10, _MULRK: 6}
_MIN_LEN.update({_FORMULA: 20, _RSTRING: 9, _STRING: 4})
_WATCHED = {*_MIN_LEN, 0x0200, 0x00E5}
ROW_GAP = 1000  # empty rows that set a far cell apart from the data block
COL_GAP = 50  # empty columns that do


@dataclass
class SheetCells:
    """What one worksheet's records hold.

    ``cells``: (row, col, text, body offset of its record) of every value cell record (a
    MULRK gives one per cell, sharing its offset); ``extent``/``block``: (first row, last row,
    first col, last col) of all cells / of the data block without far cells.
    """

    cells: list[tuple[int, int, str, int]] = field(default_factory=list)
    marks: Marks = field(default_factory=dict)
    dimensions: tuple[int, int] | None = None  # (body offset, cells calamine reserves)
    bad_merges: list[int] = field(default_factory=list)
    extent: tuple[int, int, int, int] | None = None
    block: tuple[int, int, int, int] | None = None
    followers: dict[int, int] = field(default_factory=dict)  # FORMULA -> its STRING record


def scan_cells(stream: bytes, offset: int, where: Location) -> SheetCells:
    """The cells of the worksheet substream at ``offset`` (their text is read for far cells only).

    Raises:
        DataError: a cell record is too short or malformed (naming file and sheet).
    """
    found = SheetCells()
    last_formula = -1
    for rid, start, size in records(stream, offset, where):
        if rid not in _WATCHED:
            continue
        body = stream[start : start + size]
        if size < _MIN_LEN.get(rid, 0):
            raise DataError(_bad(rid, "长度不足"), where)
        if rid == 0x0200:
            found.dimensions = (start, _claimed_cells(body, where))
        elif rid == 0x00E5:
            count = struct.unpack_from("<H", body)[0] if size >= 2 else 1 << 16
            if 2 + 8 * count > size:
                found.bad_merges.append(start)
        elif rid == _STRING and last_formula >= 0:
            found.followers[last_formula] = start
        else:
            _read_cell(rid, body, start, found, where)
            if rid == _FORMULA:
                last_formula = start
    if found.cells:
        rows = [c[0] for c in found.cells]
        cols = [c[1] for c in found.cells]
        found.extent = (min(rows), max(rows), min(cols), max(cols))
    return found


def corrupt(detail: str) -> str:
    """The message for a truncated or corrupt workbook."""
    return f"Excel 文件损坏或被截断（{detail}），请重新导出"


def records(stream: bytes, offset: int, where: Location) -> list[tuple[int, int, int]]:
    """(record id, body start, body length) from ``offset`` up to the first EOF record.

    Raises:
        DataError: a record runs past the end of the stream, or no EOF record ends the run.
    """
    out: list[tuple[int, int, int]] = []
    pos, end = offset, len(stream)
    while pos + 4 <= end:
        rid, size = struct.unpack_from("<HH", stream, pos)
        if pos + 4 + size > end:
            raise DataError(corrupt(f"记录 0x{rid:04X} 超出数据流末尾"), where)
        out.append((rid, pos + 4, size))
        if rid == 0x000A:
            return out
        pos += 4 + size
    raise DataError(corrupt("缺少结束记录"), where)


def _bad(rid: int, what: str) -> str:
    return f"Excel 文件损坏（单元格记录 0x{rid:04X} {what}），请重新导出"


def _claimed_cells(body: bytes, where: Location) -> int:
    """How many cells calamine reserves for a DIMENSIONS record (u32 arithmetic, as it does)."""
    if len(body) == 14:
        r0, r1, c0, c1 = struct.unpack_from("<IIHH", body)
    elif len(body) == 10:
        r0, r1, c0, c1 = struct.unpack_from("<HHHH", body)
    else:
        raise DataError(_bad(0x0200, "长度不对"), where)
    if r1 < 1 or c1 < 1:
        return 1
    rows = (r1 - 1 - r0 + 1) & 0xFFFFFFFF
    cols = (c1 - 1 - c0 + 1) & 0xFFFFFFFF
    return rows * cols


def _read_cell(rid: int, body: bytes, start: int, found: SheetCells, where: Location) -> None:
    """Add the value cell(s) of one record to ``found`` (other records are ignored)."""
    if rid not in _MIN_LEN or rid == _STRING:
        return
    row, col = struct.unpack_from("<HH", body)
    if rid == _MULRK:
        last = struct.unpack_from("<H", body, len(body) - 2)[0]
        if last < col or len(body) != 6 + 6 * (last - col + 1):
            raise DataError(_bad(rid, "列范围与长度不符"), where)
        found.cells.extend((row, col + i, "", start) for i in range(last - col + 1))
        return
    if rid == _BOOLERR and body[7] > 1:
        raise DataError(_bad(rid, "类型无效"), where)
    if (rid == _BOOLERR and body[7] == 1) or (rid == _FORMULA and _formula_error(body)):
        code = body[6] if rid == _BOOLERR else body[8]
        found.marks[(row, col)] = ERROR_CODES.get(code, "#VALUE!")
    found.cells.append((row, col, "", start))  # text: see cell_text


def _formula_error(body: bytes) -> bool:
    """A FORMULA whose cached result is an error value."""
    return body[6] == 2 and body[12:14] == b"\xff\xff"


def cell_text(stream: bytes, start: int, col: int, strings: list[str]) -> str:
    """The value as text of the cell in column ``col`` of the record whose body is at ``start``."""
    rid, size = struct.unpack_from("<HH", stream, start - 4)
    body = stream[start : start + size]
    if rid == _MULRK:
        i = col - struct.unpack_from("<H", body, 2)[0]
        return _rk(body[4 + 6 * i + 2 : 4 + 6 * i + 6])
    if rid == _NUMBER:
        return _number(struct.unpack_from("<d", body, 6)[0])
    if rid == _RK:
        return _rk(body[6:10])
    if rid == _LABELSST:
        index = struct.unpack_from("<I", body, 6)[0]
        return strings[index] if index < len(strings) else ""
    if rid in (_LABEL, _RSTRING):
        cch, flags = struct.unpack_from("<HB", body, 6)
        raw = body[9 : 9 + cch * (2 if flags & 1 else 1)]
        return raw.decode("utf-16-le" if flags & 1 else "latin-1", "replace")
    if rid == _BOOLERR:
        return ERROR_CODES.get(body[6], "#VALUE!") if body[7] else str(bool(body[6])).upper()
    if body[12:14] == b"\xff\xff":  # FORMULA: a cached string, bool, error or empty
        return ERROR_CODES.get(body[8], "#VALUE!") if body[6] == 2 else ""
    return _number(struct.unpack_from("<d", body, 6)[0])


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


def _rk(rk: bytes) -> str:
    """An RK number ([MS-XLS] 2.5.217) as text."""
    raw = struct.unpack("<I", rk)[0]
    if raw & 2:
        value = float(struct.unpack("<i", struct.pack("<I", raw & 0xFFFFFFFC))[0] >> 2)
    else:
        value = struct.unpack("<d", b"\0\0\0\0" + struct.pack("<I", raw & 0xFFFFFFFC))[0]
    return _number(value / 100 if raw & 1 else value)


def far_cells(found: SheetCells, budget: int) -> list[tuple[int, int, str, int]]:
    """The cells far outside the data block when the sheet's extent exceeds ``budget`` cells.

    The data block is the run of occupied rows (columns) holding the most cells, runs split by
    more than :data:`ROW_GAP` empty rows (:data:`COL_GAP` columns). Sets ``found.block``.
    A far FORMULA's STRING record goes with it (see ``followers``).
    """
    if found.extent is None:
        return []
    r0, r1, c0, c1 = found.extent
    if (r1 - r0 + 1) * (c1 - c0 + 1) <= budget:
        return []
    rows = _busiest_run([c[0] for c in found.cells], ROW_GAP)
    cols = _busiest_run([c[1] for c in found.cells], COL_GAP)
    far = [
        c for c in found.cells if not (rows[0] <= c[0] <= rows[1] and cols[0] <= c[1] <= cols[1])
    ]
    near_records = {c[3] for c in found.cells} - {c[3] for c in far}
    far = [c for c in far if c[3] not in near_records]  # a MULRK partly in the block stays
    kept = [c for c in found.cells if c[3] in near_records]
    if not kept:
        return []
    found.block = (
        min(c[0] for c in kept),
        max(c[0] for c in kept),
        min(c[1] for c in kept),
        max(c[1] for c in kept),
    )
    return far


def _busiest_run(values: list[int], gap: int) -> tuple[int, int]:
    """(first, last) of the run of ``values`` (split by more than ``gap``) with the most items."""
    counts: dict[int, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    best, best_n, start, n, prev = (0, 0), -1, None, 0, None
    for v in sorted(counts):
        if prev is not None and v - prev > gap + 1:
            if n > best_n:
                best, best_n = (start, prev), n
            start, n = v, 0
        if start is None:
            start = v
        n += counts[v]
        prev = v
    if n > best_n:
        best = (start, prev)
    return best
