"""Pre-scanning an xlsx workbook before python-calamine builds each sheet as one dense grid."""

from __future__ import annotations

from pathlib import Path

from qyzj_analytics.ingest.sheetcells import PreparedWorkbook, scan_marked_cells


def prepare_xlsx(path: Path) -> PreparedWorkbook:
    """The xlsx workbook at ``path`` ready for the reader, with its marked cells."""
    return PreparedWorkbook(path, marks=scan_marked_cells(path))
