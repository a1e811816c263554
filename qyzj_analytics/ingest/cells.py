"""Cells that hold no value of their own: Excel error values and formulas saved uncomputed.

Excel writes ``#N/A``, ``#VALUE!`` ... as a cell's value when a formula fails; CSV exports keep
them as text. Many tools save formulas without a computed value (the workbook reader finds an
empty cell; :mod:`~qyzj_analytics.ingest.sheetcells` marks it with the formula text). Such a cell
is neither a value nor empty: :func:`note_cell` names it, so cleaning rejects it with its own
reason in a required column and treats it as missing, with a warning, in an optional one.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Any, NamedTuple

from qyzj_analytics.ingest.parse import date_note

FORMULA_NOTE = "公式未计算，请用 Excel 打开并保存"
ERROR_VALUES = (
    "#N/A",
    "#VALUE!",
    "#REF!",
    "#DIV/0!",
    "#NAME?",
    "#NUM!",
    "#NULL!",
    "#GETTING_DATA",
    "#SPILL!",
    "#CALC!",
    "#FIELD!",
    "#BLOCKED!",
    "#CONNECT!",
    "#BUSY!",
    "#UNKNOWN!",
)
_ERRORS = {e.casefold(): e for e in ERROR_VALUES}
_MARK_RE = re.compile(r"\s*[#=＃＝]")  # a cheap first look (most cells are not these)
_FORMULA_RE = re.compile(r"^=\s*[A-Za-z_$(+\-\d'\"]")


class CellNote(NamedTuple):
    """Something to say about a cell: ``bad`` means it holds no usable value (``text`` says why);
    otherwise its value is kept and ``text`` is a warning."""

    text: str
    bad: bool


def cell_problem(value: Any) -> str | None:
    """Why a cell holds no usable value: an error value or an uncomputed formula; else None.

    >>> cell_problem("#N/A"), cell_problem("=SUM(A1:A3)"), cell_problem("3")
    ('单元格为错误值 #N/A', '公式未计算，请用 Excel 打开并保存', None)
    """
    if type(value) is not str or not _MARK_RE.match(value):
        return None
    text = unicodedata.normalize("NFKC", value).strip()
    if not text or text[0] not in "#=":
        return None
    error = _ERRORS.get(text.casefold())
    if error is not None:
        return f"单元格为错误值 {error}"
    return FORMULA_NOTE if _FORMULA_RE.match(text) else None


_MARKS = frozenset("#=＃＝ \t\u3000")  # a first character that may start an error or formula
_ANY_MARK_RE = re.compile("(?:^|\0)[#=＃＝ \t\u3000]")


def _note_cells(values: list[Any]) -> dict[int, CellNote]:
    """Position -> note of the values holding no usable value (most values are skipped at once)."""
    try:  # text only (a CSV column): one search over all of it finds none in the common case
        if not _ANY_MARK_RE.search("\0".join(values)):
            return {}
    except TypeError:  # numbers, dates ... among the values
        pass
    marks = _MARKS
    notes: dict[int, CellNote] = {}
    for i in [i for i, v in enumerate(values) if type(v) is str and v[:1] in marks]:
        problem = cell_problem(values[i])
        if problem is not None:
            notes[i] = CellNote(problem, True)
    return notes


def _note_date_cells(values: list[Any]) -> dict[int, CellNote]:
    """:func:`_note_cells`, plus the warnings for dates read with a range or a weekday."""
    notes = _note_cells(values)
    for i, value in enumerate(values):
        if i not in notes:
            warning = date_note(value)
            if warning is not None:
                notes[i] = CellNote(warning, False)
    return notes


def cell_noter(kind: str) -> Callable[[list[Any]], dict[int, CellNote]]:
    """The function noting the distinct raw cells of a column of ``kind`` (see :class:`CellNote`)."""
    return _note_date_cells if kind == "date" else _note_cells
