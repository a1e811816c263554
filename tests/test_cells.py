"""Issue 10 items 2 and 3: cells a user expects read (day ranges, weekdays, two headers of one
column, error values, uncomputed formulas) and no personal cell value anywhere under reports/."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import openpyxl
import pytest
from conftest import write_csv

from qyzj_analytics.ingest.clean import clean_exports, clean_raw_table
from qyzj_analytics.ingest.delimited import read_csv_export
from qyzj_analytics.ingest.read import read_raw_dir
from qyzj_analytics.ingest.xlsx import read_workbook

PHONE, ID_NUMBER, NAME = "13812345678", "330382199003071234", "张俊刚"


def _clean_csv(rows: list[list[str | None]]):
    text = "\n".join(",".join(c or "" for c in r) for r in rows) + "\n"
    return clean_raw_table(read_csv_export(text.encode("utf-8"), "t.csv"))


def _reasons(frame) -> dict[int, str]:
    return dict(zip(frame["source_row"], frame["reason"], strict=True))


# ------------------------------------------------------------------------------ day ranges, weekdays


def test_day_ranges_and_weekdays_keep_the_first_day_with_a_warning() -> None:
    kept, rejected, warnings = _clean_csv(
        [
            ["活动名称", "活动时间"],
            ["a", "2025年3月5日-3月7日"],
            ["b", "2025.3.5-3.7"],
            ["c", "2025-03-05至2025-03-07"],
            ["d", "2025/3/5~3/7"],
            ["e", "2025年3月5日（周三）"],
            ["f", "2025-03-06 星期四"],
            ["g", "2025-03-06 星期五"],
            ["h", "3月5日-3月7日"],
        ]
    )
    assert kept["date"].dt.strftime("%m-%d").tolist() == ["03-05"] * 5 + ["03-06"] * 2
    assert _reasons(warnings) == {
        2: "日期为区间，取第一天",
        3: "日期为区间，取第一天",
        4: "日期为区间，取第一天",
        5: "日期为区间，取第一天",
        8: "星期与日期不符，按日期处理",
    }
    assert rejected["source_row"].tolist() == [9]  # no year: still rejected


# ------------------------------------------------------------------------------ two headers


def test_two_headers_of_one_column_take_the_filled_one_per_row(tmp_path: Path) -> None:
    rows = [
        ["活动名称", "活动时间", "活动日期"],
        ["a", None, "2025-03-05"],
        ["b", "2025-03-06", "2025/3/6"],
        ["c", "2025-03-07", "2025-03-08"],
        ["d", None, None],
    ]
    wb = openpyxl.Workbook()
    for row in rows:
        wb.active.append(row)
    wb.save(tmp_path / "a.xlsx")
    text = "\n".join(",".join(c or "" for c in r) for r in rows) + "\n"
    for raw in (
        read_csv_export(text.encode("utf-8"), "a.csv"),
        read_workbook(tmp_path / "a.xlsx", "a.xlsx")[0][0],
    ):
        kept, rejected, warnings = clean_raw_table(raw)
        assert kept["date"].dt.strftime("%m-%d").tolist() == ["03-05", "03-06", "03-07"]
        assert _reasons(rejected) == {5: "必填列为空"}
        assert _reasons(warnings) == {4: "活动时间 和 活动日期 都有值且不同，使用 活动时间"}


# ------------------------------------------------------------------------------ error values, formulas


def test_error_values_in_csv_have_their_own_reason() -> None:
    kept, rejected, warnings = _clean_csv(
        [
            ["活动名称", "活动时间", "参与人数", "活动地点"],
            ["a", "#N/A", "3", "x"],
            ["#VALUE!", "2025-03-05", "3", "x"],
            ["c", "2025-03-05", "#DIV/0!", "#REF!"],
            ["d", "=SUM(A1:A3)", "3", "x"],
        ]
    )
    assert _reasons(rejected) == {
        2: "单元格为错误值 #N/A",
        3: "单元格为错误值 #VALUE!",
        5: "公式未计算，请用 Excel 打开并保存",
    }
    assert kept["title"].tolist() == ["c"]
    assert kept["location"].isna().all() and kept["participants"].isna().all()
    assert sorted(warnings["reason"]) == [
        "单元格为错误值 #DIV/0!，按空值处理",
        "单元格为错误值 #REF!，按空值处理",
    ]


def _xlsx_with_marked_cells(path: Path) -> Path:
    """An xlsx whose B2 is an error value, B3 and C4 formulas without a value (as tools save)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["活动名称", "活动时间", "参与人数"])
    ws.append(["a", "ERR", 3])
    ws.append(["b", "=DATE(2025,3,5)", 3])
    ws.append(["c", "2025-03-05", "=SUM(1,2)"])
    wb.save(path)
    with zipfile.ZipFile(path) as src:
        parts = {n: src.read(n) for n in src.namelist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    plain = '<c r="B2" t="inlineStr"><is><t>ERR</t></is></c>'
    assert plain in sheet and "<f>SUM(1,2)</f>" in sheet
    parts["xl/worksheets/sheet1.xml"] = sheet.replace(
        plain, '<c r="B2" t="e"><f>VLOOKUP(A2,X:Y,2,0)</f><v>#N/A</v></c>'
    ).encode()
    with zipfile.ZipFile(path, "w") as out:
        for name, data in parts.items():
            out.writestr(name, data)
    return path


def test_python_calamine_reads_error_and_formula_cells_as_empty(tmp_path: Path) -> None:
    from python_calamine import CalamineWorkbook

    path = _xlsx_with_marked_cells(tmp_path / "m.xlsx")
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    assert [rows[1][1], rows[2][1], rows[3][2]] == ["", "", ""]  # why sheetcells exists


def test_error_and_formula_cells_in_xlsx_are_rejected_not_empty(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    _xlsx_with_marked_cells(raw / "m.xlsx")
    result = clean_exports(read_raw_dir(raw))
    assert _reasons(result.rejected) == {
        2: "单元格为错误值 #N/A",
        3: "公式未计算，请用 Excel 打开并保存",
    }
    assert _reasons(result.warnings) == {4: "公式未计算，请用 Excel 打开并保存，按空值处理"}
    counts = result.files.iloc[0]
    assert (counts["rows_read"], counts["rows_kept"], counts["rows_rejected"]) == (3, 1, 2)


# ------------------------------------------------------------------------------ no personal data


@pytest.mark.slow
def test_no_phone_id_or_name_from_a_date_column_under_reports(tmp_path: Path) -> None:
    from reporting import QUARTER, report_main, report_notebooks, write_tiny_raw
    from test_report import _texts_of

    raw = write_tiny_raw(tmp_path / "raw")
    write_csv(
        raw / "服务.csv",
        [
            ["企业名称", "服务日期", "服务类型"],
            ["甲公司", "2025-08-01", "政策咨询"],
            ["乙公司", PHONE, "融资"],
            ["丙公司", ID_NUMBER, "融资"],
            ["丁公司", NAME, "融资"],
            ["戊公司", f"{PHONE}.0", "融资"],
        ],
    )
    out = tmp_path / "reports"
    argv = ["--quarter", QUARTER, "--raw", str(raw), "--out", str(out), "--draws", "200"]
    code, err = report_main([*argv, "--notebooks", str(report_notebooks(tmp_path))])
    assert code == 0, err
    scanned = 0
    for path in sorted(out.rglob("*")):
        if path.is_file():
            for where, text in _texts_of(path):
                for secret in (PHONE, ID_NUMBER, NAME):
                    assert secret not in text, f"{path.relative_to(out)} ({where}): {secret}"
                scanned += 1
            if path.suffix == ".ipynb":  # also JSON-escaped text
                raw_json = path.read_text(encoding="utf-8")
                assert json.dumps(NAME)[1:-1] not in raw_json
    assert scanned >= 5
