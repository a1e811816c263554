"""Error values and uncomputed formulas in an xlsx workbook, which the workbook reader reads as empty.

python-calamine returns ``""`` both for a cell holding an error value (``t="e"``, ``#N/A``) and for
a formula saved without its computed value (``<f>SUM(A1:A3)</f>`` and no ``<v>``), so these cells
would look empty. :func:`scan_marked_cells` finds them in the sheet XML (streamed, and only when
the XML mentions one at all); :func:`mark_cells` writes the error value, or ``=`` and the formula,
into the grid, where :mod:`~qyzj_analytics.ingest.cells` recognises them.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

Marks = dict[tuple[int, int], str]  # (0-based row, 0-based column) -> text for the cell


@dataclass(frozen=True)
class FarCell:
    """A non-empty cell far outside its sheet's data block, left out of the grid the reader builds."""

    row: int  # 0-based
    col: int  # 0-based
    text: str  # the raw value as text (shared strings resolved)


@dataclass
class PreparedWorkbook:
    """What the workbook reader reads after the pre-scan, and what the pre-scan found.

    Attributes:
        data: the file itself, or a patched copy (bytes) whose far cells and false claimed
            dimensions are removed, so the reader never builds a grid larger than the data.
        marks: per sheet name, error-value and uncomputed-formula cells (see :func:`mark_cells`).
        far: per sheet name, the far cells left out of ``data`` (each kept as a rejected row).
    """

    data: Path | bytes
    marks: dict[str, Marks] = field(default_factory=dict)
    far: dict[str, list[FarCell]] = field(default_factory=dict)


_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_REF_RE = re.compile(r"([A-Z]+)(\d+)")
# an error cell or a formula (<f>, <f t="shared" …>, <x:f>) may be in the XML; not <formula1> of
# a data validation, which every ledger template carries
_HINTS = (
    b't="e"',
    b"t='e'",
    *(p + b"f" + e for p in (b"<", b":") for e in (b">", b" ", b"/", b"\n", b"\r", b"\t")),
)
_CHUNK = 1 << 20


def scan_marked_cells(path: Path) -> dict[str, Marks]:
    """Per sheet name: the error-value cells and the formula cells without a value.

    Anything unexpected (not a zip, no workbook part, malformed XML) gives no marks: the
    workbook reader reports what it cannot read.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            found: dict[str, Marks] = {}
            for name, member in sheet_members(zf).items():
                marks = scan_sheet_marks(zf, member) if _mentions_marks(zf, member) else {}
                if marks:
                    found[name] = marks
            return found
    except (OSError, zipfile.BadZipFile, KeyError, ElementTree.ParseError, ValueError):
        return {}


def mark_cells(rows: list[list[Any]], marks: Marks) -> None:
    """Write ``marks`` into the empty cells of ``rows`` (a grid that starts at A1)."""
    for (r, c), text in marks.items():
        if r < len(rows) and c < len(rows[r]) and rows[r][c] in ("", None):
            rows[r][c] = text


def sheet_members(zf: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> the zip member holding its XML."""
    book = ElementTree.fromstring(zf.read("xl/workbook.xml"))
    rels = ElementTree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): r.get("Target", "") for r in rels.iter(f"{_PKG_REL}Relationship")}
    members: dict[str, str] = {}
    for sheet in book.iter(f"{_MAIN}sheet"):
        target = targets.get(sheet.get(f"{_REL}id"), "")
        if target:
            member = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
            members[sheet.get("name", "")] = posixpath.normpath(member)
    return members


def _mentions_marks(zf: zipfile.ZipFile, member: str) -> bool:
    """True when the sheet XML contains a ``t="e"`` or a formula element (a quick byte scan)."""
    tail = b""
    with zf.open(member) as fh:
        while chunk := fh.read(_CHUNK):
            window = tail + chunk
            if any(h in window for h in _HINTS):
                return True
            tail = window[-8:]
    return False


def column_index(letters: str) -> int:
    """The 0-based index of a column named by its letters (``A`` 0, ``XFD`` 16383)."""
    index = 0
    for ch in letters:
        index = index * 26 + ord(ch) - 64
    return index - 1


def scan_sheet_marks(zf: zipfile.ZipFile, member: str) -> Marks:
    """The marked cells of one sheet, streamed (rows are cleared once read)."""
    marks: Marks = {}
    row, col = -1, -1
    with zf.open(member) as fh:
        for event, elem in ElementTree.iterparse(fh, events=("start", "end")):
            if elem.tag == f"{_MAIN}row":
                if event == "start":
                    ref = elem.get("r")
                    row, col = (int(ref) - 1 if ref else row + 1), -1
                else:
                    elem.clear()
            elif elem.tag == f"{_MAIN}c" and event == "end":
                match = _REF_RE.fullmatch(elem.get("r") or "")
                col = column_index(match[1]) if match else col + 1
                text = _mark_of(elem)
                if text is not None:
                    marks[(row, col)] = text
    return marks


def _mark_of(cell: ElementTree.Element) -> str | None:
    """The text to show for an error or uncomputed formula cell; None for any other cell."""
    value = cell.find(f"{_MAIN}v")
    kind = cell.get("t")
    if kind == "e":
        return (value.text or "").strip() if value is not None else None
    formula = cell.find(f"{_MAIN}f")
    if (
        formula is None
        or kind == "inlineStr"
        or (value is not None and (value.text or kind == "str"))
    ):
        return None  # (t="str" with an empty <v> is a formula computed to empty text)
    return f"={formula.text.strip()}" if formula.text and formula.text.strip() else "=FORMULA()"
