"""Reading Excel workbooks (xlsx/xlsm/xls) with python-calamine: every sheet with a known header."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Literal

from qyzj_analytics.errors import DataError, Location
from qyzj_analytics.ingest.biff import prepare_xls
from qyzj_analytics.ingest.farcells import attach_far_cells
from qyzj_analytics.ingest.headers import read_grid
from qyzj_analytics.ingest.parse import is_empty
from qyzj_analytics.ingest.raw import RawTable
from qyzj_analytics.ingest.schemas import NO_ALIASES, HeaderAliases
from qyzj_analytics.ingest.sheetcells import FarCell, Marks, PreparedWorkbook, mark_cells
from qyzj_analytics.ingest.xlsxscan import prepare_xlsx


def read_workbook(
    path: Path,
    name: str,
    aliases: HeaderAliases = NO_ALIASES,
    kind: Literal["xlsx", "xls"] = "xlsx",
) -> tuple[list[RawTable], list[str]]:
    """Every sheet of an xlsx/xls workbook whose header is recognised, plus notes on the rest.

    ``aliases`` adds the headers mapped in ``columns.yaml``; ``kind`` is the format the content
    shows (zip: xlsx, OLE2: xls).

    Raises:
        DataError: the workbook cannot be opened, or no sheet holds a recognised table.
    """
    from python_calamine import CalamineWorkbook

    try:
        prepared = _prepare(path, kind)
    except DataError as exc:
        raise DataError(exc.message, Location(name, exc.location.sheet)) from None
    notes: list[str] = []
    sheets: list[tuple[str, list[list[Any]]]] = []
    try:
        with _open(prepared) as fh:
            workbook = CalamineWorkbook.from_filelike(fh)
            for sheet in workbook.sheet_names:
                try:
                    grid = workbook.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
                except BaseException as exc:  # a Rust panic is no Exception
                    _reraise_interrupt(exc)
                    notes.append(f"{name} / {sheet}: 工作表无法读取（{_describe(exc)}），已跳过")
                    continue
                sheets.append((sheet, grid))
    except BaseException as exc:  # calamine raises its own, panics, zipfile and OS errors
        _reraise_interrupt(exc)
        raise DataError(
            f"无法打开 Excel 文件（文件损坏、被截断或不是 Excel 格式）: {_describe(exc)}",
            Location(name),
        ) from None
    if not sheets and notes:
        raise DataError(
            "没有任何工作表能读取（文件损坏）:\n  " + "\n  ".join(notes), Location(name)
        )
    # error values and uncomputed formulas read as "": the pre-scan marked them
    tables, sheet_notes = read_sheets(sheets, name, prepared.marks, aliases, prepared.far)
    return tables, notes + sheet_notes


def _reraise_interrupt(exc: BaseException) -> None:
    """Let Ctrl-C and exits through; everything else the reader raises is bad input."""
    if isinstance(exc, KeyboardInterrupt | SystemExit | GeneratorExit):
        raise exc


def _describe(exc: BaseException) -> str:
    """The reader's message, on one line and short (a panic's message is Rust's)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:200]


def _prepare(path: Path, kind: str) -> PreparedWorkbook:
    """The pre-scan of the workbook's format: its real extent, marked cells and far cells."""
    return prepare_xls(path) if kind == "xls" else prepare_xlsx(path)


def _open(prepared: PreparedWorkbook) -> io.BufferedIOBase:
    """A binary file object on what the reader should read (the file or its patched copy)."""
    if isinstance(prepared.data, bytes):
        return io.BytesIO(prepared.data)
    return prepared.data.open("rb")


def read_sheets(
    sheets: list[tuple[str, list[list[Any]]]],
    name: str,
    marked: dict[str, Marks] | None = None,
    aliases: HeaderAliases = NO_ALIASES,
    far: dict[str, list[FarCell]] | None = None,
) -> tuple[list[RawTable], list[str]]:
    """The recognised tables of a workbook's sheets (``(sheet name, grid)``), notes on the rest.

    ``marked`` holds each sheet's error and uncomputed-formula cells; ``aliases`` adds the
    headers mapped in ``columns.yaml``; ``far`` the cells the pre-scan left out of each grid.

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
            continue
        attach_far_cells(tables[-1], (far or {}).get(sheet, []))
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
