"""Bounded xlsx reading: far cells, false dimensions and reader panics (issue 10 item 1).

A far cell would make python-calamine allocate a grid of up to ~550 GB, so every file that could
do so is read by ``qyzj clean`` in a child process with a memory cap and a timeout: a regression
fails the test instead of exhausting the machine.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from conftest import ACTIVITY_HEADER, activity_rows, write_xlsx

from qyzj_analytics.cli import main
from qyzj_analytics.ingest import xlsxscan
from qyzj_analytics.ingest.issuegroups import read_issue_csv
from qyzj_analytics.ingest.xlsx import read_workbook

ROOT = Path(__file__).resolve().parents[1]
MEMORY_CAP = 2 << 30  # bytes of address space for the child process (Linux)


def _limit_memory() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def _clean_capped(raw: Path, out: Path) -> subprocess.CompletedProcess[str]:
    """``qyzj clean`` in a child process, its memory capped (on Linux) and timed out."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "qyzj_analytics.cli", "clean", "--raw", str(raw), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        preexec_fn=_limit_memory if sys.platform.startswith("linux") else None,
    )


def _with_sheet_xml(path: Path, edit) -> Path:
    """Rewrite the first sheet's XML of the workbook at ``path`` with ``edit`` (bytes -> bytes)."""
    with zipfile.ZipFile(path) as src:
        members = [(info, src.read(info)) for info in src.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info, data in members:
            dst.writestr(info, edit(data) if info.filename == "xl/worksheets/sheet1.xml" else data)
    return path


def _far_cell(ref: str, value: str = "13812345678") -> callable:
    row = re.sub(r"[A-Z]", "", ref)
    cell = f'<row r="{row}"><c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c></row>'
    return lambda xml: xml.replace(b"</sheetData>", cell.encode() + b"</sheetData>")


def _activities(raw: Path, n: int = 20) -> Path:
    return write_xlsx(raw / "活动.xlsx", {"活动": [ACTIVITY_HEADER, *activity_rows(n)]})


@pytest.mark.parametrize("ref", ["XFD1048576", "A1048576", "XFD5000"])
def test_a_far_cell_is_a_rejected_row_not_a_huge_grid(raw_dir: Path, tmp_path: Path, ref: str):
    _with_sheet_xml(_activities(raw_dir), _far_cell(ref))
    done = _clean_capped(raw_dir, tmp_path / "out")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    rejected = pd.read_parquet(tmp_path / "out" / "rejected.parquet")
    far = rejected[rejected["reason"].str.contains(ref)]
    assert len(far) == 1
    assert far.iloc[0]["reason"].startswith("远离数据区的孤立单元格")
    assert str(far.iloc[0]["source_row"]) == re.sub(r"[A-Z]", "", ref)
    grouped = read_issue_csv(tmp_path / "out" / "rejected.csv", dtype=str)
    far_groups = grouped[grouped["reason"] == "远离数据区的孤立单元格，未读入数据"]
    assert far_groups[["rows", "example_rows"]].values.tolist() == [
        ["1", re.sub(r"[A-Z]", "", ref)]
    ]
    quality = read_issue_csv(tmp_path / "out" / "quality.csv")
    row = quality[quality["table"] == "activities"].iloc[0]
    assert (row["rows_read"], row["rows_kept"], row["rows_rejected"]) == (21, 20, 1)


def test_a_false_claimed_dimension_reads_normally(raw_dir: Path, tmp_path: Path) -> None:
    claim = b'<dimension ref="A1:XFD1048576"'
    _with_sheet_xml(_activities(raw_dir), lambda x: re.sub(rb'<dimension ref="[^"]*"', claim, x))
    done = _clean_capped(raw_dir, tmp_path / "out")
    assert done.returncode == 0, done.stderr[-2000:]
    quality = read_issue_csv(tmp_path / "out" / "quality.csv")
    assert quality.loc[quality["table"] == "activities", "rows_kept"].item() == 20


def test_a_far_cell_on_a_data_row_is_a_warning_on_that_row(tmp_path: Path, monkeypatch) -> None:
    # (a small grid even unpatched: 21 rows x 16384 columns, safe to read in this process)
    path = _with_sheet_xml(
        _activities(tmp_path),
        lambda x: x.replace(
            b'</c></row><row r="5">', b'</c><c r="XFD4"><v>99</v></c></row><row r="5">'
        ),
    )
    monkeypatch.setattr(xlsxscan, "CELL_BUDGET", 1000)
    (raw,), _ = read_workbook(path, "活动.xlsx")
    assert raw.headers == ACTIVITY_HEADER  # the grid is the data block: 5 columns
    assert raw.extra_rejected == []
    assert raw.extra_warnings == [(4, "XFD4", "99", "该行远离数据区的单元格未读入数据: XFD4")]


def test_far_cells_keep_shared_strings_and_a_workbook_within_budget_is_not_copied(
    tmp_path: Path,
) -> None:
    path = _activities(tmp_path)
    assert xlsxscan.prepare_xlsx(path).data == path  # read from the file itself
    with zipfile.ZipFile(path) as zf:
        has_shared = "xl/sharedStrings.xml" in zf.namelist()
    far = _far_cell("XFD1048576")
    _with_sheet_xml(path, far)
    prepared = xlsxscan.prepare_xlsx(path)
    assert isinstance(prepared.data, bytes)
    ((cell,),) = prepared.far.values()
    assert (cell.row, cell.col, cell.text) == (1048575, 16383, "13812345678")
    assert has_shared in (True, False)


class PanicException(BaseException):
    """Stands in for pyo3's ``PanicException`` (a BaseException, not an Exception)."""


def test_a_reader_panic_is_exit_3_naming_the_file(
    raw_dir: Path, tmp_path: Path, monkeypatch, capsys
):
    import python_calamine

    class Broken:
        @staticmethod
        def from_filelike(fh):
            raise PanicException("called `Option::unwrap()` on a `None` value")

    _activities(raw_dir)
    monkeypatch.setattr(python_calamine, "CalamineWorkbook", Broken)
    assert main(["clean", "--raw", str(raw_dir), "--out", str(tmp_path / "out")]) == 3
    err = capsys.readouterr().err
    assert "活动.xlsx" in err and "Traceback" not in err


def test_a_panic_in_one_sheet_is_a_note_when_others_serve(tmp_path: Path, monkeypatch) -> None:
    import python_calamine

    path = write_xlsx(
        tmp_path / "活动.xlsx",
        {"坏表": [ACTIVITY_HEADER], "活动": [ACTIVITY_HEADER, *activity_rows(3)]},
    )
    real = python_calamine.CalamineWorkbook

    class HalfBroken:
        def __init__(self, book):
            self.book, self.sheet_names = book, book.sheet_names

        @classmethod
        def from_filelike(cls, fh):
            return cls(real.from_filelike(fh))

        def get_sheet_by_name(self, name):
            if name == "坏表":
                raise PanicException("index out of bounds")
            return self.book.get_sheet_by_name(name)

    monkeypatch.setattr(python_calamine, "CalamineWorkbook", HalfBroken)
    tables, notes = read_workbook(path, "活动.xlsx")
    assert [t.sheet for t in tables] == ["活动"]
    assert any("坏表" in n and "无法读取" in n for n in notes)
