"""Pre-scanning an .xls (BIFF8) workbook before python-calamine builds each sheet as a grid."""

from __future__ import annotations

from pathlib import Path

from qyzj_analytics.ingest.sheetcells import PreparedWorkbook


def prepare_xls(path: Path) -> PreparedWorkbook:
    """The .xls workbook at ``path`` ready for the reader."""
    return PreparedWorkbook(path)
