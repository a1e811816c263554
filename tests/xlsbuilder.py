"""A tiny BIFF8 (.xls) writer for tests: an OLE2 compound file with one ``Workbook`` stream.

No xlwt here: enough of [MS-XLS] and [MS-CFB] to write sheets of text (SST), numbers, error
cells and formulas with a cached error, plus hooks to write hostile records (false DIMENSIONS,
far cells, corrupt MERGECELLS, raw records).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ERROR_CODES = {"#NULL!": 0x00, "#DIV/0!": 0x07, "#VALUE!": 0x0F, "#REF!": 0x17, "#N/A": 0x2A}
_ENDOFCHAIN, _FREESECT, _FATSECT, _NOSTREAM = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF


@dataclass
class Err:
    """An error cell (BOOLERR); ``formula=True`` writes a FORMULA whose cached value is it."""

    text: str
    formula: bool = False


@dataclass
class Sheet:
    """One worksheet: ``rows`` from A1; ``cells`` extra (row, col) -> value; raw records."""

    name: str
    rows: list[list[Any]] = field(default_factory=list)
    cells: dict[tuple[int, int], Any] = field(default_factory=dict)
    dimensions: tuple[int, int, int, int] | None = None  # (rwMic, rwMac, colMic, colMac)
    extra: list[bytes] = field(default_factory=list)  # raw records before EOF


def record(rid: int, body: bytes) -> bytes:
    """One BIFF record: id, length, body."""
    return struct.pack("<HH", rid, len(body)) + body


def merge_cells(ranges: list[tuple[int, int, int, int]], count: int | None = None) -> bytes:
    """A MERGECELLS record; ``count`` may lie about the number of ranges."""
    n = len(ranges) if count is None else count
    return record(0x00E5, struct.pack("<H", n) + b"".join(struct.pack("<4H", *r) for r in ranges))


def _bof(dt: int) -> bytes:
    return record(0x0809, struct.pack("<HHHHII", 0x0600, dt, 0x0DBB, 0x07CC, 0, 0x0206))


def _unicode(text: str, width: str = "<H") -> bytes:
    return struct.pack(width, len(text)) + b"\x01" + text.encode("utf-16-le")


def _cell(row: int, col: int, value: Any, sst: dict[str, int]) -> bytes:
    if isinstance(value, Err):
        code = ERROR_CODES[value.text]
        if value.formula:  # cached error result, formula =1/0 (ptgInt 1, ptgInt 0, ptgDiv)
            result = struct.pack("<BBBBHH", 2, 0, code, 0, 0, 0xFFFF)
            rgce = b"\x1e\x01\x00\x1e\x00\x00\x06"
            body = struct.pack("<HHH", row, col, 15) + result + struct.pack("<HI", 0, 0)
            return record(0x0006, body + struct.pack("<H", len(rgce)) + rgce)
        return record(0x0205, struct.pack("<HHHBB", row, col, 15, code, 1))
    if isinstance(value, bool):
        return record(0x0205, struct.pack("<HHHBB", row, col, 15, int(value), 0))
    if isinstance(value, int | float):
        return record(0x0203, struct.pack("<HHHd", row, col, 15, float(value)))
    index = sst.setdefault(str(value), len(sst))
    return record(0x00FD, struct.pack("<HHHI", row, col, 15, index))


def _sheet_stream(sheet: Sheet, sst: dict[str, int]) -> bytes:
    cells = {(r, c): v for r, row in enumerate(sheet.rows) for c, v in enumerate(row)}
    cells.update(sheet.cells)
    cells = {k: v for k, v in cells.items() if v is not None and v != ""}
    if sheet.dimensions is not None:
        dims = sheet.dimensions
    elif cells:
        rows, cols = [r for r, _ in cells], [c for _, c in cells]
        dims = (min(rows), max(rows) + 1, min(cols), max(cols) + 1)
    else:
        dims = (0, 0, 0, 0)
    out = [_bof(0x0010), record(0x0200, struct.pack("<IIHHH", *dims, 0))]
    out += [_cell(r, c, v, sst) for (r, c), v in sorted(cells.items())]
    return b"".join(out + sheet.extra + [record(0x000A, b"")])


def _sst(strings: dict[str, int]) -> bytes:
    """The SST record, split into CONTINUE records at string boundaries when long."""
    parts, chunk = [], struct.pack("<II", len(strings), len(strings))
    for text in strings:
        piece = _unicode(text)
        if len(chunk) + len(piece) > 8224:
            parts.append(chunk)
            chunk = b""
        chunk += piece
    parts.append(chunk)
    return record(0x00FC, parts[0]) + b"".join(record(0x003C, p) for p in parts[1:])


def workbook_stream(sheets: list[Sheet]) -> bytes:
    """The BIFF8 Workbook stream of ``sheets``."""
    sst: dict[str, int] = {}
    bodies = [_sheet_stream(s, sst) for s in sheets]
    head = _bof(0x0005) + record(0x0042, struct.pack("<H", 1200))
    tail = _sst(sst) + record(0x000A, b"")
    bound_len = sum(4 + 8 + 2 * len(s.name) for s in sheets)
    offset = len(head) + bound_len + len(tail)
    bound = b""
    for s, body in zip(sheets, bodies, strict=True):
        name = struct.pack("<B", len(s.name)) + b"\x01" + s.name.encode("utf-16-le")
        bound += record(0x0085, struct.pack("<IBB", offset, 0, 0) + name)
        offset += len(body)
    return head + bound + tail + b"".join(bodies)


def ole2(stream: bytes, name: str = "Workbook") -> bytes:
    """An OLE2 compound file (512-byte sectors, no mini stream) holding one stream."""
    stream = stream.ljust(max(4096, -(-len(stream) // 512) * 512), b"\0")
    n_data = len(stream) // 512
    n_fat = 1
    while (n_data + 1 + n_fat) > n_fat * 128:
        n_fat += 1
    assert n_fat <= 109, "too large for this writer"
    fat = list(range(1, n_data)) + [_ENDOFCHAIN, _ENDOFCHAIN] + [_FATSECT] * n_fat
    fat += [_FREESECT] * (n_fat * 128 - len(fat))
    dir_sector = n_data
    difat = list(range(n_data + 1, n_data + 1 + n_fat)) + [_FREESECT] * (109 - n_fat)
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 16
    header += struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + b"\0" * 6
    header += struct.pack(
        "<IIIIIIIII", 0, n_fat, dir_sector, 0, 4096, _ENDOFCHAIN, 0, _ENDOFCHAIN, 0
    )
    header += struct.pack("<109I", *difat)

    def entry(label: str, kind: int, child: int, start: int, size: int) -> bytes:
        raw = (label + "\0").encode("utf-16-le") if label else b""
        out = raw.ljust(64, b"\0") + struct.pack("<HBB", len(raw), kind, 1)
        out += struct.pack("<III", _NOSTREAM, _NOSTREAM, child) + b"\0" * 36
        return out + struct.pack("<IQ", start, size)

    directory = entry("Root Entry", 5, 1, _ENDOFCHAIN, 0) + entry(
        name, 2, _NOSTREAM, 0, len(stream)
    )
    directory += entry("", 0, _NOSTREAM, 0, 0) * 2
    return header + stream + directory + struct.pack(f"<{len(fat)}I", *fat)


def write_xls(path: Path, sheets: list[Sheet]) -> Path:
    """Write ``sheets`` as a BIFF8 .xls workbook at ``path``."""
    path.write_bytes(ole2(workbook_stream(sheets)))
    return path
