"""What a raw folder is: which files are exports, which is the facts file, whether it is sample data.

Nothing here opens a file's contents; :mod:`qyzj_analytics.ingest.read` reads what
:func:`classify_file` calls a spreadsheet.
"""

from __future__ import annotations

from pathlib import Path

SAMPLE_MARKER = ".qyzj-sample"  # written by `qyzj sample`: the report then carries a sample banner
SPREADSHEET_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".csv"}
FACTS_NAMES = {"facts.yaml", "facts.yml"}
COLUMNS_NAMES = {"columns.yaml", "columns.yml"}  # the column mapping, read at the top only


def is_sample_folder(raw_dir: Path) -> bool:
    """True when ``raw_dir`` was written by ``qyzj sample`` (it holds the marker file)."""
    return (raw_dir / SAMPLE_MARKER).exists()


def classify_file(path: Path, raw_dir: Path) -> tuple[str, str]:
    """What a file of ``raw_dir`` is: ``(status, note)`` with status read, ignored, facts or columns.

    Excel lock files (``~$*``), hidden files and non-spreadsheets are ignored, ``facts.yaml``
    is the facts file, ``columns.yaml`` at the top of the folder the column mapping (one in a
    subfolder is ignored with a note), every other spreadsheet is read (its note empty).

    >>> classify_file(Path("raw/~$a.xlsx"), Path("raw"))[0]
    'ignored'
    >>> classify_file(Path("raw/sub/a.CSV"), Path("raw"))
    ('read', '')
    """
    if path.name.startswith("~$"):
        return "ignored", "Excel 锁定文件（文件正在被打开），已忽略"
    if any(part.startswith(".") for part in path.relative_to(raw_dir).parts):
        return "ignored", "隐藏文件，已忽略"
    if path.name.lower() in FACTS_NAMES:
        return "facts", "手工维护的 facts.yaml"
    if path.name.lower() in COLUMNS_NAMES:
        if path.parent != raw_dir:
            return "ignored", "columns.yaml 只在原始数据文件夹顶层生效，子文件夹中的此文件未使用"
        return "columns", "列名映射 columns.yaml"
    if path.suffix.lower() not in SPREADSHEET_SUFFIXES:
        return "ignored", "不是表格文件（xlsx/xls/csv），已忽略"
    return "read", ""
