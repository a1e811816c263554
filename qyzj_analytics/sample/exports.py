"""Writing export files the way the platform does: headers, stable xlsx bytes, CSV, messy cells.

Also :class:`Tally`, the data-quality counts a correct cleaner reports, kept while writing.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

from qyzj_analytics.ingest.quality import QUALITY_COLUMNS
from qyzj_analytics.sample.records import pick

EXPORTED_AT = dt.datetime(2026, 1, 6, 9, 30)  # every file's timestamp (xlsx properties, zip)
_EXCEL_EPOCH = dt.date(1899, 12, 30)
_FULLWIDTH = str.maketrans("0123456789-", "０１２３４５６７８９－")

SERVICE_HEADER = (
    "序号",
    "企业名称",
    "统一社会信用代码",
    "服务日期",
    "服务类型",
    "是否规上",
    "联系人",
    "联系电话",
    "身份证号",
    "备注",
)
ACTIVITY_HEADER = (
    "序号",
    "活动名称",
    "活动时间",
    "活动形式",
    "活动类型",
    "活动地点",
    "参与企业数（家）",
    "参与人数",
    "联系人",
    "联系电话",
    "备注",
)
APPEAL_HEADER = (
    "诉求编号",
    "企业名称",
    "提交时间",
    "诉求内容",
    "联系人",
    "联系电话",
    "办理状态",
    "办结时间",
)
TABLES = (
    "activities",
    "services",
    "appeals",
    "publications",
    "institutions",
    "experts",
    "courses",
    "staff",
)


def excel_serial(day: dt.date) -> int:
    """The Excel serial number of ``day`` (1900 date system)."""
    return (day - _EXCEL_EPOCH).days


class _StableZip(zipfile.ZipFile):
    """A zip archive whose entries all carry :data:`EXPORTED_AT`, so the bytes are stable."""

    def writestr(  # type: ignore[override]
        self,
        zinfo_or_arcname: str | zipfile.ZipInfo,
        data: str | bytes,
        compress_type: int | None = None,
        compresslevel: int | None = None,
    ) -> None:
        """Write ``data`` under a fixed timestamp."""
        if not isinstance(zinfo_or_arcname, zipfile.ZipInfo):
            info = zipfile.ZipInfo(zinfo_or_arcname, date_time=EXPORTED_AT.timetuple()[:6])
            info.compress_type = self.compression
            info.external_attr = 0o600 << 16
            zinfo_or_arcname = info
        super().writestr(zinfo_or_arcname, data, compress_type, compresslevel)

    def write(  # type: ignore[override]
        self,
        filename: str | Path,
        arcname: str | None = None,
        compress_type: int | None = None,
        compresslevel: int | None = None,
    ) -> None:
        """Add a file (openpyxl's worksheets) under a fixed timestamp, not the file's mtime."""
        name = arcname if arcname is not None else Path(filename).name
        self.writestr(name, Path(filename).read_bytes(), compress_type, compresslevel)


def new_workbook() -> Workbook:
    """An empty workbook (openpyxl's default sheet removed)."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    return workbook


def save_workbook(workbook: Workbook, path: Path) -> None:
    """Save an openpyxl workbook with fixed timestamps: same content → same bytes."""
    workbook.properties.creator = "企业之家平台"
    workbook.properties.lastModifiedBy = "企业之家平台"
    workbook.properties.created = EXPORTED_AT
    workbook.properties.modified = EXPORTED_AT
    with _StableZip(path, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        ExcelWriter(workbook, archive).save()


def put_rows(sheet: Worksheet, rows: Iterable[Sequence[Any] | None], start: int = 1) -> int:
    """Write rows from row ``start`` (``None`` = a blank row); returns the next free row."""
    r = start
    for row in rows:
        if row is not None:
            for c, value in enumerate(row, start=1):
                if value is not None and value != "":
                    sheet.cell(row=r, column=c, value=value)
        r += 1
    return r


def put_title(sheet: Worksheet, text: str, width: int) -> None:
    """A merged title row across ``width`` columns in row 1."""
    sheet.cell(row=1, column=1, value=text)
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)


def csv_bytes(rows: Iterable[Sequence[Any]], encoding: str, newline: str = "\r\n") -> bytes:
    """``rows`` as CSV text encoded in ``encoding`` (``None`` is an empty cell)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=newline)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return buffer.getvalue().encode(encoding)


def date_cell(
    rng: np.random.Generator, day: dt.date, kinds: Sequence[str], p: Sequence[float]
) -> dt.date | dt.datetime | int | str:
    """One date in a randomly chosen export format (a cell value: date, datetime, int or str)."""
    kind = kinds[int(rng.choice(len(kinds), p=np.asarray(p) / np.sum(p)))]
    hour = int(rng.integers(8, 17))
    minute = int(pick(rng, (0, 0, 15, 30, 45)))
    if kind == "date":
        return day
    if kind == "datetime":
        return dt.datetime.combine(day, dt.time(hour, minute))
    if kind == "slash":
        return f"{day.year}/{day.month}/{day.day}"
    if kind == "dot":
        return f"{day.year}.{day.month}.{day.day}"
    if kind == "iso":
        return day.isoformat()
    if kind == "iso_time":
        return f"{day.isoformat()} {hour:02d}:{minute:02d}"
    if kind == "cn":
        return f"{day.year}年{day.month}月{day.day}日"
    if kind == "cn_range":
        return f"{day.year}年{day.month}月{day.day}日 {hour}:{minute:02d}-{hour + 2}:{minute:02d}"
    if kind == "fullwidth":
        return day.isoformat().translate(_FULLWIDTH)
    if kind == "serial":
        return excel_serial(day)
    if kind == "serial_text":
        return str(excel_serial(day))
    raise ValueError(kind)


def count_cell(rng: np.random.Generator, value: int, unit: str = "家") -> int | str:
    """A count as staff type it: a number, ``12家``, ``约12家``, ``12+``, ``-`` or ``无``."""
    r = rng.random()
    if r < 0.5:
        return value
    if r < 0.65:
        return f"{value}{unit}"
    if r < 0.75:
        return f"约{value}{unit}"
    if r < 0.85:
        return f"{value}+"
    return "-" if r < 0.93 else "无"


@dataclass
class Tally:
    """The counts a correct cleaner should report, kept while writing."""

    quality: dict[str, dict[str, int]] = field(
        default_factory=lambda: {t: dict.fromkeys(QUALITY_COLUMNS, 0) for t in TABLES}
    )

    def add(self, table: str, **counts: int) -> None:
        """Add kept/rejected/duplicate/summary/blank rows of one file; rows read follow."""
        for key, value in counts.items():
            self.quality[table][key] += value
        q = self.quality[table]
        q["rows_read"] = q["rows_kept"] + q["rows_rejected"] + q["duplicates"] + q["summary_rows"]
