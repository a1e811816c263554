"""Issue 10 item 2: a header over two merged rows is read as one header (xlsx merges, two CSV
header lines, HTML rowspan/colspan), a first data row never joins the header, and a value taken
from a column's second header is named by that header when rejected or warned about."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from qyzj_analytics.cli import main
from qyzj_analytics.errors import DataError, Location
from qyzj_analytics.ingest.clean import clean_raw_table
from qyzj_analytics.ingest.delimited import read_csv_export
from qyzj_analytics.ingest.headers import combine_header_rows, locate_header
from qyzj_analytics.ingest.issuegroups import read_issue_csv
from qyzj_analytics.ingest.read import read_raw_dir
from qyzj_analytics.ingest.xlsx import read_workbook

TITLE = "乐清市企业之家2025年活动台账"


def _xlsx(path: Path, rows: list[list[object]], merges: list[str]) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "台账"
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row, start=1):
            if value is not None:
                ws.cell(row=r, column=c, value=value)
    for cells in merges:
        ws.merge_cells(cells)
    wb.save(path)
    return path


# group headings merged across columns, and 活动形式 merged down over both header rows
GROUPED = [
    [TITLE],
    ["序号", "活动信息", None, "活动形式", "参与情况", None],
    [None, "活动名称", "活动日期", None, "参与企业数", "参与人数"],
    [1, "政策宣讲会", "2025-03-05", "线下", 12, 30],
    [2, "惠企直播", "2025-03-06", "线上", 8, 200],
]
GROUPED_MERGES = ["A1:F1", "A2:A3", "B2:C2", "D2:D3", "E2:F2"]

# leaf headings merged down (row 2's cells empty under them), one group heading across two
VERTICAL = [
    ["序号", "活动名称", "活动时间", "活动情况", None],
    [None, None, None, "活动形式", "参与企业数"],
    [1, "政策宣讲会", "2025-03-05", "线下", 12],
    [2, "惠企直播", "2025-03-06", "线上", 8],
]
VERTICAL_MERGES = ["A1:A2", "B1:B2", "C1:C2", "D1:E1"]

# a group heading that only makes sense joined with the leaf: 活动 + 名称 / 日期
JOINED = [
    ["活动", None, "形式"],
    ["名称", "日期", None],
    ["政策宣讲会", "2025-03-05", "线下"],
]
JOINED_MERGES = ["A1:B1", "C1:C2"]


def _check(raw, first_data_row: int, header_row: int) -> None:
    assert raw.table == "activities"
    assert raw.header_row == header_row
    assert raw.source_row[0] == first_data_row
    kept, rejected, _ = clean_raw_table(raw)
    assert rejected.empty, rejected.to_dict("records")
    assert kept["format"].tolist()[:2] == ["线下", "线上"][: len(kept)]
    assert kept["title"].tolist()[0] == "政策宣讲会"


@pytest.mark.parametrize(
    ("rows", "merges", "header_row"),
    [(GROUPED, GROUPED_MERGES, 2), (VERTICAL, VERTICAL_MERGES, 1), (JOINED, JOINED_MERGES, 1)],
    ids=["grouped", "vertical", "joined"],
)
def test_xlsx_header_over_two_merged_rows(
    tmp_path: Path, rows: list[list[object]], merges: list[str], header_row: int
) -> None:
    path = _xlsx(tmp_path / "a.xlsx", rows, merges)
    raw = read_workbook(path, "a.xlsx")[0][0]
    _check(raw, header_row + 2, header_row)


def test_grouped_header_keeps_every_leaf_column(tmp_path: Path) -> None:
    raw = read_workbook(_xlsx(tmp_path / "a.xlsx", GROUPED, GROUPED_MERGES), "a.xlsx")[0][0]
    kept, _, _ = clean_raw_table(raw)
    assert kept["enterprises"].tolist() == [12, 8]
    assert kept["participants"].tolist() == [30, 200]
    assert raw.header_of["format"] == "活动形式"


def _csv_text(rows: list[list[object]]) -> str:
    return "\n".join(",".join("" if c is None else str(c) for c in r) for r in rows) + "\n"


@pytest.mark.parametrize("rows", [GROUPED, VERTICAL, JOINED], ids=["grouped", "vertical", "joined"])
def test_csv_with_two_header_lines(rows: list[list[object]]) -> None:
    header_row = 2 if rows is GROUPED else 1
    # read by pyarrow, and by the csv module (a ragged last row)
    for text in (_csv_text(rows), _csv_text(rows).rstrip("\n") + ",多余\n"):
        raw = read_csv_export(text.encode("utf-8"), "a.csv")
        _check(raw, header_row + 2, header_row)


HTML = """<html><body><table>
<tr><td rowspan="2">序号</td><td rowspan="2">活动名称</td><td rowspan="2">活动时间</td>
    <td colspan="2">活动情况</td></tr>
<tr><td>活动形式</td><td>参与企业数</td></tr>
<tr><td>1</td><td>政策宣讲会</td><td>2025-03-05</td><td>线下</td><td>12</td></tr>
<tr><td>2</td><td>惠企直播</td><td>2025-03-06</td><td>线上</td><td>8</td></tr>
</table></body></html>
"""


def test_html_table_with_rowspan_and_colspan(tmp_path: Path) -> None:
    raw_dir = tmp_path / "raw"
    raw_dir.mkdir()
    (raw_dir / "活动.xls").write_text(HTML, encoding="utf-8")  # a web "Excel export"
    exports = read_raw_dir(raw_dir)
    assert not exports.errors, exports.errors
    _check(exports.tables[0], 3, 1)


def test_combine_carries_group_headings_and_joins_known_headers() -> None:
    assert combine_header_rows(
        ["序号", "活动", None, "参与情况", None], [None, "名称", "日期", "活动形式", "人数"]
    ) == ["序号", "活动名称", "活动日期", "活动形式", "人数"]


# ------------------------------------------------------------------------ data rows stay data


@pytest.mark.parametrize(
    "first_row",
    [
        ["政策宣讲会", "2025-03-05", "活动形式"],  # a value that is a header name
        ["政策宣讲会", "2025-03-05", None],
        [None, "2025-03-05", "参与人数"],  # an empty required cell: still a (rejected) data row
    ],
)
def test_a_first_data_row_never_joins_the_header(first_row: list[object]) -> None:
    rows = [["活动名称", "活动时间", "说明"], first_row, ["惠企直播", "2025-03-06", "x"]]
    found = locate_header(rows, Location("a.csv"))
    assert (found.start, found.height) == (0, 1)
    raw = read_csv_export(_csv_text(rows).encode("utf-8"), "a.csv")
    assert raw.source_row.tolist() == [2, 3]
    kept, rejected, _ = clean_raw_table(raw)
    assert len(kept) + len(rejected) == 2


def test_a_data_row_holding_header_names_under_the_header_stays_data() -> None:
    # read together, the two rows would match more columns (title, date, format) than the header
    # alone; the first data row fills cells under recognised headers, so it is data
    rows = [
        ["活动名称", "活动时间", "活动日期", "说明"],
        ["活动主题", "", "2025-03-05", "活动形式"],
    ]
    found = locate_header(rows, Location("a.csv"))
    assert (found.start, found.height) == (0, 1)


def test_a_title_row_above_a_header_is_not_part_of_it() -> None:
    rows = [[TITLE, None, None], ["活动名称", "活动时间", "活动形式"], ["a", "2025-03-05", "线下"]]
    found = locate_header(rows, Location("a.csv"))
    assert (found.start, found.height) == (1, 1)


def test_a_two_row_header_error_names_both_rows() -> None:
    rows = [
        [TITLE],
        ["活动名称", "活动时间", "活动情况", None],
        [None, None, "活动形式", "活动时间"],
        ["a", "2025-03-05", "线下", "2025-03-05"],
    ]
    with pytest.raises(DataError) as caught:
        locate_header(rows, Location("a.csv"))
    assert "第 2–3 行" in str(caught.value) and "重复" in str(caught.value)


# ------------------------------------------------------------------------ second alias named


def test_values_from_the_second_alias_are_named_by_its_header() -> None:
    rows = [
        ["活动名称", "活动时间", "活动日期", "参与企业数", "服务企业数"],
        ["a", "", "不是日期", "3", ""],
        ["b", "2025-03-05", "", "", "很多"],
        ["c", "", "2025年3月5日-3月7日", "3", ""],
        ["d", "2025-03-06", "", "3", ""],
        ["e", "", "", "3", ""],
    ]
    kept, rejected, warnings = clean_raw_table(
        read_csv_export(_csv_text(rows).encode("utf-8"), "a.csv")
    )
    assert kept["title"].tolist() == ["b", "c", "d"]
    got = dict(zip(rejected["source_row"], rejected["column"], strict=True))
    assert got == {2: "活动日期", 6: "活动时间"}
    got = dict(zip(warnings["source_row"], warnings["column"], strict=True))
    assert got == {3: "服务企业数", 4: "活动日期"}


# ------------------------------------------------------------------------ end to end


def test_qyzj_clean_end_to_end(tmp_path: Path) -> None:
    raw_dir = tmp_path / "raw"
    raw_dir.mkdir()

    def own(rows: list[list[object]], tag: str) -> list[list[object]]:  # no cross-file duplicates
        return [[f"{c}{tag}" if c in ("政策宣讲会", "惠企直播") else c for c in r] for r in rows]

    _xlsx(raw_dir / "分组.xlsx", own(GROUPED, "1"), GROUPED_MERGES)
    _xlsx(raw_dir / "纵向.xlsx", own(VERTICAL, "2"), VERTICAL_MERGES)
    (raw_dir / "两行.csv").write_text(_csv_text(own(JOINED, "3")), encoding="utf-8-sig")
    (raw_dir / "网页.xls").write_text(HTML.replace("直播", "直播4"), encoding="utf-8")
    (raw_dir / "别名.csv").write_text(
        "活动名称,活动时间,活动日期\nz,,不是日期\n", encoding="utf-8-sig"
    )
    out = tmp_path / "processed"
    assert main(["clean", "--raw", str(raw_dir), "--out", str(out)]) == 0
    kept = pd.read_parquet(out / "activities.parquet")
    formats = kept.groupby("source_file")["format"].apply(list).to_dict()
    assert formats == {
        "分组.xlsx": ["线下", "线上"],
        "纵向.xlsx": ["线下", "线上"],
        "两行.csv": ["线下"],
        "网页.xls": ["线下", "线上"],
    }
    rejected = pd.read_parquet(out / "rejected.parquet")
    assert rejected[["source_file", "source_row", "column"]].values.tolist() == [
        ["别名.csv", 2, "活动日期"]
    ]
    grouped = read_issue_csv(out / "rejected.csv", dtype=str)
    assert grouped[["source_file", "column", "rows", "example_rows"]].values.tolist() == [
        ["别名.csv", "活动日期", "1", "2"]
    ]
