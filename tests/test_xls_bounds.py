"""Hostile legacy .xls (BIFF8) workbooks: false DIMENSIONS, far cells, error cells, corrupt records.

python-calamine aborts the process on a DIMENSIONS record claiming billions of rows and panics
on a corrupt MERGECELLS, so every read of such a file here runs in a child process under a
memory cap (:func:`_read_in_child`); the pre-scan itself (``prepare_xls``) is safe in-process.
"""

from __future__ import annotations

import json
import os
import resource
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from xlsbuilder import Err, Sheet, merge_cells, record, workbook_stream, write_xls

from qyzj_analytics.errors import DataError
from qyzj_analytics.ingest.biff import prepare_xls, read_sst
from qyzj_analytics.ingest.clean import clean_exports
from qyzj_analytics.ingest.read import read_raw_dir
from qyzj_analytics.ingest.sheetcells import FarCell

ROOT = Path(__file__).resolve().parents[1]
HEADER = ["活动名称", "活动时间", "参与人数"]
ROWS = [HEADER, ["a", "2025-03-05", 3], ["b", "2025-03-06", 4]]
_CHILD = """
import json, sys
from pathlib import Path
from qyzj_analytics.ingest.xlsx import read_workbook
tables, notes = read_workbook(Path(sys.argv[1]), "t.xls", kind="xls")
print(json.dumps([[t.sheet, len(t.frame)] for t in tables]))
"""


def _cap() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))


def _run_capped(args: list[str]) -> subprocess.CompletedProcess[str]:
    """Run python ``args`` in a child with a 3 GB address-space cap and a timeout."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RUST_BACKTRACE": "0"}
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_cap,
        env=env,
        cwd=ROOT,
    )


def _read_in_child(path: Path) -> list[list]:
    """The (sheet, data rows) read_workbook finds, read in a capped child process."""
    result = _run_capped(["-c", _CHILD, str(path)])
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


def test_dimensions_claiming_four_billion_rows_read_normally(tmp_path: Path) -> None:
    path = write_xls(tmp_path / "d.xls", [Sheet("活动", ROWS, dimensions=(0, 4_000_000_000, 0, 3))])
    prepared = prepare_xls(path)
    assert isinstance(prepared.data, bytes) and not prepared.far
    assert _read_in_child(path) == [["活动", 2]]


def test_dimensions_that_wrap_around_are_patched(tmp_path: Path) -> None:
    # last row before first row: calamine's u32 subtraction wraps to ~4e9 rows
    path = write_xls(tmp_path / "w.xls", [Sheet("活动", ROWS, dimensions=(9, 3, 0, 3))])
    assert isinstance(prepare_xls(path).data, bytes)
    assert _read_in_child(path)[0][1] == 2


def test_honest_workbook_is_read_from_the_file_without_a_copy(tmp_path: Path) -> None:
    path = write_xls(tmp_path / "ok.xls", [Sheet("活动", ROWS)])
    prepared = prepare_xls(path)
    assert prepared.data == path and not prepared.marks and not prepared.far


def _far_sheet() -> Sheet:
    rows = [HEADER] + [[f"活动{i}", "2025-03-05", i] for i in range(20_000)]
    return Sheet("活动", rows, cells={(0, 250): "远处备注", (60_000, 1): 7.5})


def test_far_stray_cells_become_far_cells_and_leave_the_grid(tmp_path: Path) -> None:
    path = write_xls(tmp_path / "far.xls", [_far_sheet()])
    prepared = prepare_xls(path)
    assert sorted(prepared.far["活动"], key=lambda c: c.row) == [
        FarCell(0, 250, "远处备注"),
        FarCell(60_000, 1, "7.5"),
    ]
    assert isinstance(prepared.data, bytes)
    assert _read_in_child(path) == [["活动", 20_000]]


def test_far_cells_within_budget_stay_in_the_grid(tmp_path: Path) -> None:
    sheet = Sheet("活动", ROWS, cells={(3000, 40): "备注"})
    prepared = prepare_xls(write_xls(tmp_path / "near.xls", [sheet]))
    assert not prepared.far and isinstance(prepared.data, Path)


def test_error_cells_are_marked(tmp_path: Path) -> None:
    rows = [HEADER, ["a", Err("#N/A"), 3], ["b", "2025-03-06", Err("#DIV/0!", formula=True)]]
    prepared = prepare_xls(write_xls(tmp_path / "e.xls", [Sheet("活动", rows)]))
    assert prepared.marks == {"活动": {(1, 1): "#N/A", (2, 2): "#DIV/0!"}}


def test_error_cells_in_xls_are_rejected_with_their_own_reason(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    rows = [
        HEADER,
        ["a", Err("#N/A"), 3],
        [Err("#VALUE!", formula=True), "2025-03-06", 4],
        ["c", "2025-03-07", Err("#REF!")],
        ["d", "2025-03-08", 5],
    ]
    write_xls(raw / "活动.xls", [Sheet("活动", rows)])
    result = clean_exports(read_raw_dir(raw))
    reasons = dict(zip(result.rejected["source_row"], result.rejected["reason"], strict=True))
    assert reasons == {2: "单元格为错误值 #N/A", 3: "单元格为错误值 #VALUE!"}
    assert list(result.warnings["reason"]) == ["单元格为错误值 #REF!，按空值处理"]
    counts = result.files.iloc[0]
    assert (counts["rows_read"], counts["rows_kept"], counts["rows_rejected"]) == (4, 2, 2)


def test_corrupt_merge_cells_record_is_dropped_and_the_sheet_read(tmp_path: Path) -> None:
    bad = Sheet("活动", ROWS, extra=[merge_cells([(0, 0, 0, 1)], count=500)])
    path = write_xls(tmp_path / "m.xls", [bad, Sheet("其他", ROWS)])
    assert isinstance(prepare_xls(path).data, bytes)
    assert [t[:2] for t in _read_in_child(path)] == [["活动", 2], ["其他", 2]]


def _clean_cli(raw: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    args = ["clean", "--raw", str(raw), "--out", str(tmp_path / "out")]
    return _run_capped(["-m", "qyzj_analytics.cli", *args])


@pytest.mark.parametrize(
    "damage",
    ["truncated", "bad_cell", "sheet_offset", "sst_count", "no_eof", "short_name"],
)
def test_corrupt_xls_exits_3_naming_the_file(tmp_path: Path, damage: str) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    path = raw / "坏.xls"
    stream = _damaged(damage)
    if damage == "truncated":
        write_xls(path, [Sheet("活动", ROWS)])
        path.write_bytes(path.read_bytes()[:1500])
    else:
        from xlsbuilder import ole2

        path.write_bytes(ole2(stream))
    with pytest.raises(DataError) as info:
        prepare_xls(path, "坏.xls")
    assert "坏.xls" in str(info.value)
    if damage == "bad_cell":
        assert "活动" in str(info.value)
    result = _clean_cli(raw, tmp_path)
    assert result.returncode == 3, result.stderr[-2000:]
    assert "坏.xls" in result.stderr + result.stdout
    assert "Traceback" not in result.stderr and "panicked" not in result.stderr


def _damaged(damage: str) -> bytes:
    """A Workbook stream with one kind of damage (the truncated one is cut at the file level)."""
    if damage == "bad_cell":
        return workbook_stream([Sheet("活动", ROWS, extra=[record(0x0203, b"\0" * 6)])])
    stream = bytearray(workbook_stream([Sheet("活动", ROWS)]))
    bound = stream.index(struct.pack("<H", 0x0085))
    if damage == "sheet_offset":
        struct.pack_into("<I", stream, bound + 4, 10_000_000)
    elif damage == "sst_count":
        sst = stream.index(struct.pack("<H", 0x00FC))
        struct.pack_into("<i", stream, sst + 8, -5)
    elif damage == "no_eof":
        stream = stream[: len(stream) - 4]
    elif damage == "short_name":
        lbl = record(0x0018, b"\0" * 5)
        stream[bound:bound] = lbl
        first = struct.unpack_from("<I", stream, bound + len(lbl) + 4)[0]
        struct.pack_into("<I", stream, bound + len(lbl) + 4, first + len(lbl))
    return bytes(stream)


def test_shared_strings_split_over_continue_records() -> None:
    first = struct.pack("<II", 2, 2) + struct.pack("<HB", 3, 1) + "一二".encode("utf-16-le")
    second = b"\x00" + b"c" + struct.pack("<HB", 2, 0) + b"ok"
    assert read_sst([first, second], None) == ["一二c", "ok"]  # type: ignore[arg-type]
