"""Pre-scanning an .xls (BIFF8) workbook before python-calamine builds each sheet as a grid.

calamine trusts what an .xls claims: it reserves room for the cells its DIMENSIONS record
claims (4 billion rows abort the process, uncatchably), builds each sheet as one dense grid up
to its farthest cell, indexes MERGECELLS by their claimed count (a panic), and reads error
cells as empty. :func:`prepare_xls` walks the Workbook stream's records (bounded by the stream,
never by a claimed size) and, in a patched copy when needed, sets false DIMENSIONS to the real
extent, takes far stray cells out (returned as :class:`FarCell`), drops corrupt MERGECELLS
(which hold no values), and marks error cells. Other corrupt records raise :class:`DataError`.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass, field
from pathlib import Path

from qyzj_analytics.errors import DataError, Location
from qyzj_analytics.ingest.biffcells import SheetCells, cell_text, far_cells, scan_cells
from qyzj_analytics.ingest.biffrecords import corrupt, records
from qyzj_analytics.ingest.sheetcells import FarCell, PreparedWorkbook

CELL_BUDGET = 4_000_000  # a sheet grid larger than this is checked for far stray cells
_BOF, _EOF, _BOUNDSHEET, _SST, _CONTINUE = 0x0809, 0x000A, 0x0085, 0x00FC, 0x003C
_DIMENSIONS, _MERGECELLS = 0x0200, 0x00E5
_IGNORED = 0x0001  # a record id no BIFF8 reader acts on: patched-out records get it
# globals records calamine reads without checking their length -> the length it needs
_GLOBAL_MIN = {_BOF: 2, 0x0042: 2, 0x0022: 2, _BOUNDSHEET: 8, 0x0017: 2, _SST: 8, 0x00E0: 4}


@dataclass
class _Book:
    """The Workbook stream and what its globals say."""

    stream: bytes
    stream_name: str
    sheets: list[tuple[str, int]] = field(default_factory=list)  # (name, substream offset)
    sst: list[bytes] = field(default_factory=list)  # the SST record and its CONTINUE records


def prepare_xls(path: Path, name: str | None = None) -> PreparedWorkbook:
    """The .xls workbook at ``path`` ready for the reader (``name``: the file as reported).

    Raises:
        DataError: the compound file or its BIFF records are truncated or corrupt.
    """
    label = name or path.name
    book = _read_book(path, label)
    patched = bytearray(book.stream)
    prepared = PreparedWorkbook(path)
    for sheet, offset in book.sheets:
        where = Location(label, sheet)
        cells = scan_cells(book.stream, offset, where)
        if cells.marks:
            prepared.marks[sheet] = cells.marks
        far = far_cells(cells, CELL_BUDGET)
        if far:
            strings = read_sst(book.sst, where) if book.sst else []
            texts = [cell_text(book.stream, at, c, strings) for _, c, _, at in far]
            prepared.far[sheet] = [
                FarCell(r, c, t) for (r, c, _, _), t in zip(far, texts, strict=True)
            ]
            for at in {at for *_, at in far}:
                _patch_id(patched, at)
                if at in cells.followers:  # a far formula's cached text
                    _patch_id(patched, cells.followers[at])
        _patch_sheet(patched, cells, {at for *_, at in far})
    if patched != book.stream:
        prepared.data = _rewrite_stream(path, book.stream_name, bytes(patched), label)
    return prepared


def _read_book(path: Path, label: str) -> _Book:
    """The Workbook (or Book) stream, its sheets and shared strings."""
    import olefile

    try:
        with olefile.OleFileIO(str(path)) as ole:
            stream_name = next((n for n in ("Workbook", "Book") if ole.exists(n)), None)
            if stream_name is None:
                raise DataError("不是 Excel 工作簿（缺少 Workbook 数据流）", Location(label))
            if ole.get_size(stream_name) > path.stat().st_size:
                raise DataError(corrupt("数据流长度超出文件大小"), Location(label))
            stream = ole.openstream(stream_name).read()
    except DataError:
        raise
    except Exception as exc:  # olefile raises OSError and its own errors on broken files
        raise DataError(corrupt(f"复合文档无法读取: {exc}"), Location(label)) from None
    book = _Book(stream, stream_name)
    _scan_globals(book, label)
    return book


def _scan_globals(book: _Book, label: str) -> None:
    """Sheets and shared strings from the globals substream; checks what calamine reads."""
    where = Location(label)
    stream = book.stream
    found = records(stream, 0, where)
    if not found or found[0][0] != _BOF:
        raise DataError(corrupt("数据流不以 BOF 记录开头"), where)
    for i, (rid, start, size) in enumerate(found):
        if size < _GLOBAL_MIN.get(rid, 0):
            raise DataError(corrupt(f"记录 0x{rid:04X} 长度不足"), where)
        if rid == _BOUNDSHEET:
            book.sheets.append(_bound_sheet(stream, start, size, where))
        elif rid == 0x0018 and not _label_ok(stream[start : start + size]):
            raise DataError(corrupt("名称定义记录损坏"), where)
        elif rid == _SST:
            chunks = [stream[start : start + size]]
            for rid2, start2, size2 in found[i + 1 :]:
                if rid2 != _CONTINUE:
                    break
                chunks.append(stream[start2 : start2 + size2])
            if struct.unpack_from("<i", chunks[0], 4)[0] < 0:
                raise DataError(corrupt("共享字符串表的数量为负"), where)
            book.sst = chunks


def _bound_sheet(stream: bytes, start: int, size: int, where: Location) -> tuple[str, int]:
    """(sheet name, substream offset) of a BOUNDSHEET8 record; checks the offset."""
    offset, state, kind, cch, flags = struct.unpack_from("<IBBBB", stream, start)
    width = 2 if flags & 1 else 1
    raw = stream[start + 8 : start + 8 + cch * width]
    name = raw.decode("utf-16-le" if width == 2 else "latin-1", "replace").replace("\0", "")
    if state & 0x3F > 2 or kind not in (0, 1, 2, 6) or len(raw) < cch * width:
        raise DataError(corrupt("工作表目录记录损坏"), where)
    sheet = Location(where.file, name)
    if offset + 4 > len(stream) or struct.unpack_from("<H", stream, offset)[0] != _BOF:
        raise DataError(corrupt("工作表位置指向数据流之外"), sheet)
    return name, offset


def _label_ok(body: bytes) -> bool:
    """A Lbl (defined name) record long enough for calamine's reads."""
    if len(body) < 14:
        return False
    cch, cce = body[3], struct.unpack_from("<H", body, 4)[0]
    return 14 + cch <= len(body) and cce <= len(body)


def read_sst(chunks: list[bytes], where: Location) -> list[str]:
    """The shared strings of an SST record and its CONTINUE records (``chunks``)."""
    data, chunk_i, pos = chunks[0], 0, 8
    total = struct.unpack_from("<i", data, 4)[0]
    if total < 0:
        raise DataError(corrupt("共享字符串表的数量为负"), where)
    strings: list[str] = []

    def take(n: int) -> bytes:
        nonlocal data, chunk_i, pos
        out = b""
        while len(out) < n:
            if pos >= len(data):
                chunk_i += 1
                if chunk_i >= len(chunks):
                    raise IndexError
                data, pos = chunks[chunk_i], 0
            piece = data[pos : pos + n - len(out)]
            out += piece
            pos += len(piece)
        return out

    try:
        for _ in range(total):
            cch, flags = struct.unpack("<HB", take(3))
            runs = struct.unpack("<H", take(2))[0] if flags & 8 else 0
            ext = struct.unpack("<i", take(4))[0] if flags & 4 else 0
            text, wide, left = [], bool(flags & 1), cch
            while left:
                if pos >= len(data):  # a CONTINUE starts with its own width flag
                    chunk_i += 1
                    if chunk_i >= len(chunks):
                        raise IndexError
                    data, pos = chunks[chunk_i], 1
                    wide = bool(data[0] & 1)
                width = 2 if wide else 1
                n = min(left, (len(data) - pos) // width) or 1
                raw = take(n * width)
                text.append(raw.decode("utf-16-le" if wide else "latin-1", "replace"))
                left -= n
            take(4 * runs + max(ext, 0))
            strings.append("".join(text))
    except (IndexError, struct.error):
        raise DataError(corrupt("共享字符串表被截断"), where) from None
    return strings


def _patch_id(patched: bytearray, body_start: int) -> None:
    """Turn the record whose body starts at ``body_start`` into one every reader ignores."""
    struct.pack_into("<H", patched, body_start - 4, _IGNORED)


def _patch_sheet(patched: bytearray, cells: SheetCells, far: set[int]) -> None:
    """Drop corrupt MERGECELLS; set a DIMENSIONS claiming more than the real extent to it."""
    for at in cells.bad_merges:
        _patch_id(patched, at)
    if cells.dimensions is None:
        return
    at, claimed = cells.dimensions
    extent = cells.extent if not far else cells.block
    rows = extent[1] - extent[0] + 1 if extent else 0
    cols = extent[3] - extent[2] + 1 if extent else 0
    if claimed > max(rows * cols, CELL_BUDGET) or (far and claimed > rows * cols):
        body = patched[at : at + 14]
        if extent is None:
            new = struct.pack("<IIHH", 0, 0, 0, 0)
        else:
            new = struct.pack("<IIHH", extent[0], extent[1] + 1, extent[2], extent[3] + 1)
        if len(body) == 14:
            patched[at : at + 12] = new
        else:  # the 10-byte form (16-bit rows)
            r0, r1, c0, c1 = struct.unpack("<IIHH", new)
            patched[at : at + 8] = struct.pack("<HHHH", r0, min(r1, 0xFFFF), c0, c1)


def _rewrite_stream(path: Path, stream_name: str, stream: bytes, label: str) -> bytes:
    """A copy of the compound file at ``path`` with ``stream_name`` replaced (same size)."""
    import olefile

    copy = io.BytesIO(path.read_bytes())
    try:
        with olefile.OleFileIO(copy, write_mode=True) as ole:
            ole.write_stream(stream_name, stream)
    except Exception as exc:  # olefile refuses streams it cannot rewrite in place
        raise DataError(corrupt(f"无法修正工作簿: {exc}"), Location(label)) from None
    return copy.getvalue()
