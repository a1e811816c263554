"""Shared test helpers: tiny xlsx workbooks and CSV files built in ``tmp_path``."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import openpyxl
import pytest

Rows = Sequence[Sequence[Any]]

TITLE = "乐清市企业之家2025年活动台账"
ACTIVITY_HEADER = ["序号", "活动名称", "活动时间", "活动形式", "参与企业数（家）"]


def write_xlsx(path: Path, sheets: dict[str, Rows], merge_title: bool = False) -> Path:
    """Write ``sheets`` (sheet name → rows from A1; ``None`` is an empty cell) as an xlsx.

    With ``merge_title``, the first row's first cell is merged across the sheet's width, the
    way a title like "乐清市企业之家2025年活动台账" usually is.
    """
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for name, rows in sheets.items():
        sheet = workbook.create_sheet(name)
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row, start=1):
                if value is not None:
                    sheet.cell(row=r, column=c, value=value)
        width = max((len(r) for r in rows), default=1)
        if merge_title and width > 1:
            sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return path


def csv_text(rows: Rows, delimiter: str = ",") -> str:
    """Rows as CSV text (``None`` is an empty cell), lines ending in ``\\n``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return buffer.getvalue()


def write_csv(path: Path, rows: Rows, encoding: str = "utf-8", delimiter: str = ",") -> Path:
    """Write ``rows`` as a CSV file in ``encoding`` (``utf-8-sig`` adds the BOM)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(csv_text(rows, delimiter).encode(encoding))
    return path


def activity_rows(n: int, start_day: int = 1) -> list[list[Any]]:
    """``n`` distinct activity data rows (March 2025) matching :data:`ACTIVITY_HEADER`."""
    return [
        [i + 1, f"政策宣讲会第{i + 1}场", f"2025-03-{start_day + i:02d}", "线下", 10 + i]
        for i in range(n)
    ]


@pytest.fixture
def raw_dir(tmp_path: Path) -> Path:
    """An empty raw-exports folder."""
    path = tmp_path / "raw"
    path.mkdir()
    return path
