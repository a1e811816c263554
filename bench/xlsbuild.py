"""A minimal BIFF8 (.xls) writer for the pre-scan benchmark (copied from tests/xlsbuilder.py,
so bench/ does not import tests/): one sheet of shared strings and numbers in an OLE2 file."""

from __future__ import annotations

import struct
from pathlib import Path

_ENDOFCHAIN, _FREESECT, _FATSECT, _NOSTREAM = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF


def record(rid: int, body: bytes) -> bytes:
    """One BIFF record: id, length, body."""
    return struct.pack("<HH", rid, len(body)) + body


def _bof(dt: int) -> bytes:
    return record(0x0809, struct.pack("<HHHHII", 0x0600, dt, 0x0DBB, 0x07CC, 0, 0x0206))


def _unicode(text: str, width: str = "<H") -> bytes:
    return struct.pack(width, len(text)) + b"\x01" + text.encode("utf-16-le")


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


def write_table_xls(path: Path, rows: list[list[object]], name: str = "Sheet1") -> Path:
    """Write ``rows`` (str or number cells, from A1) as a one-sheet BIFF8 workbook at ``path``."""
    sst: dict[str, int] = {}
    cells = []
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if isinstance(value, int | float):
                cells.append(record(0x0203, struct.pack("<HHHd", r, c, 15, float(value))))
            else:
                index = sst.setdefault(str(value), len(sst))
                cells.append(record(0x00FD, struct.pack("<HHHI", r, c, 15, index)))
    n_cols = max((len(row) for row in rows), default=0)
    dims = struct.pack("<IIHHH", 0, len(rows), 0, n_cols, 0)
    sheet = _bof(0x0010) + record(0x0200, dims) + b"".join(cells) + record(0x000A, b"")
    head = _bof(0x0005) + record(0x0042, struct.pack("<H", 1200))
    tail = _sst(sst) + record(0x000A, b"")
    bound_len = 4 + 8 + 2 * len(name)
    offset = len(head) + bound_len + len(tail)
    label = struct.pack("<B", len(name)) + b"\x01" + name.encode("utf-16-le")
    bound = record(0x0085, struct.pack("<IBB", offset, 0, 0) + label)
    path.write_bytes(ole2(head + bound + tail + sheet))
    return path
