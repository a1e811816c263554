"""Reading Excel workbooks (xlsx/xlsm/xls) with python-calamine: every sheet with a known header."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qyzj_analytics.errors import DataError, Location
from qyzj_analytics.ingest.headers import read_grid
from qyzj_analytics.ingest.parse import is_empty
from qyzj_analytics.ingest.raw import RawTable
from qyzj_analytics.ingest.schemas import NO_ALIASES, HeaderAliases
from qyzj_analytics.ingest.sheetcells import Marks, mark_cells, scan_marked_cells


def read_workbook(
    path: Path, name: str, aliases: HeaderAliases = NO_ALIASES
) -> tuple[list[RawTable], list[str]]:
    """Every sheet of an xlsx/xls workbook whose header is recognised, plus notes on the rest.

    ``aliases`` adds the headers mapped in ``columns.yaml``.

    Raises:
        DataError: the workbook cannot be opened, or no sheet holds a recognised table.
    """
    from python_calamine import CalamineWorkbook

    try:
        with path.open("rb") as fh:
            workbook = CalamineWorkbook.from_filelike(fh)
            sheets = [
                (s, workbook.get_sheet_by_name(s).to_python(skip_empty_area=False))
                for s in workbook.sheet_names
            ]
    except Exception as exc:  # calamine raises its own, zipfile and OS errors
        raise DataError(
            f"无法打开 Excel 文件（文件损坏、被截断或不是 Excel 格式）: {exc}", Location(name)
        ) from None
    marked = scan_marked_cells(path)  # error values and uncomputed formulas read as ""
    return read_sheets(sheets, name, marked, aliases)


def read_sheets(
    sheets: list[tuple[str, list[list[Any]]]],
    name: str,
    marked: dict[str, Marks] | None = None,
    aliases: HeaderAliases = NO_ALIASES,
) -> tuple[list[RawTable], list[str]]:
    """The recognised tables of a workbook's sheets (``(sheet name, grid)``), notes on the rest.

    ``marked`` holds each sheet's error and uncomputed-formula cells (xlsx only); ``aliases``
    adds the headers mapped in ``columns.yaml``.

    Raises:
        DataError: no sheet holds a recognised table.
    """
    marked = marked or {}
    tables: list[RawTable] = []
    notes: list[str] = []
    errors: list[DataError] = []
    for sheet, rows in sheets:
        where = Location(name, sheet)
        if not rows or all(all(is_empty(c) for c in r) for r in rows):
            notes.append(f"{name} / {sheet}: 空工作表，已跳过")
            continue
        mark_cells(rows, marked.get(sheet, {}))
        try:
            tables.append(read_grid(rows, where, aliases=aliases))
        except DataError as exc:
            errors.append(exc)
    if not tables:
        if errors:
            raise (
                errors[0]
                if len(errors) == 1
                else DataError(
                    "没有任何工作表能识别出表头:\n  " + "\n  ".join(str(e) for e in errors),
                    Location(name),
                )
            )
        raise DataError("工作簿为空，没有任何内容", Location(name))
    notes.extend(f"{e}（该工作表已跳过）" for e in errors)
    return tables, notes
