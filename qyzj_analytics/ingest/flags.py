"""Blank and summary rows of arrow string columns, by the rules of :func:`is_empty` and
:func:`~qyzj_analytics.ingest.headers.is_summary_cell`, mostly in arrow kernels.

Used by the fast CSV path (:mod:`~qyzj_analytics.ingest.delimited`), whose columns pyarrow
reads as strings; the grid path checks its cells one by one with the same rules.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from qyzj_analytics.ingest.headers import is_summary_cell
from qyzj_analytics.ingest.parse import BLANK_CHARS

_BLANK_LEAD = np.zeros(256, bool)  # first UTF-8 byte of each blank character
_BLANK_LEAD[[c.encode("utf-8")[0] for c in BLANK_CHARS]] = True
_NONBLANK_RE = "[^" + "".join(f"\\x{{{ord(c):04x}}}" for c in BLANK_CHARS) + "]"


def flag_rows(columns: list[pa.ChunkedArray], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Blank rows and summary rows, by the same rules as the grid path (:func:`is_empty`).

    Only rows whose earlier cells are all empty look at the next column, so a long export
    usually costs one scan of its first column.
    """
    undecided = None  # rows whose cells so far are all empty (None: every row, at first)
    summary = np.zeros(n, bool)
    for column in columns:
        if undecided is None:
            nonempty, summary = _cell_flags(column)
            undecided = np.flatnonzero(~nonempty)
            continue
        if not len(undecided):
            break
        nonempty, marked = _cell_flags(_take_cells(column, undecided))
        summary[undecided[marked]] = True
        undecided = undecided[~nonempty]
    blank = np.zeros(n, bool)
    blank[np.arange(n) if undecided is None else undecided] = True
    return blank, summary


def _take_cells(cells: pa.ChunkedArray | pa.Array, rows: np.ndarray) -> pa.ChunkedArray | pa.Array:
    """``cells.take(rows)``; a few rows of a chunked column are looked up one by one.

    (A take on a chunked array first joins its chunks, a copy of the whole column.)
    """
    if len(rows) > 1000 or not isinstance(cells, pa.ChunkedArray) or cells.num_chunks < 2:
        return cells.take(pa.array(rows))
    return pa.array([cells[int(i)].as_py() for i in rows], _value_type(cells.type))


def _value_type(type_: pa.DataType) -> pa.DataType:
    return type_.value_type if pa.types.is_dictionary(type_) else type_


def _cell_flags(cells: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Per cell: not empty (:func:`is_empty`), and a summary mark (:func:`is_summary_cell`).

    Arrow kernels scan the strings (of a dictionary column: its distinct values); only cells
    holding "计", the last character of every summary mark, are checked in Python.
    """
    if len(cells) == 0:
        return np.zeros(0, bool), np.zeros(0, bool)
    indices = None
    strings: pa.Array | pa.ChunkedArray = cells
    if pa.types.is_dictionary(cells.type):
        combined = cells.combine_chunks()
        strings = combined.dictionary
        indices = combined.indices.to_numpy(zero_copy_only=False)
    nonempty = mark_nonempty(strings)
    marked = np.zeros(len(strings), bool)
    if not _may_hold(strings, _MARK):  # (the common case: one byte search, no string kernel)
        maybe = np.zeros(0, np.int64)
    else:
        maybe = np.flatnonzero(
            pc.match_substring(strings, _MARK).to_numpy(zero_copy_only=False) & nonempty
        )
    if len(maybe):
        candidates = _take_cells(strings, maybe).to_pylist()
        marked[maybe] = [is_summary_cell(v) for v in candidates]
    if indices is not None:
        return nonempty[indices], marked[indices]
    return nonempty, marked


_MARK = "计"  # the last character of every summary mark


def _may_hold(strings: pa.Array | pa.ChunkedArray, text: str) -> bool:
    """False when no string of ``strings`` can hold ``text``: its bytes are in no data buffer.

    (True when unsure, e.g. for other types than strings.)
    """
    needle = text.encode("utf-8")
    chunks = strings.chunks if isinstance(strings, pa.ChunkedArray) else [strings]
    for chunk in chunks:
        if chunk.type not in (pa.string(), pa.large_string()):
            return True
        data = chunk.buffers()[2]
        if data is not None and needle in data.to_pybytes():
            return True
    return False


def mark_nonempty(strings: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Per string: holds a character outside :data:`BLANK_CHARS` (see :func:`is_empty`).

    Most cells start with such a character; their first byte decides. Only cells that are empty
    or start with a byte that may begin a blank character go through the regex.
    """
    chunks = strings.chunks if isinstance(strings, pa.ChunkedArray) else [strings]
    parts = []
    for chunk in chunks:
        offset_type = {pa.string(): np.int32, pa.large_string(): np.int64}.get(chunk.type)
        if offset_type is None or chunk.null_count:
            parts.append(_nonempty_regex(chunk))
            continue
        buffers = chunk.buffers()
        offsets = np.frombuffer(buffers[1], offset_type)[
            chunk.offset : chunk.offset + len(chunk) + 1
        ]
        data = np.frombuffer(buffers[2], np.uint8) if buffers[2] else np.zeros(1, np.uint8)
        first = data[np.minimum(offsets[:-1], len(data) - 1)]
        doubt = np.flatnonzero((offsets[1:] == offsets[:-1]) | _BLANK_LEAD[first])
        nonempty = np.ones(len(chunk), bool)
        if len(doubt):
            nonempty[doubt] = _nonempty_regex(chunk.take(pa.array(doubt)))
        parts.append(nonempty)
    return np.concatenate(parts) if parts else np.zeros(0, bool)


def _nonempty_regex(strings: pa.Array) -> np.ndarray:
    return pc.match_substring_regex(strings, _NONBLANK_RE).to_numpy(zero_copy_only=False)
