"""Data entry at the source (issue 15): the templates of `qyzj template` and `qyzj check`."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from qyzj_analytics.cli import main
from qyzj_analytics.contract.model import load_contract
from qyzj_analytics.entry.fields import list_fields, template_name
from qyzj_analytics.entry.template import GUIDE_SHEET, LIST_SHEET
from qyzj_analytics.ingest.parse import normalize_header
from qyzj_analytics.ingest.read import read_export_file
from qyzj_analytics.ingest.schemas import TABLES, recognize_header

BUNDLED = Path(__file__).resolve().parents[1] / "qyzj_analytics" / "contract" / "2025.yaml"
HEADERS = {h for spec in TABLES.values() for col in spec.columns for h in col.headers}
D = dt.datetime


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("templates") / "模板"
    assert main(["template", "--out", str(out)]) == 0
    return out


def data_sheet(path: Path):
    return load_workbook(path).worksheets[0]


def validations(sheet) -> dict[str, Any]:
    """Header text -> the data validation covering that column below the header."""
    by_letter = {c.column_letter: c.value for c in sheet[1]}
    out = {}
    for dv in sheet.data_validations.dataValidation:
        for rng in dv.sqref.ranges:
            out[by_letter[rng.coord.split(":")[0].rstrip("0123456789")]] = dv
            assert rng.min_row == 2, "the header row itself is never validated"
    return out


def listed(workbook, dv) -> list[str]:
    """The words of a list validation: the cells of the hidden sheet's range it names."""
    sheet_name, cells = dv.formula1.split("!")
    assert sheet_name.strip("'") == LIST_SHEET
    return [c.value for row in workbook[LIST_SHEET][cells.replace("$", "")] for c in row]


def test_one_template_per_table_with_the_standard_headers(templates: Path) -> None:
    for table, spec in TABLES.items():
        path = templates / template_name(table)
        assert path.name == f"{spec.name_zh}_模板.xlsx"
        sheet = data_sheet(path)
        header = [c.value for c in sheet[1]]
        # every column, by the first header the reader accepts for it; required ones first
        assert sorted(header) == sorted(col.headers[0] for col in spec.columns)
        required = [spec.column(c).headers[0] for c in (*spec.required, *spec.one_of)]
        assert set(header[: len(required)]) == set(required)
        best = recognize_header(header)[0]
        assert best.table == table and best.complete and best.score == len(spec.columns)
        assert sheet.freeze_panes == "A2"
        assert sheet.max_row == 1, "no example row in the data area: it would be counted"
        assert all(sheet.column_dimensions[c.column_letter].width >= 10 for c in sheet[1])
        # the reader finds exactly this table (the instructions and list sheets are skipped)
        exports = read_export_file(path)
        assert not exports.errors
        assert [(t.table, t.sheet, len(t.source_row)) for t in exports.tables] == [
            (table, spec.name_zh, 0)
        ]


def test_drop_downs_hold_the_contract_lists(templates: Path) -> None:
    contract = load_contract()
    cases = {
        ("activities", "活动形式"): ["线下", "线上", "线上+线下"],
        ("appeals", "办理状态"): list(
            dict.fromkeys(
                contract.open_statuses + contract.closed_statuses + contract.not_accepted_statuses
            )
        ),
        ("staff", "是否专职运营"): ["是", "否"],
        ("staff", "学历"): list(contract.education_levels),
        ("staff", "职称"): list(contract.title_levels),
        ("institutions", "状态"): list(contract.active_statuses + contract.inactive_statuses),
        ("services", "是否规上"): ["是", "否"],
    }
    for (table, header), words in cases.items():
        workbook = load_workbook(templates / template_name(table))
        assert workbook[LIST_SHEET].sheet_state == "hidden"
        dv = validations(workbook.worksheets[0])[header]
        assert dv.type == "list" and dv.showErrorMessage
        assert listed(workbook, dv) == words, (table, header)
        assert "下拉" in dv.error and all(w in dv.prompt for w in words[:3])
    assert "已受理" in cases[("appeals", "办理状态")] and "中专" in cases[("staff", "学历")]
    # free text stays free: 活动类型 (tags cross-count) carries the tag keywords in its message
    dv = validations(data_sheet(templates / template_name("activities")))["活动类型"]
    assert dv.type is None
    assert all(w in dv.prompt for words in contract.tag_keywords.values() for w in words)
    # a template without any closed list has no list sheet
    assert LIST_SHEET not in load_workbook(templates / template_name("experts")).sheetnames


def test_dates_counts_and_codes_are_validated_in_chinese(templates: Path) -> None:
    kinds = {"date": 0, "count": 0, "code": 0}
    for table in TABLES:
        sheet = data_sheet(templates / template_name(table))
        found = validations(sheet)
        for field in list_fields(table, load_contract()):
            dv = found[field.header]
            assert dv.showInputMessage and dv.showErrorMessage and dv.errorStyle == "stop"
            for text in (dv.promptTitle, dv.prompt, dv.errorTitle, dv.error):
                assert text and any("\u4e00" <= ch <= "\u9fff" for ch in text), text
            assert len(dv.prompt) <= 255 and len(dv.error) <= 255 and len(dv.promptTitle) <= 32
            if field.kind == "date":
                assert (dv.type, dv.operator) == ("date", "between")
                assert dv.formula1.startswith("DATE(") and dv.formula2.startswith("DATE(")
                assert "2025-01-01 至 2025-12-31" in dv.prompt
            elif field.kind == "count":
                assert (dv.type, dv.operator, dv.formula1) == ("whole", "greaterThanOrEqual", "0")
            elif field.kind == "code":
                assert (dv.type, dv.operator, dv.formula1) == ("textLength", "equal", "18")
            else:
                continue
            kinds[field.kind] += 1
    assert kinds == {"date": 8, "count": 2, "code": 1}


def test_instructions_sheet_explains_each_column(templates: Path) -> None:
    contract = load_contract()
    for table in TABLES:
        workbook = load_workbook(templates / template_name(table))
        assert workbook.sheetnames[:2] == [TABLES[table].name_zh, GUIDE_SHEET]
        cells = [c for row in workbook[GUIDE_SHEET].iter_rows(values_only=True) for c in row]
        text = "\n".join(str(c) for c in cells if c is not None)
        for field in list_fields(table, contract):
            assert f"列：{field.header}" in text
            example = field.example
            if isinstance(example, dt.date):  # read back as a datetime
                example = dt.datetime.combine(example, dt.time())
            assert example in cells  # the example row, down a column
        assert "计入指标的条件" in text and "qyzj check" in text
        # no cell reads as a header: the sheet is never taken for a table
        assert not [c for c in cells if isinstance(c, str) and normalize_header(c) in HEADERS]
    text = str(
        [
            c.value
            for row in load_workbook(templates / "人员_模板.xlsx")[GUIDE_SHEET].rows
            for c in row
        ]
    )
    assert "大专/中级以上人员比例" in text and "专职运营人员" in text


def fill(template: Path, rows: list[dict[str, Any]], path: Path) -> Path:
    """Type ``rows`` (header -> value) into a copy of ``template``, as a person in Excel would."""
    workbook = load_workbook(template)
    sheet = workbook.worksheets[0]
    column = {c.value: c.column for c in sheet[1]}
    for i, row in enumerate(rows, start=2):
        for header, value in row.items():
            cell = sheet.cell(row=i, column=column[header], value=value)
            if isinstance(value, dt.datetime):
                cell.number_format = "yyyy-mm-dd"
    workbook.save(path)
    return path


ROWS: dict[str, list[dict[str, Any]]] = {
    "activities": [
        {
            "活动名称": "“小微你好”走进柳市小微园",
            "活动时间": D(2025, 3, 5),
            "活动形式": "线下",
            "活动类型": "政策宣讲",
            "参与企业数": 20,
        },
        {
            "活动名称": "企业沙龙",
            "活动时间": D(2025, 4, 10),
            "活动形式": "线上+线下",
            "活动类型": "服务联盟",
        },
        {"活动名称": "直播课", "活动时间": D(2025, 5, 6), "活动形式": "线上"},
        {"活动名称": "去年的活动", "活动时间": D(2024, 12, 20), "活动形式": "线下"},
    ],
    "services": [
        {
            "企业名称": f"乐清市测试{i}电器有限公司",
            "服务日期": D(2025, 2, i),
            "服务类型": "政策咨询",
            "是否规上": "是" if i % 2 else "否",
        }
        for i in range(1, 4)
    ],
    "appeals": [
        {
            "诉求编号": "SQ-1",
            "提交时间": D(2025, 3, 1),
            "办理状态": "已办结",
            "办结时间": D(2025, 3, 5),
        },
        {"诉求编号": "SQ-2", "提交时间": D(2025, 4, 1), "办理状态": "办理中"},
        {"诉求编号": "SQ-3", "提交时间": D(2025, 5, 1), "办理状态": "不予受理"},
        {
            "诉求编号": "SQ-4",
            "提交时间": D(2025, 6, 1),
            "办理状态": "已办结",
            "办结时间": D(2025, 6, 3),
        },
    ],
    "publications": [
        {"发布日期": D(2025, 1, 1) + dt.timedelta(days=7 * k), "标题": f"第{k + 1}期动态"}
        for k in range(53)
    ],
    "institutions": [
        {"机构名称": "甲会计师事务所", "入驻日期": D(2024, 6, 1), "状态": "合作中"},
        {"机构名称": "乙律师事务所", "入驻日期": D(2024, 6, 1), "状态": "合作中"},
        {"机构名称": "丙咨询公司", "状态": "正常"},
        {"机构名称": "丁检测公司", "入驻日期": D(2025, 1, 5), "状态": "停止合作"},
    ],
    "experts": [
        {"姓名": "专家甲", "聘任日期": D(2025, 2, 1)},
        {"姓名": "专家乙", "聘任日期": D(2024, 2, 1)},
        {"姓名": "专家丙"},
        {"姓名": "专家丁", "聘任日期": D(2026, 2, 1)},
    ],
    "courses": [
        {"课程名称": "数字化转型", "录用日期": D(2025, 5, 10)},
        {"课程名称": "出口合规", "录用日期": D(2025, 9, 1)},
        {"课程名称": "旧课", "录用日期": D(2024, 9, 1)},
    ],
    "staff": [
        {"姓名": "员工甲", "是否专职运营": "是", "学历": "本科", "职称": "无"},
        {"姓名": "员工乙", "是否专职运营": "是", "学历": "高中", "职称": "中级"},
        {"姓名": "员工丙", "是否专职运营": "否", "学历": "中专", "职称": "初级"},
        {"姓名": "员工丁", "是否专职运营": "否", "学历": "大专"},
        {"姓名": "员工戊", "是否专职运营": "否", "学历": "初中及以下", "职称": "无"},
    ],
}
EXPECTED = {
    "offline_events": 2,  # the hybrid counts offline; last year's does not count
    "alliance_events": 1,
    "park_events": 1,
    "xiaowei_nihao_events": 1,
    "policy_sessions": 1,
    "livestream_months": 0,
    "enterprises_served": 3,
    "info_weekly_coverage": 1,
    "institutions_active": 3,
    "experts_recruited": 3,
    "mingshi_courses": 2,
    "staff_fulltime_ops": 2,
    "staff_total": 5,
    "staff_qualified_share": 0.6,
}


def test_rows_typed_into_the_templates_count_exactly(
    templates: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    for table, rows in ROWS.items():
        name = template_name(table).replace("模板", "2025")
        fill(templates / template_name(table), rows, raw / name)
        assert main(["check", str(raw / name)]) == 0, capsys.readouterr().out
    capsys.readouterr()
    assert main(["kpi", "--raw", str(raw), "--as-of", "2025-12-31", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    actual = {k: v["actual"] for k, v in data["kpis"].items()}
    assert {k: actual[k] for k in EXPECTED} == pytest.approx(EXPECTED)
    assert actual["appeal_resolution_rate"] == pytest.approx(2 / 3, abs=1e-3)
    assert not data["missing_tables"]
    for table, rows in ROWS.items():
        quality = data["quality"][table]
        assert quality["rows_read"] == quality["rows_kept"] == len(rows), table
        assert quality["rows_rejected"] == quality["summary_rows"] == 0


def test_check_passes_a_good_file_and_names_the_row_of_a_bad_date(
    templates: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = fill(templates / "活动台账_模板.xlsx", ROWS["activities"], tmp_path / "good.xlsx")
    assert main(["check", str(good)]) == 0
    out = capsys.readouterr().out
    assert "通过" in out and "拒绝 0" in out and "不通过" not in out
    rows = [*ROWS["activities"], {"活动名称": "张三专访", "活动时间": "下周二", "活动形式": "线下"}]
    bad = fill(templates / "活动台账_模板.xlsx", rows, tmp_path / "bad.xlsx")
    assert main(["check", str(good), str(bad)]) == 3
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("拒绝"))
    # the sixth row as Excel shows it (header in row 1), its column and reason, the value by shape
    assert "bad.xlsx" in line and "工作表 活动台账" in line and "第 6 行" in line
    assert "列 活动时间" in line and "日期" in line and "文本，3 字" in line
    assert "下周二" not in out and "张三" not in out
    assert "不通过" in out and "共 2 个文件：1 个通过，1 个不通过" in out
    assert "填表说明" not in out and LIST_SHEET not in out  # skipped on purpose: no note


def test_check_warnings_alone_pass_and_unusable_files_fail(
    templates: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [
        {"活动名称": "沙龙", "活动时间": D(2025, 3, 5), "活动形式": "线下", "参与企业数": "若干"}
    ]
    warned = fill(templates / "活动台账_模板.xlsx", rows, tmp_path / "warned.xlsx")
    assert main(["check", str(warned)]) == 0
    out = capsys.readouterr().out
    assert "警告" in out and "第 2 行" in out and "列 参与企业数" in out and "通过" in out
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a workbook")
    assert main(["check", str(broken), str(tmp_path / "missing.xlsx")]) == 3
    out = capsys.readouterr().out
    assert "broken.xlsx" in out and "missing.xlsx" in out and "Traceback" not in out


def test_check_uses_the_columns_yaml_of_the_files_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "台账"
    folder.mkdir()
    path = folder / "活动.csv"
    path.write_text("活动名字,活动时间\n沙龙,2025-03-05\n", encoding="utf-8")
    assert main(["check", str(path)]) == 3
    capsys.readouterr()
    (folder / "columns.yaml").write_text("活动台账:\n  活动名称: [活动名字]\n", encoding="utf-8")
    assert main(["check", str(path)]) == 0, capsys.readouterr().out


def test_template_refuses_to_overwrite_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "模板"
    assert main(["template", "--out", str(out)]) == 0
    first = (out / "人员_模板.xlsx").read_bytes()
    (out / "人员_模板.xlsx").write_bytes(b"edited")
    capsys.readouterr()
    assert main(["template", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "--force" in err and "人员_模板.xlsx" in err
    assert (out / "人员_模板.xlsx").read_bytes() == b"edited"
    assert main(["template", "--out", str(out), "--force"]) == 0
    assert load_workbook(out / "人员_模板.xlsx").sheetnames[0] == "人员"
    assert len(first) > 1000
    # never into a raw folder (an empty template there would be read as an export)
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "活动.csv").write_text("活动名称,活动时间\n", encoding="utf-8")
    assert main(["template", "--out", str(raw)]) == 2
    assert "原始数据文件夹" in capsys.readouterr().err
    assert sorted(p.name for p in raw.iterdir()) == ["活动.csv"]


def test_a_new_contract_changes_the_lists(tmp_path: Path) -> None:
    text = BUNDLED.read_text(encoding="utf-8")
    for old, new in (
        (
            "title_levels: [无, 初级, 中级, 副高级, 正高级]",
            "title_levels: [无, 员级, 助理级, 中级, 高级]",
        ),
        ("offline: [线下, 现场]", "offline: [现场, 线下]"),
        ("open_statuses: [已受理, 办理中]", "open_statuses: [待处理, 办理中]"),
    ):
        assert old in text
        text = text.replace(old, new)
    config = tmp_path / "2026.yaml"
    config.write_text(text, encoding="utf-8")
    out = tmp_path / "模板"
    assert main(["template", "--out", str(out), "--config", str(config)]) == 0
    staff = load_workbook(out / "人员_模板.xlsx")
    assert listed(staff, validations(staff.worksheets[0])["职称"]) == [
        "无",
        "员级",
        "助理级",
        "中级",
        "高级",
    ]
    acts = load_workbook(out / "活动台账_模板.xlsx")
    assert listed(acts, validations(acts.worksheets[0])["活动形式"]) == [
        "现场",
        "线上",
        "线上+现场",
    ]
    appeals = load_workbook(out / "企业诉求_模板.xlsx")
    assert listed(appeals, validations(appeals.worksheets[0])["办理状态"])[:2] == [
        "待处理",
        "办理中",
    ]


def test_a_contract_without_the_full_lists_leaves_those_columns_free(tmp_path: Path) -> None:
    text = BUNDLED.read_text(encoding="utf-8")
    line = "  education_levels: [初中及以下, 高中, 中专, 大专, 本科, 硕士研究生, 博士研究生]\n"
    assert line in text
    config = tmp_path / "old.yaml"
    config.write_text(text.replace(line, ""), encoding="utf-8")
    out = tmp_path / "模板"
    assert main(["template", "--out", str(out), "--config", str(config)]) == 0
    staff = load_workbook(out / "人员_模板.xlsx")
    found = validations(staff.worksheets[0])
    assert found["学历"].type is None  # no partial drop-down refusing 高中
    assert found["职称"].type == "list"
