"""Walking the records of a BIFF8 (.xls) Workbook stream: id, length, body, bounded by the stream.

Each record's header says where the next one starts, so the walk is a chain: :func:`record_heads`
follows it in one tight loop that only notes where each header is; the ids, lengths and cell
fields are then read with numpy. (Finding the chain with numpy instead, from every position whose
bytes look like a known id and length, was measured slower: it touches every byte of the stream.)
"""

from __future__ import annotations

import struct

import numpy as np

from qyzj_analytics.errors import DataError, Location

_EOF = 0x000A
_HEAD = struct.Struct("<HH")


def corrupt(detail: str) -> str:
    """The message for a truncated or corrupt workbook."""
    return f"Excel 文件损坏或被截断（{detail}），请重新导出"


def records(stream: bytes, offset: int, where: Location) -> list[tuple[int, int, int]]:
    """(record id, body start, body length) from ``offset`` up to the first EOF record.

    Raises:
        DataError: a record runs past the end of the stream, or no EOF record ends the run.
    """
    heads = record_heads(stream, offset, where)
    a = np.frombuffer(stream, np.uint8)
    ids, sizes = read_u16(a, heads).tolist(), read_u16(a, heads + 2).tolist()
    return list(zip(ids, (heads + 4).tolist(), sizes, strict=True))


def record_heads(stream: bytes, offset: int, where: Location) -> np.ndarray:
    """The offsets of the record headers from ``offset`` up to the first EOF record.

    Raises:
        DataError: a record runs past the end of the stream, or no EOF record ends the run.
    """
    unpack = _HEAD.unpack_from
    heads: list[int] = []
    add = heads.append
    pos, last = offset, len(stream) - 4
    rid = size = -1
    while pos <= last:  # the only per-record Python: the chain of lengths
        add(pos)
        rid, size = unpack(stream, pos)
        if rid == _EOF:
            break
        pos += 4 + size
    if heads and heads[-1] + 4 + size > len(stream):
        raise DataError(corrupt(f"记录 0x{rid:04X} 超出数据流末尾"), where)
    if rid != _EOF:
        raise DataError(corrupt("缺少结束记录"), where)
    return np.array(heads, np.int64)


def read_u16(a: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The little-endian 16-bit values at the byte offsets ``at`` of ``a``."""
    return a[at].astype(np.int64) | (a[at + 1].astype(np.int64) << 8)
