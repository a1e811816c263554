"""Walking an xlsx sheet's cells in order, and writing a copy of a workbook without its far cells.

:func:`walk_cells` follows the ``<row>`` and ``<c>`` elements of a sheet's XML as bytes (chunked,
any namespace prefix; a cell without ``r`` follows the previous one). :func:`write_patched`
rewrites the workbook in memory: each listed sheet keeps only the cells of its data block, its
``<dimension>`` set to that block, and the far cells with a value are returned as
:class:`~qyzj_analytics.ingest.sheetcells.FarCell` s (shared strings resolved).
"""

from __future__ import annotations

import html
import io
import re
import shutil
import zipfile
from collections.abc import Callable
from typing import IO

from qyzj_analytics.ingest.sheetcells import FarCell, column_index

# visit(row, col, attrs, content) -> keep the cell (both 0-based; content b"" when self-closing)
Visit = Callable[[int, int, bytes, bytes], bool]

_PREFIX = rb"(?:[A-Za-z_][\w.-]*:)?"
_TAG_RE = re.compile(rb"<" + _PREFIX + rb"(row|c)(?=[\s/>])([^>]*)>")
_END_C_RE = re.compile(rb"</" + _PREFIX + rb"c\s*>")
_R_RE = re.compile(rb"\sr\s*=\s*[\"']([A-Z]*)(\d*)[\"']")
_T_RE = re.compile(rb"\st\s*=\s*[\"'](\w+)[\"']")
_VALUE_RE = re.compile(rb"<" + _PREFIX + rb"(?:v|is|f)[\s/>]")
_V_RE = re.compile(rb"<" + _PREFIX + rb"v(?:\s[^>]*)?>(.*?)</" + _PREFIX + rb"v>", re.S)
_F_RE = re.compile(rb"<" + _PREFIX + rb"f(?:\s[^>]*)?>(.*?)</" + _PREFIX + rb"f>", re.S)
_TEXT_RE = re.compile(rb"<" + _PREFIX + rb"t(?:\s[^>]*)?>(.*?)</" + _PREFIX + rb"t>", re.S)
_DIMENSION_RE = re.compile(rb"(<" + _PREFIX + rb"dimension\s[^>]*?ref=[\"'])[^\"']*")
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_CHUNK = 1 << 20


def walk_cells(fh: IO[bytes], visit: Visit, out: IO[bytes] | None = None) -> None:
    """Call ``visit`` on every cell of the sheet XML in ``fh``; write the XML to ``out`` without
    the cells ``visit`` does not keep."""
    row, col = -1, -1
    carry = b""
    more = True
    while more:
        chunk = fh.read(_CHUNK)
        more = bool(chunk)
        window = carry + chunk
        emitted = pos = 0
        stop = window.rfind(b"<") if more else -1  # a tag may go on in the next chunk
        stop = len(window) if stop < 0 else stop
        while m := _TAG_RE.search(window, pos, stop):
            attrs = m[2]
            ref = _R_RE.search(attrs)
            if m[1] == b"row":
                row = int(ref[2]) - 1 if ref and ref[2] else row + 1
                col, pos = -1, m.end()
                continue
            end, content = m.end(), b""
            if not attrs.endswith(b"/"):
                close = _END_C_RE.search(window, m.end())
                if close is None and more:
                    stop = m.start()  # the cell goes on in the next chunk
                    break
                close_at = close.start() if close else len(window)
                end = close.end() if close else len(window)
                content = window[m.end() : close_at]
            if ref and ref[2]:
                row = int(ref[2]) - 1
            col = column_index(ref[1].decode()) if ref and ref[1] else col + 1
            if not visit(row, col, attrs, content) and out is not None:
                out.write(window[emitted : m.start()])
                emitted = end
            pos = end
        stop = max(stop, pos)
        if out is not None:
            out.write(window[emitted:stop])
        carry = window[stop:]


def has_value(content: bytes) -> bool:
    """True when a cell's content holds a value, an inline string or a formula."""
    return bool(content) and _VALUE_RE.search(content) is not None


def cell_text(attrs: bytes, content: bytes) -> tuple[str, bool]:
    """A cell's value as written, and whether it is an index into the shared strings."""
    kind = _T_RE.search(attrs)
    kind_text = kind[1].decode() if kind else ""
    if kind_text == "inlineStr":
        return html.unescape(b"".join(_TEXT_RE.findall(content)).decode("utf-8", "replace")), False
    value = _V_RE.search(content)
    if value is None:
        formula = _F_RE.search(content)
        text = html.unescape(formula[1].decode("utf-8", "replace")).strip() if formula else ""
        return (f"={text}" if text else "=FORMULA()"), False
    return html.unescape(value[1].decode("utf-8", "replace")).strip(), kind_text == "s"


def write_patched(
    zf: zipfile.ZipFile, blocks: dict[str, tuple[int, int]]
) -> tuple[bytes, dict[str, list[FarCell]]]:
    """A copy of the workbook in which each sheet member of ``blocks`` keeps only the cells of its
    block ``(rows, columns)`` from A1; per member, the far cells with a value it left out."""
    buffer = io.BytesIO()
    far: dict[str, list[FarCell]] = {}
    shared: dict[int, list[tuple[str, int]]] = {}  # string index -> (member, far cell position)
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in zf.infolist():
            with zf.open(info) as src, dst.open(_fresh_info(info), "w") as out:
                if info.filename not in blocks:
                    shutil.copyfileobj(src, out, _CHUNK)
                    continue
                n_rows, n_cols = blocks[info.filename]
                keep = _keep_block(info.filename, n_rows, n_cols, far, shared)
                walk_cells(src, keep, _DimensionWriter(out, n_rows, n_cols))  # type: ignore[arg-type]
    if shared:
        _resolve_shared(zf, shared, far)
    return buffer.getvalue(), far


def _keep_block(
    member: str,
    n_rows: int,
    n_cols: int,
    far: dict[str, list[FarCell]],
    shared: dict[int, list[tuple[str, int]]],
) -> Visit:
    """A visitor keeping the cells of the block; the far ones with a value go to ``far``."""
    cells = far.setdefault(member, [])

    def keep(row: int, col: int, attrs: bytes, content: bytes) -> bool:
        if row < n_rows and col < n_cols:
            return True
        if has_value(content):
            text, indexed = cell_text(attrs, content)
            if indexed and text.isdigit():
                shared.setdefault(int(text), []).append((member, len(cells)))
            cells.append(FarCell(row, col, text))
        return False

    return keep


def _fresh_info(info: zipfile.ZipInfo) -> zipfile.ZipInfo:
    """The member's name and date, compressed (sizes and CRC are those of the new content)."""
    fresh = zipfile.ZipInfo(info.filename, info.date_time)
    fresh.compress_type = zipfile.ZIP_DEFLATED
    return fresh


class _DimensionWriter:
    """Writes through to ``out``, setting the first ``<dimension ref>`` to the data block."""

    def __init__(self, out: IO[bytes], n_rows: int, n_cols: int) -> None:
        self._out = out
        self._ref = f"A1:{_column_letters(n_cols - 1)}{n_rows}".encode()
        self._done = False

    def write(self, data: bytes) -> int:
        if not self._done and data:
            data, n = _DIMENSION_RE.subn(lambda m: m[1] + self._ref, data, count=1)
            self._done = n > 0 or b"sheetData" in data
        return self._out.write(data)


def _column_letters(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _resolve_shared(
    zf: zipfile.ZipFile, wanted: dict[int, list[tuple[str, int]]], far: dict[str, list[FarCell]]
) -> None:
    """Replace the shared-string indices of far cells by the strings (streamed, only those)."""
    from xml.etree import ElementTree

    member = next((n for n in zf.namelist() if n.lower().endswith("sharedstrings.xml")), None)
    if member is None:
        return
    index = 0
    with zf.open(member) as fh:
        for _, elem in ElementTree.iterparse(fh):
            if elem.tag != f"{_MAIN}si":
                continue
            for name, position in wanted.get(index, []):
                cell = far[name][position]
                far[name][position] = FarCell(cell.row, cell.col, _si_text(elem))
            index += 1
            elem.clear()


def _si_text(si: object) -> str:
    """The text of a shared string item (its runs joined, phonetic guides left out)."""
    parts = []
    for child in si:  # type: ignore[attr-defined]
        if child.tag == f"{_MAIN}t":
            parts.append(child.text or "")
        elif child.tag == f"{_MAIN}r":
            t = child.find(f"{_MAIN}t")
            parts.append(t.text or "" if t is not None else "")
    return "".join(parts)
