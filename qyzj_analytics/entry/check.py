"""``qyzj check FILE…``: a ledger checked before it is handed over, with the reader and cleaner of
``qyzj clean`` (nothing of theirs is repeated here).

Each file is read on its own (:func:`~qyzj_analytics.ingest.read.read_export_file`) with the
``columns.yaml`` of its folder, cleaned (:func:`~qyzj_analytics.ingest.clean.clean_exports`), and
every rejected row and warning is printed with file, sheet, row (as Excel shows it) and column;
cell values are shown only as their shape when they may be personal data
(:func:`~qyzj_analytics.ingest.quality.show_value`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from qyzj_analytics.contract.model import Contract
from qyzj_analytics.errors import DataError, Location
from qyzj_analytics.fsnames import readable_name
from qyzj_analytics.ingest.clean import clean_exports
from qyzj_analytics.ingest.quality import describe_reason, show_value
from qyzj_analytics.ingest.read import read_column_mapping, read_export_file
from qyzj_analytics.ingest.schemas import TABLES

# sheets of a template the reader skips on purpose: no note about them
TEMPLATE_SHEETS = ("填表说明", "下拉列表")


@dataclass
class FileCheck:
    """What checking one file found: lines to print and whether every row is usable."""

    name: str
    lines: list[str] = field(default_factory=list)
    usable: bool = True
    verdict: str = ""


def check_files(paths: Sequence[Path], contract: Contract) -> list[FileCheck]:
    """Check each file on its own; one :class:`FileCheck` per path, in order."""
    return [check_file(path, contract) for path in paths]


def check_file(path: Path, contract: Contract) -> FileCheck:
    """Read and clean one file as ``qyzj clean`` would; list its rejected rows and warnings."""
    name = readable_name(str(path))
    result = FileCheck(name)
    if not path.is_file():
        result.usable = False
        result.verdict = f"不通过：{name} 不存在或不是文件"
        return result
    try:
        exports = read_export_file(path, read_column_mapping(path.parent))
    except DataError as exc:  # a bad columns.yaml beside the file
        return _unusable(result, str(exc))
    record = exports.files[0]
    if record.status != "read":
        return _unusable(result, f"{name}: {record.note or '不是可读取的表格文件（xlsx/xls/csv）'}")
    if exports.errors:
        return _unusable(result, "\n".join(str(e) for e in exports.errors))
    clean = clean_exports(exports, contract.closed_statuses)
    result.lines += [f"拒绝  {line}" for line in describe_issues(clean.rejected)]
    result.lines += [f"警告  {line}" for line in describe_issues(clean.warnings)]
    result.lines += [f"提示  {note}" for note in exports.notes if not _template_note(note)]
    files = clean.files
    rejected = int(files["rows_rejected"].sum())
    result.usable = rejected == 0
    tables = "、".join(dict.fromkeys(TABLES[t].name_zh for t in files["table"]))
    counts = (
        f"{tables}：读取 {int(files['rows_read'].sum())} 行，保留 {int(files['rows_kept'].sum())}，"
        f"拒绝 {rejected}，重复 {int(files['duplicates'].sum())}，"
        f"合计行 {int(files['summary_rows'].sum())}；警告 {len(clean.warnings)}"
    )
    if result.usable:
        result.verdict = f"通过：{name}（{counts}）"
    else:
        result.verdict = f"不通过：{name} 有 {rejected} 行被拒绝，改正后再交（{counts}）"
    return result


def _unusable(result: FileCheck, message: str) -> FileCheck:
    result.usable = False
    result.lines.append(f"无法使用  {message}")
    result.verdict = f"不通过：{result.name} 无法读取为导出，见上"
    return result


def _template_note(note: str) -> bool:
    """A note about a template's own instructions or list sheet (skipped on purpose)."""
    return any(f"工作表 {s}:" in note or f"工作表 {s}," in note for s in TEMPLATE_SHEETS)


def describe_issues(issues: pd.DataFrame) -> Iterable[str]:
    """Each issue as ``文件 a.xlsx, 工作表 活动台账, 第 5 行, 列 活动时间: 原因（值: 形状）``, in
    file and row order. The reason drops the value it quotes; the value shows as
    :func:`~qyzj_analytics.ingest.quality.show_value` allows."""
    if issues.empty:
        return []
    frame = issues.sort_values(["source_file", "source_sheet", "source_row"], kind="stable")
    lines = []
    for r in frame.itertuples(index=False):
        sheet = r.source_sheet if isinstance(r.source_sheet, str) and r.source_sheet else None
        where = Location(r.source_file, sheet, int(r.source_row), str(r.column)).describe()
        shown = show_value(r.value)
        value = f"（值: {shown}）" if shown else "（空）"
        lines.append(f"{where}: {describe_reason(r.reason)}{value}")
    return lines


def format_checks(checks: Sequence[FileCheck]) -> str:
    """The report of ``qyzj check``: each file's lines, then its verdict."""
    out = []
    for check in checks:
        out += check.lines
        out.append(check.verdict)
    if len(checks) > 1:
        bad = sum(not c.usable for c in checks)
        out.append(f"共 {len(checks)} 个文件：{len(checks) - bad} 个通过，{bad} 个不通过")
    return "\n".join(out)
