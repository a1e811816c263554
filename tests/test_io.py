"""Reading raw exports (DESIGN "Raw exports"): headers, sheets, encodings, lineage, bad files."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
from conftest import (
    ACTIVITY_HEADER,
    TITLE,
    activity_rows,
    csv_text,
    write_csv,
    write_xlsx,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from qyzj_analytics.errors import DataError, Location
from qyzj_analytics.ingest import delimited
from qyzj_analytics.ingest import read as qio
from qyzj_analytics.ingest.arrow import encode_categorical
from qyzj_analytics.ingest.flags import mark_nonempty
from qyzj_analytics.ingest.headers import find_header
from qyzj_analytics.ingest.parse import BLANK_CHARS, is_empty
from qyzj_analytics.ingest.raw import RawExports, RawTable
from qyzj_analytics.ingest.read import read_raw_dir


def read_ok(raw_dir: Path) -> RawExports:
    """Read ``raw_dir`` and insist that no file failed."""
    exports = read_raw_dir(raw_dir)
    assert not exports.errors, [str(e) for e in exports.errors]
    return exports


def only_table(raw_dir: Path) -> RawTable:
    """The single table read from ``raw_dir``."""
    tables = read_ok(raw_dir).tables
    assert len(tables) == 1
    return tables[0]


def only_error(raw_dir: Path) -> DataError:
    """The single file-level error reading ``raw_dir``."""
    exports = read_raw_dir(raw_dir)
    assert len(exports.errors) == 1, [str(e) for e in exports.errors]
    assert not exports.tables
    assert exports.errors[0].exit_code == 3
    return exports.errors[0]


def cells(table: RawTable, column: str) -> list[Any]:
    """Raw values of one canonical column, as plain Python objects."""
    return table.frame[column].astype(object).tolist()


# ---------------------------------------------------------------- header detection


def test_header_below_a_merged_title_and_blank_row(raw_dir: Path) -> None:
    rows = [[TITLE], [], ACTIVITY_HEADER, *activity_rows(2)]
    write_xlsx(raw_dir / "活动.xlsx", {"台账": rows}, merge_title=True)
    table = only_table(raw_dir)
    assert table.table == "activities"
    assert table.header_row == 3
    assert table.source_row.tolist() == [4, 5]
    assert cells(table, "title") == ["政策宣讲会第1场", "政策宣讲会第2场"]


def test_header_in_row_15_is_found(raw_dir: Path) -> None:
    rows = [[TITLE]] + [[] for _ in range(13)] + [ACTIVITY_HEADER, *activity_rows(1)]
    write_xlsx(raw_dir / "a.xlsx", {"S": rows})
    table = only_table(raw_dir)
    assert table.header_row == 15
    assert table.source_row.tolist() == [16]


def test_header_in_row_16_is_an_error(raw_dir: Path) -> None:
    rows = [[TITLE]] + [[] for _ in range(14)] + [ACTIVITY_HEADER, *activity_rows(1)]
    write_xlsx(raw_dir / "a.xlsx", {"S": rows})
    error = only_error(raw_dir)
    assert error.exit_code == 3
    assert "a.xlsx" in str(error)


def test_find_header_skips_title_rows_in_a_grid() -> None:
    rows = [
        [TITLE, "", ""],
        ["", "", ""],
        ["活动名称", "活动时间", "备注"],
        ["x", "2025-01-01", ""],
    ]
    h, match = find_header(rows, Location("f.csv"))
    assert h == 2
    assert match.table == "activities"


def test_every_recognised_sheet_is_read(raw_dir: Path) -> None:
    sheets = {
        "1月": [[TITLE], ACTIVITY_HEADER, *activity_rows(2)],
        "2月": [ACTIVITY_HEADER, *activity_rows(3, start_day=10)],
        "说明": [["本表由平台导出"], ["请勿修改"]],
        "空": [],
    }
    write_xlsx(raw_dir / "活动台账.xlsx", sheets)
    exports = read_ok(raw_dir)
    assert [(t.sheet, len(t.frame)) for t in exports.tables] == [("1月", 2), ("2月", 3)]
    assert [t.source_row.tolist() for t in exports.tables] == [[3, 4], [2, 3, 4]]
    assert any("说明" in n for n in exports.notes)
    assert any("空" in n for n in exports.notes)
    assert exports.files[0].sheets == ["1月", "2月"]


def test_header_text_is_kept_per_column(raw_dir: Path) -> None:
    write_csv(raw_dir / "a.csv", [["活动主题", "举办时间（日期）"], ["x", "2025-01-01"]])
    table = only_table(raw_dir)
    assert table.header_text("title") == "活动主题"
    assert table.header_text("date") == "举办时间（日期）"


# ---------------------------------------------------------------- lineage and encodings


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_encodings_read_the_same_rows(raw_dir: Path, encoding: str) -> None:
    rows = [[TITLE], [], ACTIVITY_HEADER, *activity_rows(3)]
    write_csv(raw_dir / "活动.csv", rows, encoding=encoding)
    table = only_table(raw_dir)
    assert table.table == "activities"
    assert table.header_row == 3
    assert table.source_row.tolist() == [4, 5, 6]
    assert cells(table, "title") == [r[1] for r in activity_rows(3)]
    assert cells(table, "enterprises") == ["10", "11", "12"]


def test_xlsx_and_csv_give_the_same_row_numbers(tmp_path: Path) -> None:
    rows = [[TITLE], [None], ACTIVITY_HEADER, *activity_rows(4)]
    write_xlsx(tmp_path / "x" / "a.xlsx", {"S": rows})
    write_csv(tmp_path / "c" / "a.csv", rows)
    from_xlsx = only_table(tmp_path / "x")
    from_csv = only_table(tmp_path / "c")
    assert from_xlsx.source_row.tolist() == from_csv.source_row.tolist() == [4, 5, 6, 7]
    assert cells(from_xlsx, "title") == cells(from_csv, "title")


def test_xlsx_cells_keep_their_types(raw_dir: Path) -> None:
    rows = [ACTIVITY_HEADER, [1, "a", dt.datetime(2025, 3, 5, 14, 30), "线下", 30]]
    write_xlsx(raw_dir / "a.xlsx", {"S": rows})
    table = only_table(raw_dir)
    assert cells(table, "date") == [dt.datetime(2025, 3, 5, 14, 30)]
    assert cells(table, "enterprises") == [30]


def test_csv_tab_delimited(raw_dir: Path) -> None:
    write_csv(raw_dir / "a.csv", [ACTIVITY_HEADER, *activity_rows(2)], delimiter="\t")
    assert cells(only_table(raw_dir), "format") == ["线下", "线下"]


def test_csv_with_crlf_line_endings(raw_dir: Path) -> None:
    text = csv_text([[TITLE], ACTIVITY_HEADER, *activity_rows(2)]).replace("\n", "\r\n")
    (raw_dir / "a.csv").write_bytes(text.encode("gbk"))
    table = only_table(raw_dir)
    assert table.source_row.tolist() == [3, 4]
    assert cells(table, "format") == ["线下", "线下"]


def _fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> RawTable:
        raise pa.ArrowInvalid("forced")

    monkeypatch.setattr(delimited, "_read_csv_fast", refuse)


def _snapshot(table: RawTable) -> dict[str, Any]:
    def plain(values: list[Any]) -> list[Any]:
        return [None if v is None or v != v or v == "" else v for v in values]  # all "empty"

    return {
        "table": table.table,
        "header_row": table.header_row,
        "rows": table.source_row.tolist(),
        "blank": table.blank.tolist(),
        "summary": table.summary.tolist(),
        "frame": {c: plain(cells(table, c)) for c in table.frame.columns},
        "header_of": table.header_of,
    }


@pytest.mark.parametrize(
    "body",
    [
        "1,a,2025-03-01,线下,3\n\n2,b,2025-03-02,线上,4\n",
        "1,a,2025-03-01,线下,3\r\n\r\n\r\n2,b,2025-03-02,线上,4\r\n",
        "1,a,2025-03-01,线下,3\n\r2,b,2025-03-02,线上,4\n",  # a lone \\r ends an empty line
        "\n1,a,2025-03-01,线下,3\n2,b,2025-03-02,线上,4\n\n\n",
        '1,"a,b",2025-03-01,线下,3\n\n2,b,2025-03-02,线上,4',
        "1,a,2025-03-01,线下,3\n\n合计,,,,3\n",
        "\n\n",
    ],
)
def test_csv_blank_lines_are_read_by_pyarrow_with_the_same_rows(
    raw_dir: Path, monkeypatch: pytest.MonkeyPatch, body: str
) -> None:
    text = csv_text([[TITLE], ACTIVITY_HEADER]) + body
    (raw_dir / "a.csv").write_text(text, encoding="utf-8", newline="")
    table = only_table(raw_dir)
    assert isinstance(table.frame["title"].dtype, pd.CategoricalDtype)  # read by pyarrow
    fast = _snapshot(table)
    _fallback(monkeypatch)
    assert fast == _snapshot(only_table(raw_dir))
    assert fast["blank"].count(True) >= 1


def test_csv_fallback_path_reads_the_same_as_the_fast_path(
    raw_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [
        [TITLE],
        [],
        ACTIVITY_HEADER,
        *activity_rows(3),
        ["", "", "", "", ""],
        [" ", "\u3000", "\u200b", "", ""],
        ["", "合计", "", "", "33"],
        ["小计：", "", "", "", "3"],
        ["", "总计划", "2025-03-09", "线上", "1"],
        ["", "“总计”", "", "", ""],
    ]
    write_csv(raw_dir / "a.csv", rows)
    fast = _snapshot(only_table(raw_dir))
    _fallback(monkeypatch)
    slow = _snapshot(only_table(raw_dir))
    assert fast == slow
    assert fast["blank"] == [False] * 3 + [True, True] + [False] * 4
    assert fast["summary"] == [False] * 5 + [True, True, False, True]


def test_csv_summary_mark_in_a_column_of_no_table_is_found(
    raw_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [["序号", "备注", "活动名称", "活动时间", "联系人"], [1, "", "a", "2025-03-01", "张"]]
    rows += [["", "合计", "", "", ""], ["", "", "", "", "李"], ["", "", "", "", ""]]
    write_csv(raw_dir / "a.csv", rows)
    fast = _snapshot(only_table(raw_dir))
    assert fast["summary"] == [False, True, False, False]
    assert fast["blank"] == [False, False, False, True]
    _fallback(monkeypatch)
    assert fast == _snapshot(only_table(raw_dir))


def test_csv_blank_lines_and_ragged_rows_keep_excel_row_numbers(raw_dir: Path) -> None:
    text = csv_text([[TITLE], ACTIVITY_HEADER]) + "1,a,2025-03-01,线下,3\n\n2,b,2025-03-02\n"
    text += "3,c,2025-03-03,线下,5,多余\n"
    (raw_dir / "a.csv").write_text(text, encoding="utf-8")
    table = only_table(raw_dir)
    assert table.source_row.tolist() == [3, 4, 5, 6]
    assert table.blank.tolist() == [False, True, False, False]
    assert cells(table, "title") == ["a", None, "b", "c"]
    assert cells(table, "enterprises") == ["3", None, None, "5"]


@pytest.fixture(params=["read", "mapped"])
def load_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with files read into memory and again with every file memory-mapped."""
    if request.param == "mapped":
        monkeypatch.setattr(qio, "_MAP_BYTES", 1)
    return request.param


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_memory_mapped_files_read_the_same(raw_dir: Path, load_mode: str, encoding: str) -> None:
    rows = [[TITLE], ACTIVITY_HEADER, *activity_rows(2), [3, '"引号",逗号', "2025-03-09", "", ""]]
    rows += [[4, "换\n行", "2025-03-10", "", ""], ["合计", "", "", "", ""]]
    path = write_csv(raw_dir / "a.csv", rows, encoding=encoding)
    exports = read_ok(raw_dir)
    table = exports.tables[0]
    assert table.source_row.tolist() == [3, 4, 5, 6, 7]
    assert cells(table, "title")[2:4] == ['"引号",逗号', "换\n行"]
    assert table.summary.tolist() == [False] * 4 + [True]
    assert exports.files[0].sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_csv_line_break_inside_a_cell_counts_as_one_row(raw_dir: Path) -> None:
    rows = [ACTIVITY_HEADER, [1, "第一行\n第二行", "2025-03-01", "线下", 3], [2, "b", "2025-03-02"]]
    write_csv(raw_dir / "a.csv", rows)
    table = only_table(raw_dir)
    assert table.source_row.tolist() == [2, 3]
    assert cells(table, "title") == ["第一行\n第二行", "b"]


def test_csv_quotes_without_line_breaks_stay_on_the_fast_path(raw_dir: Path) -> None:
    rows = [ACTIVITY_HEADER, [1, 'a,"b"', "2025-03-01", "线下", 3], [2, "c", "2025-03-02", "", ""]]
    write_csv(raw_dir / "a.csv", rows)
    table = only_table(raw_dir)
    assert cells(table, "title") == ['a,"b"', "c"]
    assert isinstance(table.frame["title"].dtype, pd.CategoricalDtype)  # read by pyarrow


def test_csv_single_column_with_blank_lines(raw_dir: Path) -> None:
    (raw_dir / "c.csv").write_text("课程名称\n课A\n\n课B\n", encoding="utf-8")
    table = only_table(raw_dir)
    assert table.table == "courses"
    assert table.source_row.tolist() == [2, 3, 4]
    assert table.blank.tolist() == [False, True, False]


def test_summary_rows_in_xlsx(raw_dir: Path) -> None:
    rows = [
        ACTIVITY_HEADER,
        *activity_rows(2),
        [None, "合计", None, None, 21],
        [None, None, "总计：2场"],
        ["总计划", "x", "2025-03-09", "线下", 1],
    ]
    write_xlsx(raw_dir / "a.xlsx", {"S": rows})
    table = only_table(raw_dir)
    assert table.summary.tolist() == [False, False, True, True, False]


def test_raw_files_are_listed_with_size_and_sha256(raw_dir: Path) -> None:
    path = write_csv(raw_dir / "a.csv", [ACTIVITY_HEADER, *activity_rows(1)])
    record = read_ok(raw_dir).files[0]
    assert record.path == "a.csv"
    assert record.size == path.stat().st_size
    assert record.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert record.status == "read"
    assert record.tables == ["activities"]


def test_subfolders_are_read_with_relative_names(raw_dir: Path) -> None:
    write_csv(raw_dir / "2025" / "03" / "a.csv", [ACTIVITY_HEADER, *activity_rows(1)])
    assert only_table(raw_dir).file == "2025/03/a.csv"


# ---------------------------------------------------------------- ignored files


def test_excel_lock_file_is_ignored_with_a_note(raw_dir: Path) -> None:
    (raw_dir / "~$活动.xlsx").write_bytes(b"\x00locked by someone")
    exports = read_raw_dir(raw_dir)
    assert not exports.errors
    assert exports.files[0].status == "ignored"
    assert any("~$活动.xlsx" in n and "锁定" in n for n in exports.notes)


def test_hidden_files_and_non_spreadsheets_are_ignored_with_notes(raw_dir: Path) -> None:
    (raw_dir / ".DS_Store").write_bytes(b"\x00\x01")
    (raw_dir / ".cache").mkdir()
    (raw_dir / ".cache" / "x.csv").write_text("junk", encoding="utf-8")
    (raw_dir / "说明.docx").write_bytes(b"PK\x03\x04")
    (raw_dir / "readme.txt").write_text("hello", encoding="utf-8")
    exports = read_raw_dir(raw_dir)
    assert not exports.errors
    assert not exports.tables
    assert {f.status for f in exports.files} == {"ignored"}
    assert len(exports.notes) == 4


def test_facts_yaml_is_remembered(raw_dir: Path) -> None:
    (raw_dir / "facts.yaml").write_text("office_area_m2: 120\n", encoding="utf-8")
    exports = read_raw_dir(raw_dir)
    assert exports.facts_path == raw_dir / "facts.yaml"
    assert exports.files[0].status == "facts"


# ---------------------------------------------------------------- bad files


@pytest.mark.parametrize("name", ["empty.csv", "empty.xlsx"])
def test_zero_byte_file_is_an_error(raw_dir: Path, name: str, load_mode: str) -> None:
    (raw_dir / name).write_bytes(b"")
    error = only_error(raw_dir)
    assert error.exit_code == 3
    assert name in str(error)


def test_csv_of_only_blank_lines_is_an_error(raw_dir: Path) -> None:
    (raw_dir / "blank.csv").write_bytes(b"\xef\xbb\xbf\r\n\n  \n\n")
    error = only_error(raw_dir)
    assert "blank.csv" in str(error)
    assert "空" in str(error)


def test_csv_of_only_empty_cells_is_an_error(raw_dir: Path) -> None:
    (raw_dir / "commas.csv").write_text(",,,\n,,,\n", encoding="utf-8")
    assert "commas.csv" in str(only_error(raw_dir))


def test_corrupt_xlsx_is_an_error(raw_dir: Path) -> None:
    (raw_dir / "bad.xlsx").write_bytes(os.urandom(4096))
    error = only_error(raw_dir)
    assert error.exit_code == 3
    assert "bad.xlsx" in str(error)


def test_truncated_xlsx_is_an_error(raw_dir: Path, tmp_path: Path) -> None:
    good = write_xlsx(tmp_path / "good.xlsx", {"S": [ACTIVITY_HEADER, *activity_rows(50)]})
    data = good.read_bytes()
    (raw_dir / "cut.xlsx").write_bytes(data[: len(data) // 2])
    error = only_error(raw_dir)
    assert "cut.xlsx" in str(error)


def test_undecodable_csv_is_an_error(raw_dir: Path) -> None:
    (raw_dir / "bin.csv").write_bytes(b"\xff\xfe\xfd\x00\x81" * 10)
    assert "bin.csv" in str(only_error(raw_dir))


def test_unreadable_csv_body_is_an_error(raw_dir: Path) -> None:
    text = "活动名称,活动时间\n" + "a," + "x" * 200_000 + "\nb\n"  # ragged, huge cell
    (raw_dir / "huge.csv").write_text(text, encoding="utf-8")
    assert "huge.csv" in str(only_error(raw_dir))


def test_unknown_headers_name_the_headers_found_and_the_nearest_table(raw_dir: Path) -> None:
    write_csv(raw_dir / "x.csv", [["活动名", "举办日子", "备注"], ["a", "b", "c"]])
    message = str(only_error(raw_dir))
    assert "x.csv" in message
    assert "活动名" in message and "举办日子" in message and "备注" in message
    assert "activities" in message


def test_missing_required_column_is_named(raw_dir: Path) -> None:
    write_xlsx(
        raw_dir / "a.xlsx", {"3月": [[TITLE], ["序号", "活动名称", "活动形式"], [1, "a", "线下"]]}
    )
    error = only_error(raw_dir)
    message = str(error)
    assert "a.xlsx" in message and "3月" in message
    assert "activities" in message
    assert "活动时间" in message  # the missing column, by its accepted headers
    assert error.location.row == 2


def test_duplicate_headers_are_an_error_naming_the_column(raw_dir: Path) -> None:
    rows = [["活动名称", "活动时间", "活动时间"], ["a", "2025-03-01", "2025-03-02"]]
    write_xlsx(raw_dir / "dup.xlsx", {"S": rows})
    error = only_error(raw_dir)
    assert error.location.file == "dup.xlsx"
    assert error.location.sheet == "S"
    assert error.location.row == 1
    assert error.location.column == "活动时间"
    assert "重复" in str(error)


def test_one_bad_file_does_not_stop_the_others(raw_dir: Path) -> None:
    write_csv(raw_dir / "a.csv", [ACTIVITY_HEADER, *activity_rows(1)])
    (raw_dir / "b.xlsx").write_bytes(b"not a zip")
    exports = read_raw_dir(raw_dir)
    assert len(exports.tables) == 1
    assert [e.location.file for e in exports.errors] == ["b.xlsx"]
    assert [f.status for f in exports.files] == ["read", "error"]


# ---------------------------------------------------------------- the fast blank-cell check

CELL_TEXT = st.text(alphabet=BLANK_CHARS + "a1合计“”Ａ\u3001\u2028\uff01\u00a0", max_size=6)


@settings(max_examples=150, deadline=None)
@given(st.lists(CELL_TEXT, max_size=40), st.integers(0, 5), st.booleans())
def test_fast_nonempty_check_agrees_with_is_empty(cells: list[str], cut: int, large: bool) -> None:
    array = pa.array(cells, pa.large_string() if large else pa.string())
    sliced = array.slice(min(cut, len(cells)))  # a non-zero array offset
    chunked = pa.chunked_array([sliced, array], type=array.type)
    expected = [not is_empty(c) for c in cells]
    assert mark_nonempty(chunked).tolist() == expected[min(cut, len(cells)) :] + expected


def test_long_csv_read_in_many_blocks_reads_the_same_as_the_fallback(
    raw_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # over 1 MiB: pyarrow reads it in several blocks, so columns arrive in several chunks
    rows: list[list[Any]] = [[TITLE], ACTIVITY_HEADER]
    for i in range(30_000):
        rows.append(
            [
                i + 1,
                f"政策宣讲会第{i % 5000}场 {'甲乙丙' * 3}",
                f"2025-03-{i % 28 + 1:02d}",
                "线下",
                i % 7,
            ]
        )
        if i % 9_000 == 17:
            rows += [
                [None] * 5,
                ["", "", "", "", ""],
                [None, "合计", None, None, 3],
                ["小计：", "", "", "", ""],
            ]
    write_csv(raw_dir / "a.csv", rows)
    assert (raw_dir / "a.csv").stat().st_size > 1 << 21
    table = only_table(raw_dir)
    assert isinstance(table.frame["title"].dtype, pd.CategoricalDtype)  # read by pyarrow
    fast = _snapshot(table)
    _fallback(monkeypatch)
    assert fast == _snapshot(only_table(raw_dir))
    assert fast["blank"].count(True) == 8 and fast["summary"].count(True) == 8


@pytest.mark.parametrize("chunks", [[], [[]], [["a", "b"], [], ["b", "c", "a"]], [["x"] * 3]])
def test_categorical_of_a_chunked_string_column(chunks: list[list[str]]) -> None:
    column = pa.chunked_array(chunks, pa.string())
    got = encode_categorical(column)
    assert isinstance(got, pd.Categorical)
    assert list(got.astype(object)) == column.to_pylist()
    assert list(got.categories) == list(dict.fromkeys(column.to_pylist()))
