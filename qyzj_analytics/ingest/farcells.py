"""Far cells (left out of a sheet's grid by the pre-scan) kept as rejected rows or warnings.

A far cell in a row of its own becomes a rejected row of the sheet's table, its reason naming the
cell; a far cell on a data row adds a warning to that row. So no value is lost, and the counts
still add up (a rejected far row is a row read).
"""

from __future__ import annotations

from itertools import groupby

from qyzj_analytics.ingest.raw import RawTable
from qyzj_analytics.ingest.sheetcells import FarCell

FAR_ROW_REASON = "远离数据区的孤立单元格，未读入数据"
FAR_CELL_REASON = "该行远离数据区的单元格未读入数据"


def attach_far_cells(raw: RawTable, cells: list[FarCell]) -> None:
    """Record ``cells`` on ``raw``: rows of their own as rejected rows, others as warnings."""
    first_body_row = raw.header_row + 1  # the Excel row number of the first data row
    for row, group in groupby(sorted(cells, key=lambda c: (c.row, c.col)), key=lambda c: c.row):
        found = list(group)
        number = row + 1
        at = number - first_body_row
        if 0 <= at < len(raw.blank) and not raw.blank[at]:
            raw.extra_warnings.extend(
                (number, cell_ref(c), c.text, f"{FAR_CELL_REASON}: {cell_ref(c)}") for c in found
            )
            continue
        refs = "、".join(cell_ref(c) for c in found[:3]) + (
            f" 等 {len(found)} 个单元格" if len(found) > 3 else ""
        )
        first = found[0]
        raw.extra_rejected.append(
            (number, cell_ref(first), first.text, f"{FAR_ROW_REASON}: {refs}")
        )


def cell_ref(cell: FarCell) -> str:
    """The cell's reference as Excel shows it (``XFD1048576``)."""
    letters, index = "", cell.col + 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return f"{letters}{cell.row + 1}"
