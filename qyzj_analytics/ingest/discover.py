"""What a raw folder is: which files are exports, which is the facts file, whether it is sample data.

Nothing here opens a file: :func:`walk_raw_dir` lists a folder with ``os.scandir``/``stat``
only, so a FIFO named like an export never blocks; :mod:`qyzj_analytics.ingest.read` reads what
:func:`classify_file` calls a spreadsheet.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from qyzj_analytics.fsnames import readable_name

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


@dataclass
class Walk:
    """What a raw folder holds: regular files to read, and everything that cannot be read.

    ``files`` pairs each file's real path (for opening) with its readable name relative to the
    folder (``/``-separated, GBK names decoded: :func:`~qyzj_analytics.fsnames.readable_name`).
    ``problems`` are ``(name, message, is_error)``: an error when the thing may hold an export
    (an unreadable folder, a FIFO or a broken link named like an export), a note otherwise.
    """

    files: list[tuple[Path, str]] = field(default_factory=list)
    problems: list[tuple[str, str, bool]] = field(default_factory=list)


def _odd_kind(mode: int) -> str:
    """What a file that is neither a regular file nor a folder is, in words."""
    if stat.S_ISFIFO(mode):
        return "命名管道（FIFO）"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "设备文件"
    if stat.S_ISSOCK(mode):
        return "套接字"
    return "特殊文件"


def walk_raw_dir(raw_dir: Path) -> Walk:
    """Every file under ``raw_dir`` (recursively, links followed once), classified by lstat/stat.

    Nothing is opened: a FIFO would block the reader. Unreadable folders, broken links and
    special files are listed in :attr:`Walk.problems`, never skipped silently.
    """
    walk = Walk()
    seen: set[tuple[int, int]] = set()
    _walk_into(raw_dir, raw_dir, walk, seen)
    walk.files.sort(key=lambda item: item[0])
    walk.problems.sort()
    return walk


def _walk_into(folder: Path, raw_dir: Path, walk: Walk, seen: set[tuple[int, int]]) -> None:
    """Add the contents of ``folder`` (and its subfolders) to ``walk``."""
    rel = folder.relative_to(raw_dir).as_posix()
    try:
        info = os.stat(folder)
        if (info.st_dev, info.st_ino) in seen:
            return  # a link back to a folder already walked
        seen.add((info.st_dev, info.st_ino))
        with os.scandir(folder) as it:
            entries = list(it)
    except OSError as exc:
        name = readable_name(rel)
        hidden = any(p.startswith(".") for p in Path(rel).parts)
        reason = "权限不足" if isinstance(exc, PermissionError) else (exc.strerror or str(exc))
        if hidden:
            walk.problems.append((name, f"隐藏文件夹无法读取（{reason}），已忽略", False))
        else:
            walk.problems.append(
                (name, f"无法读取子文件夹（{reason}），其中可能有导出；请检查权限后重试", True)
            )
        return
    for entry in entries:
        path = Path(entry.path)
        try:
            mode = entry.stat().st_mode  # follows links
        except OSError:
            mode = None
        if mode is not None and stat.S_ISDIR(mode):
            _walk_into(path, raw_dir, walk, seen)
            continue
        name = readable_name(path.relative_to(raw_dir).as_posix())
        if mode is not None and stat.S_ISREG(mode):
            walk.files.append((path, name))
            continue
        what = "链接指向的文件不存在（断开的符号链接）" if mode is None else _odd_kind(mode)
        status, note = classify_file(path, raw_dir)
        if status == "ignored":
            walk.problems.append((name, f"{what}，{note}", False))
            continue
        walk.problems.append(
            (name, f"{what}，不是普通文件，未读取；请换成真正的导出文件或移走它", True)
        )
