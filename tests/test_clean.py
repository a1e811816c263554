"""Cleaning (DESIGN "Values", "Duplicates", "Conservation", "Lineage") and the processed layer."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest
from conftest import ACTIVITY_HEADER, TITLE, activity_rows, write_csv, write_xlsx

from qyzj_analytics.ingest.clean import clean_exports, clean_raw_table
from qyzj_analytics.ingest.dedupe import dedupe_table
from qyzj_analytics.ingest.issuegroups import read_issue_csv
from qyzj_analytics.ingest.processed import CleanResult
from qyzj_analytics.ingest.quality import summarize_quality
from qyzj_analytics.ingest.read import read_raw_dir
from qyzj_analytics.ingest.store import write_processed

SERVICE_HEADER = ["序号", "企业名称", "统一社会信用代码", "服务日期", "服务类型", "是否规上"]
APPEAL_HEADER = ["诉求编号", "企业名称", "提交时间", "办理状态", "办结时间"]
VALID_CODE = "91330382781819720R"


def clean_dir(raw_dir: Path) -> CleanResult:
    """Read and clean ``raw_dir``, insisting that every file was readable."""
    exports = read_raw_dir(raw_dir)
    assert not exports.errors, [str(e) for e in exports.errors]
    return clean_exports(exports)


def quality(result: CleanResult, file: str) -> dict[str, Any]:
    """The conservation counts of one file (summed over its tables)."""
    rows = result.files[result.files["file"] == file]
    assert len(rows), f"{file} not counted"
    return rows.drop(columns=["file", "table"]).sum().to_dict()


def assert_conserved(result: CleanResult) -> None:
    for row in result.files.itertuples():
        parts = row.rows_kept + row.rows_rejected + row.duplicates + row.summary_rows
        assert parts == row.rows_read, row


# ---------------------------------------------------------------- values and dtypes


def test_kept_rows_are_typed_and_carry_lineage(raw_dir: Path) -> None:
    rows = [
        [TITLE],
        [],
        ACTIVITY_HEADER,
        [1, "“小微你好”\u200b专场", "2025年3月5日 14:30", "线下", "约30家"],
    ]
    write_xlsx(raw_dir / "a.xlsx", {"3月": rows})
    table = clean_dir(raw_dir).tables["activities"]
    row = table.iloc[0]
    assert row["title"] == "小微你好专场"
    assert row["date"] == pd.Timestamp("2025-03-05")
    assert row["format"] == "线下"
    assert row["enterprises"] == 30
    assert (row["source_file"], row["source_sheet"], row["source_row"]) == ("a.xlsx", "3月", 4)
    assert table["title"].dtype == "str"
    assert table["date"].dtype == "datetime64[s]"
    assert table["enterprises"].dtype == "Int64"


def test_clean_raw_table_returns_str_columns(raw_dir: Path) -> None:
    write_csv(raw_dir / "a.csv", [ACTIVITY_HEADER, *activity_rows(2)])
    kept, rejected, warnings = clean_raw_table(read_raw_dir(raw_dir).tables[0])
    assert kept["title"].dtype == "str"
    assert kept["source_file"].tolist() == ["a.csv", "a.csv"]
    assert kept["source_sheet"].isna().all()
    assert len(rejected) == 0 and len(warnings) == 0


def test_every_table_has_the_same_columns_with_or_without_rows(raw_dir: Path) -> None:
    write_csv(raw_dir / "a.csv", [ACTIVITY_HEADER, *activity_rows(1)])
    result = clean_dir(raw_dir)
    empty = clean_exports(read_raw_dir(raw_dir.parent / "nothing"))
    for name, table in result.tables.items():
        assert list(table.columns) == list(empty.tables[name].columns), name
        assert table.dtypes.to_dict() == empty.tables[name].dtypes.to_dict(), name


def test_services_credit_code_is_normalised_and_flagged(raw_dir: Path) -> None:
    rows = [
        SERVICE_HEADER,
        [1, "甲公司", " 9133 0382 7818 1972 0r ", "2025-03-05", "政策咨询", "是"],
        [2, "乙公司", "91330382781819720A", "2025-03-05", "政策咨询", "否"],
        [3, "丙公司", "", "2025-03-05", "政策咨询", "√"],
    ]
    write_csv(raw_dir / "s.csv", rows)
    result = clean_dir(raw_dir)
    table = result.tables["services"]
    assert table["credit_code"].tolist()[:2] == [VALID_CODE, "91330382781819720A"]
    assert table["credit_code_valid"].tolist() == [True, False, True]
    assert table["above_scale"].tolist() == [True, False, True]
    assert result.warnings["source_row"].tolist() == [3]
    assert result.warnings["column"].tolist() == ["统一社会信用代码"]


def test_unreadable_count_is_a_warning_not_a_rejection(raw_dir: Path) -> None:
    write_csv(raw_dir / "a.csv", [ACTIVITY_HEADER, [1, "a", "2025-03-01", "线下", "很多"]])
    result = clean_dir(raw_dir)
    assert len(result.tables["activities"]) == 1
    assert pd.isna(result.tables["activities"]["enterprises"].iloc[0])
    warning = result.warnings.iloc[0]
    assert (warning["column"], warning["value"], warning["source_row"]) == (
        "参与企业数（家）",
        "很多",
        2,
    )


# ---------------------------------------------------------------- rejected rows


def test_rejected_row_names_file_sheet_row_column_value_and_reason(raw_dir: Path) -> None:
    rows = [
        [TITLE],
        ["序号", "活动主题", "举办时间", "形式"],
        [1, "a", "3月5日", "线下"],
        [2, "b", "2025-03-06", "线下"],
    ]
    write_xlsx(raw_dir / "a.xlsx", {"3月": rows})
    result = clean_dir(raw_dir)
    assert len(result.tables["activities"]) == 1
    rejected = result.rejected.iloc[0].to_dict()
    assert rejected["table"] == "activities"
    assert rejected["source_file"] == "a.xlsx"
    assert rejected["source_sheet"] == "3月"
    assert rejected["source_row"] == 3
    assert rejected["column"] == "举办时间"  # the header text of the file
    assert rejected["value"] == "3月5日"
    assert "年份" in rejected["reason"]


def test_empty_required_cell_is_rejected(raw_dir: Path) -> None:
    write_csv(raw_dir / "a.csv", [ACTIVITY_HEADER, [1, "", "2025-03-01", "线下", 1]])
    rejected = clean_dir(raw_dir).rejected
    assert rejected[["column", "value", "reason"]].values.tolist() == [
        ["活动名称", "", "必填列为空"]
    ]


def test_impossible_date_is_rejected(raw_dir: Path) -> None:
    write_csv(raw_dir / "a.csv", [ACTIVITY_HEADER, [1, "a", "2025-02-30", "线下", 1]])
    assert "不存在" in clean_dir(raw_dir).rejected["reason"].iloc[0]


def test_the_first_failing_column_is_reported(raw_dir: Path) -> None:
    write_csv(raw_dir / "a.csv", [ACTIVITY_HEADER, [1, "", "下周", "线下", 1]])
    assert clean_dir(raw_dir).rejected["column"].tolist() == ["活动名称"]


def test_services_without_enterprise_and_code_are_rejected(raw_dir: Path) -> None:
    rows = [SERVICE_HEADER, [1, "", "", "2025-03-05", "政策咨询", "是"]]
    write_csv(raw_dir / "s.csv", rows)
    rejected = clean_dir(raw_dir).rejected
    assert rejected["reason"].tolist() == ["企业名称 和 统一社会信用代码 都为空"]


def test_services_with_only_a_code_column_reject_an_empty_code(raw_dir: Path) -> None:
    write_csv(
        raw_dir / "s.csv",
        [["信用代码", "服务日期"], [VALID_CODE, "2025-03-05"], ["", "2025-03-06"]],
    )
    result = clean_dir(raw_dir)
    assert result.tables["services"]["credit_code"].tolist() == [VALID_CODE]
    assert result.rejected[["source_row", "column"]].values.tolist() == [[3, "信用代码"]]


def test_placeholder_in_an_optional_date_is_missing_not_rejected(raw_dir: Path) -> None:
    rows = [
        APPEAL_HEADER,
        ["A1", "甲", "2025-03-01", "办理中", "-"],
        ["A2", "乙", "2025-03-02", "已办结", "无"],
    ]
    write_csv(raw_dir / "a.csv", rows)
    result = clean_dir(raw_dir)
    assert len(result.rejected) == 0
    assert result.tables["appeals"]["closed"].isna().all()


# ---------------------------------------------------------------- summary rows and conservation


def test_summary_rows_are_skipped_and_counted(raw_dir: Path) -> None:
    rows = [
        ACTIVITY_HEADER,
        *activity_rows(2),
        [None, None, None, None, None],
        ["合计", None, None, None, 21],
        [None, "总计", None, None, 21],
        [None, None, "小计：2场"],
        [None, "总计划内活动", "2025-03-20", "线下", 3],
    ]
    write_xlsx(raw_dir / "a.xlsx", {"S": rows})
    result = clean_dir(raw_dir)
    assert result.tables["activities"]["title"].tolist()[-1] == "总计划内活动"
    counts = quality(result, "a.xlsx")
    assert counts["summary_rows"] == 3
    assert counts["rows_read"] == 6
    assert counts["rows_kept"] == 3
    assert counts["blank_rows"] == 1
    assert len(result.rejected) == 0


def test_conservation_across_sheets_and_csvs(raw_dir: Path) -> None:
    sheets = {
        "1月": [[TITLE], ACTIVITY_HEADER, *activity_rows(3), [None, "合计", None, None, 33]],
        "2月": [ACTIVITY_HEADER, *activity_rows(2), [9, "坏日期", "3月9日", "线下", 1], []],
        "3月": [ACTIVITY_HEADER, [1, "", "2025-03-01", "线下", 1]],
    }
    write_xlsx(raw_dir / "2025.xlsx", sheets)
    csv_rows = [
        ACTIVITY_HEADER,
        *activity_rows(4),
        [],
        ["小计", "", "", "", ""],
        [5, "x", "bad", "", ""],
    ]
    write_csv(raw_dir / "q1.csv", csv_rows, encoding="gbk")
    result = clean_dir(raw_dir)
    assert_conserved(result)
    xlsx = quality(result, "2025.xlsx")
    assert xlsx == {
        "rows_read": 8,
        "rows_kept": 3,
        "rows_rejected": 2,
        "duplicates": 2,
        "summary_rows": 1,
        "blank_rows": 0,
    }
    csv = quality(result, "q1.csv")
    assert csv["rows_read"] == 6  # the blank line is not a row
    assert csv["blank_rows"] == 1
    assert csv["summary_rows"] == 1
    assert csv["rows_rejected"] == 1
    assert csv["rows_kept"] + csv["duplicates"] == 4
    assert csv["duplicates"] == 3  # the first three repeat the workbook's 1月 rows


def test_summarize_quality_covers_every_table(raw_dir: Path) -> None:
    write_csv(raw_dir / "a.csv", [ACTIVITY_HEADER, *activity_rows(2), *activity_rows(1)])
    summary = summarize_quality(clean_dir(raw_dir))
    assert set(summary) == {
        "activities",
        "services",
        "appeals",
        "publications",
        "institutions",
        "experts",
        "courses",
        "staff",
    }
    assert summary["activities"]["rows_read"] == 3
    assert summary["activities"]["duplicates"] == 1
    assert summary["services"]["rows_read"] == 0


# ---------------------------------------------------------------- duplicates


def test_activities_dedupe_on_normalised_title_and_date(raw_dir: Path) -> None:
    write_csv(
        raw_dir / "a.csv",
        [
            ACTIVITY_HEADER,
            [1, "“小微你好”专场", "2025-03-05", "线下", 10],
            [2, "小微你好\u200b专场", "2025/3/5 14:00", "线上", 12],
            [3, '"小微你好" 专场', "2025年3月5日", "", ""],
            [4, "小微你好专场", "2025-03-06", "线下", 10],
        ],
    )
    result = clean_dir(raw_dir)
    assert result.tables["activities"]["source_row"].tolist() == [2, 5]
    assert result.duplicates["source_row"].tolist() == [3, 4]
    assert result.duplicates["kept_row"].tolist() == [2, 2]


def test_duplicates_across_files_report_the_kept_rows_lineage(raw_dir: Path) -> None:
    write_xlsx(raw_dir / "a.xlsx", {"3月": [[TITLE], ACTIVITY_HEADER, *activity_rows(2)]})
    write_csv(raw_dir / "b.csv", [ACTIVITY_HEADER, *activity_rows(3)])
    result = clean_dir(raw_dir)
    dups = result.duplicates
    assert dups[["source_file", "source_row"]].values.tolist() == [["b.csv", 2], ["b.csv", 3]]
    assert dups["kept_file"].tolist() == ["a.xlsx", "a.xlsx"]
    assert dups["kept_sheet"].tolist() == ["3月", "3月"]
    assert dups["kept_row"].tolist() == [3, 4]
    assert dups["table"].tolist() == ["activities", "activities"]
    assert result.tables["activities"]["source_file"].tolist() == ["a.xlsx", "a.xlsx", "b.csv"]


def test_services_dedupe_on_credit_code_else_name_date_and_type(raw_dir: Path) -> None:
    rows = [
        SERVICE_HEADER,
        [1, "甲公司", VALID_CODE, "2025-03-05", "政策咨询", "是"],
        [2, "甲公司（更名）", VALID_CODE.lower(), "2025-03-05", "政策咨询", "是"],  # same code
        [3, "乙公司", "", "2025-03-05", "政策咨询", "否"],
        [4, " 乙公司 ", "", "2025-03-05", "政策咨询", "否"],  # same name
        [5, "乙公司", "", "2025-03-05", "融资对接", "否"],  # other type
        [6, "乙公司", "", "2025-03-06", "政策咨询", "否"],  # other day
        [7, "甲公司", "", "2025-03-05", "政策咨询", "是"],  # no code: compared by name
    ]
    write_csv(raw_dir / "s.csv", rows)
    result = clean_dir(raw_dir)
    assert result.tables["services"]["source_row"].tolist() == [2, 4, 6, 7, 8]
    assert result.duplicates[["source_row", "kept_row"]].values.tolist() == [[3, 2], [5, 4]]


@pytest.mark.parametrize("closed_first", [True, False])
def test_appeals_keep_the_closed_status_whatever_the_file_order(
    raw_dir: Path, closed_first: bool
) -> None:
    closed = ["A1", "甲", "2025-03-01", "已办结", "2025-03-10"]
    open_ = ["A1", "甲", "2025-03-01", "办理中", ""]
    first, second = (closed, open_) if closed_first else (open_, closed)
    write_csv(raw_dir / "a.csv", [APPEAL_HEADER, first, ["A2", "乙", "2025-03-02", "办理中", ""]])
    write_csv(raw_dir / "b.csv", [APPEAL_HEADER, second])
    result = clean_dir(raw_dir)
    kept = result.tables["appeals"]
    assert kept["appeal_id"].tolist() == ["A1", "A2"] if closed_first else ["A2", "A1"]
    assert kept.loc[kept["appeal_id"] == "A1", "status"].tolist() == ["已办结"]
    dup = result.duplicates.iloc[0]
    winner = "a.csv" if closed_first else "b.csv"
    assert dup["kept_file"] == winner
    assert dup["source_file"] != winner
    assert_conserved(result)


def test_appeals_dedupe_prefers_a_closing_date_among_equal_statuses() -> None:
    frame = pd.DataFrame(
        {
            "appeal_id": ["A1", "A1"],
            "status": ["已办结", "已办结"],
            "closed": [pd.NaT, pd.Timestamp("2025-03-01")],
            "source_file": ["a", "b"],
            "source_sheet": [None, None],
            "source_row": [2, 2],
        }
    )
    kept, dups = dedupe_table(frame, "appeals")
    assert kept["source_file"].tolist() == ["b"]
    assert dups["kept_file"].tolist() == ["b"]


def test_publications_dedupe_on_title_date_and_channel(raw_dir: Path) -> None:
    rows = [
        ["发布日期", "标题", "渠道"],
        ["2025-03-05", "惠企政策速递", "微信公众号"],
        ["2025-03-05", "「惠企政策速递」", "微信公众号"],
        ["2025-03-05", "惠企政策速递", "网站"],
        ["2025-03-05", "惠企政策速递", ""],
        ["2025-03-05", "惠企政策速递", ""],
    ]
    write_csv(raw_dir / "p.csv", rows)
    result = clean_dir(raw_dir)
    assert result.tables["publications"]["source_row"].tolist() == [2, 4, 5]
    assert result.duplicates["source_row"].tolist() == [3, 6]


def test_rosters_dedupe_identical_rows_only(raw_dir: Path) -> None:
    rows = [
        ["姓名", "是否专职运营", "学历"],
        ["张三", "是", "本科"],
        ["张三", "是", "本科"],
        ["张三", "否", "本科"],
    ]
    write_csv(raw_dir / "staff.csv", rows)
    result = clean_dir(raw_dir)
    assert result.tables["staff"]["source_row"].tolist() == [2, 4]


def test_dedupe_of_an_empty_table() -> None:
    frame = clean_exports(read_raw_dir(Path("/nonexistent-raw"))).tables["services"]
    kept, dups = dedupe_table(frame, "services")
    assert len(kept) == 0 and len(dups) == 0


# ---------------------------------------------------------------- the processed layer


def _raw_state(raw_dir: Path) -> dict[str, tuple[int, str]]:
    return {
        p.name: (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
        for p in sorted(raw_dir.rglob("*"))
        if p.is_file()
    }


def test_write_processed_writes_every_output(raw_dir: Path, tmp_path: Path) -> None:
    write_xlsx(
        raw_dir / "a.xlsx", {"S": [ACTIVITY_HEADER, *activity_rows(2), [1, "x", "bad", "", ""]]}
    )
    write_csv(raw_dir / "b.csv", [ACTIVITY_HEADER, *activity_rows(1)])
    (raw_dir / "~$a.xlsx").write_bytes(b"lock")
    before = _raw_state(raw_dir)
    out = tmp_path / "processed"
    written = write_processed(clean_dir(raw_dir), out)
    assert _raw_state(raw_dir) == before  # raw files never modified
    names = {p.name for p in written}
    tables = ["activities", "services", "appeals", "publications"]
    tables += ["institutions", "experts", "courses", "staff"]
    assert {f"{t}.parquet" for t in tables} <= names
    for name in ("rejected", "duplicates", "warnings"):
        assert {f"{name}.parquet", f"{name}.csv"} <= names
    assert {"quality.csv", "manifest.json"} <= names
    assert sorted(p.name for p in out.iterdir()) == sorted(names)  # no temp files left
    activities = pd.read_parquet(out / "activities.parquet")
    assert len(activities) == 2
    assert pq.read_schema(out / "activities.parquet").names[-3:] == [
        "source_file",
        "source_sheet",
        "source_row",
    ]
    rejected = read_issue_csv(out / "rejected.csv")
    assert rejected["source_file"].tolist() == ["a.xlsx"]
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    digests = {f["path"]: f["sha256"] for f in manifest["files"]}
    assert digests["a.xlsx"] == before["a.xlsx"][1]
    assert digests["b.csv"] == before["b.csv"][1]
    assert manifest["quality"]["activities"]["duplicates"] == 1
    assert any("~$a.xlsx" in n for n in manifest["notes"])


def test_write_processed_twice_replaces_files_cleanly(raw_dir: Path, tmp_path: Path) -> None:
    write_csv(raw_dir / "a.csv", [ACTIVITY_HEADER, *activity_rows(2)])
    out = tmp_path / "out"
    first = write_processed(clean_dir(raw_dir), out)
    second = write_processed(clean_dir(raw_dir), out)
    assert sorted(first) == sorted(second)
    assert sorted(out.iterdir()) == sorted(second)


def test_write_processed_leaves_no_temp_file_when_a_write_fails(
    raw_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_csv(raw_dir / "a.csv", [ACTIVITY_HEADER, *activity_rows(1)])
    result = clean_dir(raw_dir)

    def broken(self: pd.DataFrame, path: Any, **kwargs: Any) -> None:
        Path(path).write_bytes(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", broken)
    out = tmp_path / "out"
    with pytest.raises(OSError, match="disk full"):
        write_processed(result, out)
    names = [p.name for p in out.iterdir()]
    assert not [n for n in names if n.startswith(".") or n.endswith(".tmp")]
    assert not [n for n in names if n.endswith(".parquet")]
    assert "manifest.json" not in names


def test_write_processed_keeps_the_date_as_a_day(raw_dir: Path, tmp_path: Path) -> None:
    write_csv(raw_dir / "a.csv", [ACTIVITY_HEADER, [1, "a", "2025-03-05 14:30", "线下", 1]])
    write_processed(clean_dir(raw_dir), tmp_path / "o")
    table = pd.read_parquet(tmp_path / "o" / "activities.parquet")
    assert table["date"].iloc[0] == pd.Timestamp(dt.date(2025, 3, 5))


def test_missing_optional_columns_are_empty_with_the_right_dtypes(raw_dir: Path) -> None:
    write_csv(raw_dir / "a.csv", [["活动名称", "活动时间"], ["a", "2025-03-01"]])
    write_csv(raw_dir / "s.csv", [["企业名称", "服务日期"], ["甲", "2025-03-01"]])
    result = clean_dir(raw_dir)
    empty = clean_exports(read_raw_dir(raw_dir.parent / "nothing")).tables
    for name in ("activities", "services"):
        table = result.tables[name]
        assert table.dtypes.to_dict() == empty[name].dtypes.to_dict(), name
    activity = result.tables["activities"].iloc[0]
    assert pd.isna(activity["format"]) and pd.isna(activity["enterprises"])
    service = result.tables["services"].iloc[0]
    assert pd.isna(service["credit_code"])
    assert not service["above_scale"] and service["credit_code_valid"]


def test_each_rejected_row_carries_the_value_of_its_own_failing_column(raw_dir: Path) -> None:
    rows = [
        ACTIVITY_HEADER,
        [1, "", "2025-03-01", "线下", 1],
        [2, "b", "下周三", "线下", 1],
        [3, "c", "2025-03-03", "线下", 1],
        [4, "d", "3/4", "线下", 1],
    ]
    write_csv(raw_dir / "a.csv", rows)
    rejected = clean_dir(raw_dir).rejected
    assert rejected[["source_row", "column", "value"]].values.tolist() == [
        [2, "活动名称", ""],
        [3, "活动时间", "下周三"],
        [5, "活动时间", "3/4"],
    ]


# ---------------------------------------------------------------- processed tables built lazily


def _services_rows() -> list[list[Any]]:
    return [
        SERVICE_HEADER,
        [1, "甲公司", VALID_CODE, "2025-03-05", "政策咨询", "是"],
        [2, "乙公司", "91330382781819720A", "2025-03-05 09:30", "融资对接", "否"],
        [3, "", "", "2025-03-05", "政策咨询", "是"],  # rejected: neither name nor code
        [4, "甲公司", VALID_CODE, "2025-03-05", "政策咨询", "是"],  # duplicate of row 2
        [5, "丙公司", "", "待定", "政策咨询", ""],  # rejected: no date
        [6, "", "", "2025-03-05", "政策咨询", "是"],  # rejected, with the same key as row 4
        [7, "丁公司", "", "2025-03-07", "", "√"],
        ["合计", "", "", "", "", ""],
    ]


def test_parquet_written_from_codes_is_the_parquet_of_the_finished_table(
    raw_dir: Path, tmp_path: Path
) -> None:
    write_csv(raw_dir / "s.csv", _services_rows())
    write_csv(raw_dir / "a.csv", [ACTIVITY_HEADER, *activity_rows(2), [3, "x", "", "线上", "很多"]])
    result = clean_dir(raw_dir)
    write_processed(result, tmp_path / "out")
    for name, table in result.tables.items():  # (looking a table up builds its strings)
        written = tmp_path / "out" / f"{name}.parquet"
        table.to_parquet(tmp_path / "expected.parquet", index=False)
        expected = tmp_path / "expected.parquet"
        assert pq.read_schema(written).equals(pq.read_schema(expected), check_metadata=True)
        assert pq.read_table(written).equals(pq.read_table(expected)), name
        back = pd.read_parquet(written)
        pd.testing.assert_frame_equal(back, pd.read_parquet(expected))
    services = pd.read_parquet(tmp_path / "out" / "services.parquet")
    assert services["enterprise"].dtype == "str"
    assert services["source_sheet"].isna().all()
    assert services["source_row"].tolist() == [2, 3, 8]


def test_tables_are_finished_on_first_look_up(raw_dir: Path) -> None:
    write_csv(raw_dir / "s.csv", _services_rows())
    result = clean_dir(raw_dir)
    tables = result.tables
    assert isinstance(tables.compact("services")["enterprise"].dtype, pd.CategoricalDtype)
    services = tables["services"]
    assert services is tables["services"]
    assert services["enterprise"].tolist() == ["甲公司", "乙公司", "丁公司"]
    assert services["credit_code_valid"].tolist() == [True, False, True]
    assert list(tables) == list(empty_table_names())
    assert dict(tables)["services"] is services


def empty_table_names() -> list[str]:
    return list(clean_exports(read_raw_dir(Path("/nonexistent-raw"))).tables)


def test_rejected_rows_are_never_duplicates_or_kept_rows(raw_dir: Path) -> None:
    write_csv(raw_dir / "s.csv", _services_rows())
    write_csv(raw_dir / "t.csv", _services_rows()[:4])  # rows 2-4 again, in a second file
    result = clean_dir(raw_dir)
    assert result.rejected[["source_file", "source_row"]].values.tolist() == [
        ["s.csv", 4],
        ["s.csv", 6],
        ["s.csv", 7],
        ["t.csv", 4],
    ]
    assert result.duplicates[
        ["source_file", "source_row", "kept_file", "kept_row"]
    ].values.tolist() == [
        ["s.csv", 5, "s.csv", 2],
        ["t.csv", 2, "s.csv", 2],
        ["t.csv", 3, "s.csv", 3],
    ]
    kept = result.tables["services"]
    assert kept[["source_file", "source_row"]].values.tolist() == [
        ["s.csv", 2],
        ["s.csv", 3],
        ["s.csv", 8],
    ]
    assert_conserved(result)


def test_appeals_with_rejected_rows_keep_the_most_advanced_status(raw_dir: Path) -> None:
    rows = [
        APPEAL_HEADER,
        ["A1", "甲", "2025-03-01", "办理中", ""],
        ["A1", "甲", "坏日期", "已办结", "2025-03-10"],  # rejected: never the kept row
        ["", "乙", "2025-03-02", "已办结", ""],  # rejected: no id
        ["A1", "甲", "2025-03-01", "已办结", "2025-03-10"],
        ["A2", "乙", "2025-03-02", "已办结", ""],
        ["", "乙", "2025-03-02", "已办结", ""],  # rejected again
    ]
    write_csv(raw_dir / "a.csv", rows)
    result = clean_dir(raw_dir)
    assert result.tables["appeals"]["source_row"].tolist() == [5, 6]
    assert result.duplicates[["source_row", "kept_row"]].values.tolist() == [[2, 5]]
    assert result.rejected["source_row"].tolist() == [3, 4, 7]
    assert_conserved(result)


@pytest.mark.parametrize("where", ["top", "bottom", "middle"])
def test_blank_and_summary_rows_anywhere_keep_row_numbers(raw_dir: Path, where: str) -> None:
    body = [*activity_rows(3), [4, "", "2025-03-04", "线下", 1]]
    extra = [[None, None, None, None, None], ["合计", None, None, None, 33]]
    rows = {
        "top": [ACTIVITY_HEADER, *extra, *body],
        "bottom": [ACTIVITY_HEADER, *body, *extra],
        "middle": [ACTIVITY_HEADER, *body[:2], *extra, *body[2:]],
    }[where]
    write_csv(raw_dir / "a.csv", rows)
    result = clean_dir(raw_dir)
    numbers = [i + 1 for i, r in enumerate(rows) if r in body]
    assert result.tables["activities"]["source_row"].tolist() == numbers[:3]
    assert result.rejected["source_row"].tolist() == numbers[3:]
    counts = quality(result, "a.csv")
    assert (counts["summary_rows"], counts["blank_rows"], counts["rows_kept"]) == (1, 1, 3)


def test_a_failed_write_replaces_no_earlier_output(
    raw_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_csv(raw_dir / "a.csv", [ACTIVITY_HEADER, *activity_rows(2)])
    out = tmp_path / "out"
    write_processed(clean_dir(raw_dir), out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    write_csv(raw_dir / "a.csv", [ACTIVITY_HEADER, *activity_rows(3)])
    result = clean_dir(raw_dir)

    def broken(self: pd.DataFrame, path: Any, **kwargs: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", broken)
    with pytest.raises(OSError, match="disk full"):
        write_processed(result, out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
