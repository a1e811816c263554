"""Reading a raw folder: every file in name order, each export's tables, problems collected.

Raw files are opened read-only (large ones memory-mapped) and never written. What a file is
comes from :mod:`~qyzj_analytics.ingest.discover`; workbooks are read by
:mod:`~qyzj_analytics.ingest.xlsx`, CSV files by :mod:`~qyzj_analytics.ingest.delimited`. The
result is a :class:`~qyzj_analytics.ingest.raw.RawExports`; cleaning happens in
:mod:`~qyzj_analytics.ingest.clean`.
"""

from __future__ import annotations

from pathlib import Path

from qyzj_analytics.errors import DataError, Location
from qyzj_analytics.ingest.columns import load_columns
from qyzj_analytics.ingest.delimited import read_csv_export
from qyzj_analytics.ingest.discover import COLUMNS_NAMES, classify_file, walk_raw_dir
from qyzj_analytics.ingest.early import MAP_BYTES, EarlyRead, load_bytes
from qyzj_analytics.ingest.headers import read_grid
from qyzj_analytics.ingest.raw import Data, RawExports, RawFile, RawTable
from qyzj_analytics.ingest.schemas import NO_ALIASES, HeaderAliases
from qyzj_analytics.ingest.sniff import sniff_format
from qyzj_analytics.ingest.workers import hash_later

_MAP_BYTES = MAP_BYTES  # files this large are memory-mapped, not read


def _load(path: Path) -> Data:
    """The bytes of ``path`` (:func:`~qyzj_analytics.ingest.early.load_bytes`)."""
    return load_bytes(path, _MAP_BYTES)


def read_raw_dir(raw_dir: Path, early: EarlyRead | None = None) -> RawExports:
    """Read every export in ``raw_dir`` (recursively, in name order).

    Excel lock files (``~$*``), hidden files and non-spreadsheets are ignored and listed as notes;
    ``facts.yaml`` is remembered for :mod:`facts`. Unreadable folders, broken links and special
    files (FIFOs, devices) are never opened: an error when they may hold an export, else a note
    (:func:`~qyzj_analytics.ingest.discover.walk_raw_dir`). Names not in UTF-8 are shown decoded
    as GBK (the real path is still what is opened). File-level problems are collected, not raised.
    Files are only read, never written; the SHA-256 of each is computed on a worker thread once
    it is read, while the rest is read and cleaned (:attr:`RawFile.sha256` waits for it).
    ``columns.yaml`` at the top of the folder maps extra headers for every export
    (:func:`~qyzj_analytics.ingest.columns.load_columns`). ``early`` is a CSV file's body being
    read since before pandas was imported (:mod:`~qyzj_analytics.ingest.early`): its file's
    bytes are used as they are, and its table when the header ends where it was guessed to.

    Raises:
        DataError: ``columns.yaml`` is invalid (every export's header depends on it).
    """
    aliases = read_column_mapping(raw_dir)
    tables: list[RawTable] = []
    files: list[RawFile] = []
    notes: list[str] = []
    errors: list[DataError] = []
    facts_path: Path | None = None
    walk = walk_raw_dir(raw_dir)
    for name, message, is_error in walk.problems:
        files.append(RawFile(name, 0, "", "error" if is_error else "ignored", message))
        if is_error:
            errors.append(DataError(message, Location(name)))
        else:
            notes.append(f"{name}: {message}")
    for path, name in walk.files:
        mine = early if early is not None and early.path == path else None
        try:
            data = mine.data if mine is not None else _load(path)
        except OSError as exc:
            record = RawFile(name, 0, "", "error", f"无法读取文件: {exc.strerror or exc}")
            files.append(record)
            errors.append(DataError(record.note, Location(name)))
            continue
        record = RawFile(name, len(data), "", "read")
        files.append(record)
        _read_one(path, raw_dir, data, record, tables, notes, errors, aliases, mine)
        # hashed once read: reading a CSV keeps both cores busy, cleaning it mostly one
        record.digest = hash_later(data)
        if record.status == "facts":
            facts_path = path
    return RawExports(tables, files, notes, errors, facts_path)


def read_export_file(path: Path, aliases: HeaderAliases = NO_ALIASES) -> RawExports:
    """One export file read exactly as :func:`read_raw_dir` reads each file of a folder (for
    ``qyzj check``); its folder stands for the raw folder. Problems are collected, not raised."""
    tables: list[RawTable] = []
    notes: list[str] = []
    errors: list[DataError] = []
    name = path.name
    try:
        data = _load(path)
    except OSError as exc:
        record = RawFile(name, 0, "", "error", f"无法读取文件: {exc.strerror or exc}")
        return RawExports([], [record], [], [DataError(record.note, Location(name))])
    record = RawFile(name, len(data), "", "read")
    _read_one(path, path.parent, data, record, tables, notes, errors, aliases)
    return RawExports(tables, [record], notes, errors)


def _read_one(
    path: Path,
    raw_dir: Path,
    data: Data,
    record: RawFile,
    tables: list[RawTable],
    notes: list[str],
    errors: list[DataError],
    aliases: HeaderAliases,
    early: EarlyRead | None = None,
) -> None:
    """Classify one file and read its tables into ``tables`` (problems into ``errors``)."""
    name = record.path
    record.status, record.note = classify_file(path, raw_dir)
    if record.status == "read":
        try:
            found, file_notes = _read_tables(path, name, data, aliases, early)
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


def _read_tables(
    path: Path,
    name: str,
    data: Data,
    aliases: HeaderAliases = NO_ALIASES,
    early: EarlyRead | None = None,
) -> tuple[list[RawTable], list[str]]:
    """The tables of one export, read by what its content is (not its extension), with the
    headers ``columns.yaml`` maps (``aliases``).

    Raises:
        DataError: the file cannot be read as the format its content shows.
    """
    kind = sniff_format(data)
    if kind != "text":  # (imported here: a folder of CSV files never needs them)
        from qyzj_analytics.ingest.markup import read_html_tables, read_spreadsheetml
        from qyzj_analytics.ingest.xlsx import read_sheets, read_workbook
    if kind in ("xlsx", "xls"):
        return read_workbook(path, name, aliases, kind)
    if kind == "html":
        grids = read_html_tables(data, name)
        if len(grids) == 1:
            return [read_grid(grids[0], Location(name), aliases=aliases)], []
        sheets = [(f"表格{i}", g) for i, g in enumerate(grids, start=1)]
        return read_sheets(sheets, name, aliases=aliases)
    if kind == "spreadsheetml":
        return read_sheets(read_spreadsheetml(data, name), name, aliases=aliases)
    try:
        return [read_csv_export(data, name, aliases, early)], []
    except DataError as exc:
        if path.suffix.lower() == ".csv":
            raise
        raise DataError(
            f"扩展名是 {path.suffix}，但内容不是 Excel 工作簿（xlsx/xls）、网页表格或 SpreadsheetML，"
            f"按文本表格也无法读取（文件损坏或格式不明）: {exc.message}",
            Location(name),
        ) from None


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
