"""What reading a raw folder produces: the tables found, the files seen and their fate.

:class:`RawTable` holds the data rows below one recognised header with their raw cell values;
:class:`RawFile` one file of the folder; :class:`RawExports` all of them. Cleaning
(:mod:`qyzj_analytics.ingest.clean`) starts from these.
"""

from __future__ import annotations

import mmap
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from qyzj_analytics.errors import DataError
from qyzj_analytics.ingest.schemas import TABLES

Data = bytes | mmap.mmap  # a raw file's content: read, or memory-mapped when large


@dataclass
class MixedRows:
    """Rows of a mixed-encoding CSV read in the other encoding, or in neither (row positions)."""

    encoding: str  # the file's own encoding: utf-8 or gb18030
    other: str  # the encoding the odd rows were read in
    odd: np.ndarray  # positions (as in ``source_row``) of rows read in ``other``
    bad: np.ndarray  # positions of rows in neither encoding (rejected)


@dataclass
class RawTable:
    """The data rows of one recognised sheet (or CSV file), raw values under canonical names."""

    file: str
    sheet: str | None
    table: str
    header_row: int
    headers: list[str]
    frame: pd.DataFrame  # canonical column -> raw cell values (CSV: categorical strings)
    source_row: np.ndarray  # 1-based row number of each data row
    blank: np.ndarray  # bool: every cell empty
    summary: np.ndarray  # bool: first non-empty cell is 合计/总计/小计
    header_of: dict[str, str] = field(default_factory=dict)  # canonical column -> header text
    # canonical column -> (header text, raw values) of each other column with an accepted header
    alternates: dict[str, list[tuple[str, pd.Series]]] = field(default_factory=dict)
    mixed: MixedRows | None = None  # a CSV whose rows are not all in one encoding
    # found before cleaning, each (source row, column, raw value, reason): rows outside the grid
    # rejected on their own (read and rejected rows), and warnings on rows of the grid
    extra_rejected: list[tuple[int, str, str, str]] = field(default_factory=list)
    extra_warnings: list[tuple[int, str, str, str]] = field(default_factory=list)

    def header_text(self, column: str) -> str:
        """The header of canonical ``column`` as the file spells it (for messages)."""
        return self.header_of.get(column) or TABLES[self.table].column(column).headers[0]


@dataclass
class RawFile:
    """One file found in the raw folder, with what became of it."""

    path: str
    size: int
    digest: str | Future[str]  # SHA-256 (hex) of the bytes read, or its computation under way
    status: str  # read | ignored | facts | columns | error
    note: str = ""
    tables: list[str] = field(default_factory=list)
    sheets: list[str] = field(default_factory=list)

    @property
    def sha256(self) -> str:
        """SHA-256 (hex) of the file's bytes as they were read (waits for the hashing thread)."""
        if isinstance(self.digest, Future):
            self.digest = self.digest.result()
        return self.digest

    def as_dict(self) -> dict[str, Any]:
        """The record for ``manifest.json``."""
        return {
            "path": self.path,
            "size": self.size,
            "sha256": self.sha256,
            "status": self.status,
            "note": self.note,
            "tables": self.tables,
            "sheets": self.sheets,
        }


@dataclass
class RawExports:
    """Everything found in a raw folder."""

    tables: list[RawTable]
    files: list[RawFile]
    notes: list[str]
    errors: list[DataError]
    facts_path: Path | None = None
