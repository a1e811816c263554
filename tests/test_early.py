"""Reading a CSV body before pandas is imported (``ingest/early.py``): the same tables, or none."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import ACTIVITY_HEADER, TITLE, activity_rows, write_csv

from qyzj_analytics.cli import main
from qyzj_analytics.ingest import early as qearly
from qyzj_analytics.ingest.early import guess_header_stop, guess_match, start_early_read
from qyzj_analytics.ingest.raw import RawExports
from qyzj_analytics.ingest.read import read_raw_dir

ROOT = Path(__file__).resolve().parents[1]
Rows = list[list[Any]]


@pytest.fixture
def small_map(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every CSV file counts as large enough to be read early."""
    monkeypatch.setattr(qearly, "MAP_BYTES", 1)


def test_the_early_reader_imports_no_pandas() -> None:
    code = "import sys, qyzj_analytics.ingest.early; print('pandas' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    assert out.strip() == "False"


@pytest.mark.parametrize(
    ("records", "stop"),
    [
        ([["序号", "名称", "日期"], ["1", "a", "2025-01-01"]], 1),
        ([["2025年导出", "", ""], ["序号", "名称", "日期"], ["1", "a", "2025-01-01"]], 2),
        ([["标题"], ["活动", "", ""], ["序号", "名称", "日期"], ["1", "a", "2025-01-01"]], 3),
        ([["序号", "名称"], ["甲", "乙"]], None),  # no data row follows
        ([["1", "a", "2025-01-01"]], None),
        ([], None),
    ],
)
def test_guess_header_stop(records: list[list[str]], stop: int | None) -> None:
    assert guess_header_stop(records) == stop


def _same(a: RawExports, b: RawExports) -> None:
    assert [str(e) for e in a.errors] == [str(e) for e in b.errors]
    assert len(a.tables) == len(b.tables) == 1
    x, y = a.tables[0], b.tables[0]
    assert (x.table, x.header_row, x.headers, x.header_of) == (
        y.table,
        y.header_row,
        y.headers,
        y.header_of,
    )
    assert x.frame.equals(y.frame)
    assert [str(t) for t in x.frame.dtypes] == [str(t) for t in y.frame.dtypes]
    for name in ("source_row", "blank", "summary"):
        assert np.array_equal(getattr(x, name), getattr(y, name)), name
    assert x.alternates.keys() == y.alternates.keys()
    for column, found in x.alternates.items():
        assert [(h, v.tolist()) for h, v in found] == [
            (h, v.tolist()) for h, v in y.alternates[column]
        ]


BODY = activity_rows(5)
CASES: dict[str, tuple[Rows, bool]] = {  # rows, read early (the header ends where guessed)
    "plain": ([ACTIVITY_HEADER, *BODY], True),
    "title": ([[TITLE], ACTIVITY_HEADER, *BODY, ["合计", "", "", "", 15]], True),
    "blank rows": ([ACTIVITY_HEADER, BODY[0], [], BODY[1], ["", "", "", "", ""]], True),
    "quotes": ([ACTIVITY_HEADER, *BODY, [6, '"引号",逗号', "2025-03-09", "", ""]], True),
    "line break": ([ACTIVITY_HEADER, *BODY, [6, "换\n行", "2025-03-10", "", ""]], True),
    "ragged": ([ACTIVITY_HEADER, *BODY, [6, "多", "2025-03-10", "", "", "余"]], True),
    "alternate": ([[*ACTIVITY_HEADER, "活动主题"], *[[*r, "x"] for r in BODY]], True),
    "no table": ([["编号", "名称", "日期"], [1, "a", "2025-03-01"]], False),
    # the header repeated on the next line (pages of an export run together): the guess takes
    # both lines as the header, the reader the first only: guessed wrong, read as before
    "repeated header": ([ACTIVITY_HEADER, ACTIVITY_HEADER, *BODY], False),
}


@pytest.mark.usefixtures("small_map")
@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig"])
def test_an_early_read_gives_the_same_table(raw_dir: Path, case: str, encoding: str) -> None:
    rows, used = CASES[case]
    write_csv(raw_dir / "活动.csv", rows, encoding=encoding)
    early = start_early_read(raw_dir)
    if case == "no table":  # no table's header: nothing read early (the reader refuses it)
        assert early is None
        assert read_raw_dir(raw_dir).errors
        return
    assert early is not None
    try:
        with_early = read_raw_dir(raw_dir, early)
    finally:
        early.finish()
    _same(with_early, read_raw_dir(raw_dir))
    assert early.used == (used and case != "ragged")  # a ragged body fails the early read too


@pytest.mark.usefixtures("small_map")
def test_a_header_mapped_in_columns_yaml_is_read_as_before(raw_dir: Path) -> None:
    """名目 is a second title column only through columns.yaml, which the early read does not
    see: its column is missing from the early table, so the reader reads the body itself."""
    (raw_dir / "columns.yaml").write_text("activities:\n  title: [名目]\n", encoding="utf-8")
    write_csv(raw_dir / "活动.csv", [[*ACTIVITY_HEADER, "名目"], *[[*r, "讲座"] for r in BODY]])
    early = start_early_read(raw_dir)
    assert early is not None
    try:
        with_early = read_raw_dir(raw_dir, early)
    finally:
        early.finish()
    _same(with_early, read_raw_dir(raw_dir))
    assert with_early.tables[0].alternates["title"][0][0] == "名目"
    assert not early.used


@pytest.mark.parametrize(
    ("record", "table"),
    [
        (["序号", "企业名称", "统一社会信用代码", "服务日期", "服务类型", "是否规上"], "services"),
        ([" 活动 名称", "“活动时间”", "活动形式", "参与企业数（家）"], "activities"),
        (["活动名称", "备注"], None),  # a required header missing
    ],
)
def test_guess_match(record: list[str], table: str | None) -> None:
    found = guess_match(record)
    assert (found.table if found else None) == table


@pytest.mark.usefixtures("small_map")
@pytest.mark.parametrize("column", [1, 5])
def test_a_cell_not_in_utf8_below_the_head_is_read_as_before(raw_dir: Path, column: int) -> None:
    """GBK bytes past the first MiB in 活动名称 (read as bytes) or in 活动主题 (an accepted
    second title column, read as text): arrow refuses the body with or without the early
    table, and the file is read as before (line by line, the GBK row noted)."""
    head = "序号,活动名称,活动时间,活动形式,参与企业数（家）,活动主题\n".encode()
    line = "{},讲座,2025-03-01,线下,3,主题\n"
    body = "".join(line.format(i) for i in range(1, 40_000)).encode()
    assert len(body) > 1 << 20
    cells = ["40000", "讲座", "2025-03-02", "线下", "3", "主题"]
    cells[column] = "讲座二" if column == 1 else "主题二"
    odd = (",".join(cells) + "\n").encode("gbk")
    (raw_dir / "活动.csv").write_bytes(head + body + odd)
    early = start_early_read(raw_dir)
    assert early is not None
    try:
        with_early = read_raw_dir(raw_dir, early)
    finally:
        early.finish()
    _same(with_early, read_raw_dir(raw_dir))
    assert with_early.tables[0].mixed is not None


@pytest.mark.usefixtures("small_map")
@pytest.mark.parametrize("encoding", ["gbk", "utf-16"])
def test_no_early_read_of_other_encodings(raw_dir: Path, encoding: str) -> None:
    write_csv(raw_dir / "活动.csv", [ACTIVITY_HEADER, *BODY], encoding=encoding)
    assert start_early_read(raw_dir) is None


def test_no_early_read_below_the_mapping_size(raw_dir: Path) -> None:
    write_csv(raw_dir / "活动.csv", [ACTIVITY_HEADER, *BODY])
    assert start_early_read(raw_dir) is None


@pytest.mark.usefixtures("small_map")
def test_qyzj_clean_reads_early_and_leaves_no_thread_running(
    raw_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[qearly.EarlyRead | None] = []
    real = qearly.start_early_read
    monkeypatch.setattr(qearly, "start_early_read", lambda raw: made.append(real(raw)) or made[-1])
    write_csv(raw_dir / "活动.csv", [ACTIVITY_HEADER, *BODY])
    assert main(["clean", "--raw", str(raw_dir), "--out", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "activities.parquet").exists()
    assert len(made) == 1 and made[0] is not None and made[0].used
    assert not [t for t in threading.enumerate() if t.name == "qyzj-early-read"]
