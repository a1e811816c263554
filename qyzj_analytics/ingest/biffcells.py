"""The cell records of one .xls worksheet substream: real extent, error cells, far cells.

Only the records python-calamine turns into grid cells count (blank cells it skips); each is
checked for the length calamine reads without checking, so a corrupt one is reported here
rather than as a panic.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

from qyzj_analytics.errors import DataError, Location
from qyzj_analytics.ingest.biffrecords import read_u16 as _u16
from qyzj_analytics.ingest.biffrecords import record_heads, records
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
_IS_WATCHED = np.zeros(1 << 16, bool)  # by record id
_IS_WATCHED[list(_WATCHED)] = True
_IS_CELL = np.zeros(1 << 16, bool)
_IS_CELL[list(set(_MIN_LEN) - {_STRING})] = True
_MIN_LEN_OF = np.zeros(1 << 16, np.int64)
_MIN_LEN_OF[list(_MIN_LEN)] = list(_MIN_LEN.values())
ROW_GAP = 1000  # empty rows that set a far cell apart from the data block
COL_GAP = 50  # empty columns that do


@dataclass
class SheetCells:
    """What one worksheet's records hold.

    ``rows``/``cols``/``at``: row, column and body offset of its record of every value cell
    (a MULRK gives one per cell, sharing its offset); ``extent``/``block``: (first row, last
    row, first col, last col) of all cells / of the data block without far cells.
    """

    rows: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    cols: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    at: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    marks: Marks = field(default_factory=dict)
    dimensions: tuple[int, int] | None = None  # (body offset, cells calamine reserves)
    bad_merges: list[int] = field(default_factory=list)
    extent: tuple[int, int, int, int] | None = None
    block: tuple[int, int, int, int] | None = None
    followers: dict[int, int] = field(default_factory=dict)  # FORMULA -> its STRING record


def scan_cells(stream: bytes, offset: int, where: Location) -> SheetCells:
    """The cells of the worksheet substream at ``offset`` (their text is read for far cells only).

    The records are walked once; their cells are read with numpy. A substream with anything
    that could be corrupt is read record by record (:func:`_scan_cells_in_order`), which
    reports the first fault.

    Raises:
        DataError: a cell record is too short or malformed (naming file and sheet).
    """
    heads = record_heads(stream, offset, where)
    a = np.frombuffer(stream, np.uint8)
    ids = _u16(a, heads)
    sizes = _u16(a, heads + 2)
    watched = _IS_WATCHED[ids]
    heads, ids, sizes = heads[watched], ids[watched], sizes[watched]
    starts = heads + 4
    if not _plain(a, ids, starts, sizes):
        return _scan_cells_in_order(stream, offset, where)
    found = SheetCells()
    for i in np.flatnonzero(ids == 0x0200).tolist():
        start, size = int(starts[i]), int(sizes[i])
        found.dimensions = (start, _claimed_cells(stream[start : start + size], where))
    for i in np.flatnonzero(ids == 0x00E5).tolist():
        start, size = int(starts[i]), int(sizes[i])
        count = _u16(a, np.array([start]))[0] if size >= 2 else 1 << 16
        if 2 + 8 * int(count) > size:
            found.bad_merges.append(start)
    formula = ids == _FORMULA
    last_formula = (
        np.maximum.accumulate(np.where(formula, np.arange(len(ids)), -1)) if len(ids) else ids
    )
    follows = np.flatnonzero((ids == _STRING) & (last_formula >= 0))
    found.followers = dict(
        zip(starts[last_formula[follows]].tolist(), starts[follows].tolist(), strict=True)
    )
    cell = _IS_CELL[ids]
    ids, starts, sizes = ids[cell], starts[cell], sizes[cell]
    rows, cols = _u16(a, starts), _u16(a, starts + 2)
    mulrk = ids == _MULRK
    span = np.where(mulrk, _u16(a, starts + sizes - 2) - cols + 1, 1)
    found.rows = np.repeat(rows, span)
    found.at = np.repeat(starts, span)
    first = np.repeat(np.cumsum(span) - span, span)
    found.cols = np.repeat(cols, span) + (np.arange(len(found.rows)) - first)
    boolerr, formula = np.flatnonzero(ids == _BOOLERR), np.flatnonzero(ids == _FORMULA)
    err = np.concatenate(
        [boolerr[a[starts[boolerr] + 7] == 1], formula[_formula_errors(a, starts[formula])]]
    )
    for i in np.sort(err).tolist():  # in stream order, as read one by one
        code = a[starts[i] + 6] if ids[i] == _BOOLERR else a[starts[i] + 8]
        found.marks[(int(rows[i]), int(cols[i]))] = ERROR_CODES.get(int(code), "#VALUE!")
    _set_extent(found)
    return found


def _plain(a: np.ndarray, ids: np.ndarray, starts: np.ndarray, sizes: np.ndarray) -> bool:
    """True when no watched record is short, a MULRK's span fits its length, no BOOLERR has
    an invalid type and every DIMENSIONS has one of its two lengths (else: read in order)."""
    if (sizes < _MIN_LEN_OF[ids]).any():
        return False
    if ((ids == 0x0200) & (sizes != 14) & (sizes != 10)).any():
        return False
    mulrk = np.flatnonzero(ids == _MULRK)
    first, last = _u16(a, starts[mulrk] + 2), _u16(a, starts[mulrk] + sizes[mulrk] - 2)
    if ((last < first) | (sizes[mulrk] != 6 + 6 * (last - first + 1))).any():
        return False
    return not (a[starts[ids == _BOOLERR] + 7] > 1).any()


def _formula_errors(a: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Per record start: a FORMULA whose cached result is an error value (see _formula_error)."""
    return (a[starts + 6] == 2) & (a[starts + 12] == 0xFF) & (a[starts + 13] == 0xFF)


def _set_extent(found: SheetCells) -> None:
    if len(found.rows):
        found.extent = (
            int(found.rows.min()),
            int(found.rows.max()),
            int(found.cols.min()),
            int(found.cols.max()),
        )


def _scan_cells_in_order(stream: bytes, offset: int, where: Location) -> SheetCells:
    """:func:`scan_cells` one record at a time (raises on the first corrupt record)."""
    found = SheetCells()
    cells: list[tuple[int, int, int]] = []
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
            _read_cell(rid, body, start, cells, found, where)
            if rid == _FORMULA:
                last_formula = start
    table = np.array(cells, np.int64).reshape(-1, 3)
    found.rows, found.cols, found.at = table[:, 0], table[:, 1], table[:, 2]
    _set_extent(found)
    return found


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


def _read_cell(
    rid: int,
    body: bytes,
    start: int,
    cells: list[tuple[int, int, int]],
    found: SheetCells,
    where: Location,
) -> None:
    """Add the value cell(s) of one record to ``cells``, its error mark to ``found``."""
    if rid not in _MIN_LEN or rid == _STRING:
        return
    row, col = struct.unpack_from("<HH", body)
    if rid == _MULRK:
        last = struct.unpack_from("<H", body, len(body) - 2)[0]
        if last < col or len(body) != 6 + 6 * (last - col + 1):
            raise DataError(_bad(rid, "列范围与长度不符"), where)
        cells.extend((row, col + i, start) for i in range(last - col + 1))
        return
    if rid == _BOOLERR and body[7] > 1:
        raise DataError(_bad(rid, "类型无效"), where)
    if (rid == _BOOLERR and body[7] == 1) or (rid == _FORMULA and _formula_error(body)):
        code = body[6] if rid == _BOOLERR else body[8]
        found.marks[(row, col)] = ERROR_CODES.get(code, "#VALUE!")
    cells.append((row, col, start))  # text: see cell_text


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
    """The cells far outside the data block when the sheet's extent exceeds ``budget`` cells:
    (row, col, "", body offset of its record).

    The data block is the run of occupied rows (columns) holding the most cells, runs split by
    more than :data:`ROW_GAP` empty rows (:data:`COL_GAP` columns). Sets ``found.block``.
    A far FORMULA's STRING record goes with it (see ``followers``).
    """
    if found.extent is None:
        return []
    r0, r1, c0, c1 = found.extent
    if (r1 - r0 + 1) * (c1 - c0 + 1) <= budget:
        return []
    rows, cols, at = found.rows, found.cols, found.at
    run_r = _busiest_run(rows, ROW_GAP)
    run_c = _busiest_run(cols, COL_GAP)
    inside = (rows >= run_r[0]) & (rows <= run_r[1]) & (cols >= run_c[0]) & (cols <= run_c[1])
    kept = ~np.isin(at, at[~inside])  # the block: cells of records with no far cell
    if not kept.any():
        return []
    found.block = (
        int(rows[kept].min()),
        int(rows[kept].max()),
        int(cols[kept].min()),
        int(cols[kept].max()),
    )
    far = np.flatnonzero(~inside)
    return [
        (r, c, "", p) for r, c, p in zip(*(x[far].tolist() for x in (rows, cols, at)), strict=True)
    ]


def _busiest_run(values: np.ndarray, gap: int) -> tuple[int, int]:
    """(first, last) of the run of ``values`` (split by more than ``gap``) with the most items."""
    keys, counts = np.unique(values, return_counts=True)
    breaks = np.flatnonzero(np.diff(keys) > gap + 1) + 1
    starts = np.concatenate([[0], breaks])
    ends = np.concatenate([breaks, [len(keys)]]) - 1
    totals = np.add.reduceat(counts, starts)
    best = int(np.argmax(totals))  # the first of equal runs, as before
    return int(keys[starts[best]]), int(keys[ends[best]])
