"""Reading a raw folder: every file in name order, each export's tables, problems collected.

Raw files are opened read-only (large ones memory-mapped) and never written. What a file is
comes from :mod:`~qyzj_analytics.ingest.discover`; workbooks are read by
:mod:`~qyzj_analytics.ingest.xlsx`, CSV files by :mod:`~qyzj_analytics.ingest.delimited`. The
result is a :class:`~qyzj_analytics.ingest.raw.RawExports`; cleaning happens in
:mod:`~qyzj_analytics.ingest.clean`.
"""

from __future__ import annotations

import mmap
import os
from pathlib import Path

from qyzj_analytics.errors import DataError, Location
from qyzj_analytics.ingest.columns import load_columns
from qyzj_analytics.ingest.delimited import read_csv_export
from qyzj_analytics.ingest.discover import COLUMNS_NAMES, classify_file
from qyzj_analytics.ingest.raw import Data, RawExports, RawFile, RawTable
from qyzj_analytics.ingest.schemas import NO_ALIASES, HeaderAliases
from qyzj_analytics.ingest.workers import hash_later
from qyzj_analytics.ingest.xlsx import read_workbook

_MAP_BYTES = 1 << 24  # files this large are memory-mapped, not read


def _load(path: Path) -> Data:
    """The bytes of ``path``: a read-only memory map for large files (no copy), else a read."""
    with path.open("rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size < max(_MAP_BYTES, 1):  # (an empty file cannot be mapped)
            return fh.read()
        return mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)


def read_raw_dir(raw_dir: Path) -> RawExports:
    """Read every export in ``raw_dir`` (recursively, in name order).

    Excel lock files (``~$*``), hidden files and non-spreadsheets are ignored and listed as notes;
    ``facts.yaml`` is remembered for :mod:`facts`. File-level problems are collected, not raised.
    Files are only read, never written; the SHA-256 of each is computed on a worker thread once
    it is read, while the rest is read and cleaned (:attr:`RawFile.sha256` waits for it).
    ``columns.yaml`` at the top of the folder maps extra headers for every export
    (:func:`~qyzj_analytics.ingest.columns.load_columns`).

    Raises:
        DataError: ``columns.yaml`` is invalid (every export's header depends on it).
    """
    aliases = read_column_mapping(raw_dir)
    tables: list[RawTable] = []
    files: list[RawFile] = []
    notes: list[str] = []
    errors: list[DataError] = []
    facts_path: Path | None = None
    for path in sorted(p for p in raw_dir.rglob("*") if p.is_file()):
        name = path.relative_to(raw_dir).as_posix()
        try:
            data = _load(path)
        except OSError as exc:
            record = RawFile(name, 0, "", "error", f"无法读取文件: {exc}")
            files.append(record)
            errors.append(DataError(record.note, Location(name)))
            continue
        record = RawFile(name, len(data), "", "read")
        files.append(record)
        _read_one(path, raw_dir, data, record, tables, notes, errors, aliases)
        # hashed once read: reading a CSV keeps both cores busy, cleaning it mostly one
        record.digest = hash_later(data)
        if record.status == "facts":
            facts_path = path
    return RawExports(tables, files, notes, errors, facts_path)


def _read_one(
    path: Path,
    raw_dir: Path,
    data: Data,
    record: RawFile,
    tables: list[RawTable],
    notes: list[str],
    errors: list[DataError],
    aliases: HeaderAliases,
) -> None:
    """Classify one file and read its tables into ``tables`` (problems into ``errors``)."""
    name = record.path
    record.status, record.note = classify_file(path, raw_dir)
    if record.status == "read":
        try:
            if path.suffix.lower() == ".csv":
                found, file_notes = [read_csv_export(data, name, aliases)], []
            else:
                found, file_notes = read_workbook(path, name, aliases)
        except DataError as exc:
            record.status, record.note = "error", exc.message
            errors.append(exc)
            return
        tables.extend(found)
        notes.extend(file_notes)
        record.tables = sorted({t.table for t in found})
        record.sheets = [t.sheet for t in found if t.sheet is not None]
    if record.status == "ignored":
        notes.append(f"{name}: {record.note}")


def read_column_mapping(raw_dir: Path) -> HeaderAliases:
    """The header mapping of ``columns.yaml`` at the top of ``raw_dir`` (none: nothing mapped).

    Raises:
        DataError: the file is invalid, or both ``columns.yaml`` and ``columns.yml`` exist.
    """
    try:
        found = sorted(
            p for p in raw_dir.iterdir() if p.name.lower() in COLUMNS_NAMES and p.is_file()
        )
    except OSError:  # no folder, or an unreadable one: the folder walk reports it
        return NO_ALIASES
    if len(found) > 1:
        names = "、".join(p.name for p in found)
        raise DataError(
            f"原始数据文件夹顶层有多个列名映射文件（{names}），请只保留一个", Location(names)
        )
    return load_columns(found[0] if found else None)
