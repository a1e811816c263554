"""Raw folder → processed tables + facts, the step every command starts with."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from qyzj_analytics.contract.model import Contract
from qyzj_analytics.errors import DataError
from qyzj_analytics.fsnames import readable_name
from qyzj_analytics.ingest.clean import clean_exports
from qyzj_analytics.ingest.discover import classify_file, walk_raw_dir
from qyzj_analytics.ingest.early import EarlyRead
from qyzj_analytics.ingest.facts import Facts, load_facts
from qyzj_analytics.ingest.processed import CleanResult
from qyzj_analytics.ingest.quality import summarize_quality
from qyzj_analytics.ingest.read import read_raw_dir


@dataclass(frozen=True)
class Prepared:
    """Cleaned exports and facts of one raw folder."""

    raw_dir: Path
    clean: CleanResult
    facts: Facts
    facts_found: bool = True  # False: the folder has no facts.yaml (the empty facts are used)

    @property
    def missing_tables(self) -> tuple[str, ...]:
        """Tables whose export is absent from the raw folder (DESIGN "Missing tables")."""
        return self.clean.missing_tables

    @property
    def quality(self) -> dict[str, dict[str, int]]:
        """Per-table row counts (DESIGN's ``quality``)."""
        return summarize_quality(self.clean)


def prepare(
    raw_dir: Path, contract: Contract, early: EarlyRead | None = None, issues: bool = True
) -> Prepared:
    """Read, clean and dedupe every export in ``raw_dir`` and load its ``facts.yaml``.

    ``early``: a CSV body already being read (:func:`~qyzj_analytics.ingest.early.start_early_read`).
    ``issues`` False: the rejected rows, duplicates and warnings are counted (``quality``) but
    not listed (``clean.issues`` fails on look-up), for a command that shows none of them.

    Raises:
        DataError: any file could not be used (all such problems in one message), the folder
            holds no recognised export at all, or a bad ``facts.yaml``.
    """
    if not raw_dir.is_dir():
        raise missing_folder_error(raw_dir)
    exports = read_raw_dir(raw_dir, early)
    if exports.errors:
        if len(exports.errors) == 1:
            raise exports.errors[0]
        raise DataError(
            f"{len(exports.errors)} 个文件无法使用:\n  " + "\n  ".join(map(str, exports.errors))
        )
    if not exports.tables:
        raise no_exports_error(raw_dir, exports.notes)
    facts = load_facts(
        exports.facts_path,
        set(contract.award_points),
        readable_name(exports.facts_path.relative_to(raw_dir).as_posix())
        if exports.facts_path
        else None,
    )
    result = clean_exports(exports, contract.closed_statuses, issues)
    return Prepared(raw_dir, result, facts, exports.facts_path is not None)


def missing_folder_error(raw_dir: Path) -> DataError:
    """The error of a raw folder that does not exist or is not a folder (exit 3)."""
    folder = readable_name(str(raw_dir)).replace("/", os.sep)
    what = "不是文件夹" if raw_dir.exists() else "不存在"
    return DataError(f"原始数据文件夹{what}: {folder}")


def no_exports_error(raw_dir: Path, notes: list[str] | None = None) -> DataError:
    """The error of a raw folder without any recognised export (exit 3, nothing is written)."""
    seen = f"；已忽略的文件：{'；'.join(notes)}" if notes else ""
    folder = readable_name(str(raw_dir)).replace("/", os.sep)
    return DataError(  # a folder, not a file: named in the message, not as a Location
        f"文件夹 {folder}: 原始数据文件夹中没有任何可识别的导出（xlsx/xls/csv），"
        f"无法计算任何指标，未写出任何结果{seen}"
    )


def require_exports(raw_dir: Path) -> None:
    """Fail fast, before anything is written, when ``raw_dir`` holds no spreadsheet at all.

    Only file names are looked at (:func:`~qyzj_analytics.ingest.discover.classify_file`);
    :func:`prepare` makes the full check on the tables it recognises.

    Raises:
        DataError: no file of the folder would be read as an export.
    """
    if not raw_dir.is_dir():
        raise missing_folder_error(raw_dir)
    walk = walk_raw_dir(raw_dir)
    if any(is_error for *_, is_error in walk.problems):
        return  # an unreadable folder or odd file may be the export: prepare() names it
    if not any(classify_file(p, raw_dir)[0] == "read" for p, _ in walk.files):
        raise no_exports_error(raw_dir)
