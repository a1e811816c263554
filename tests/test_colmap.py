"""columns.yaml: headers mapped without code, validated; the snippet an unknown export prints."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest
import yaml

from qyzj_analytics.cli import main
from qyzj_analytics.errors import DataError
from qyzj_analytics.ingest.columns import column_snippet, load_columns
from qyzj_analytics.ingest.schemas import NO_ALIASES, recognize_header

ACTIVITIES = """乐清市企业之家2025年活动台账,,,
序号,活动标题名,举办日期,活动形式
1,“小微你好”走进柳市小微园,2025-03-05,线下
2,惠企政策直播,2025/3/6,线上
"""
MAPPING = "活动台账:\n  活动名称: [活动标题名]\n  活动时间: [举办日期]\n"
SNIPPET_MARK = "columns.yaml 中加入以下内容"


def kpi(raw: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict, str]:
    """Run ``qyzj kpi --json`` on ``raw``: exit code, parsed output (or {}), stderr."""
    code = main(["kpi", "--raw", str(raw), "--as-of", "2025-06-30", "--json"])
    out, err = capsys.readouterr()
    return code, json.loads(out) if code == 0 else {}, err


@pytest.fixture
def raw(tmp_path: Path) -> Path:
    folder = tmp_path / "raw"
    folder.mkdir()
    (folder / "活动.csv").write_text(ACTIVITIES, encoding="utf-8-sig")
    return folder


def test_csv_with_unknown_headers_is_kept_with_mapping(
    raw: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (raw / "columns.yaml").write_text(MAPPING, encoding="utf-8")
    code, data, err = kpi(raw, capsys)
    assert code == 0, err
    assert data["quality"]["activities"]["rows_read"] == 2
    assert data["quality"]["activities"]["rows_kept"] == 2
    assert data["kpis"]["park_events"]["actual"] == 1
    assert data["kpis"]["policy_sessions"]["actual"] == 1


def test_without_mapping_the_same_csv_fails(raw: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = kpi(raw, capsys)
    assert code == 3
    assert "活动.csv" in err and SNIPPET_MARK in err


def test_xlsx_mapped_by_table_id_and_canonical_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "3月"
    sheet.append(["名  目", "开展日期（当天）", "方式"])
    sheet.append(["走进虹桥小微园", "2025-03-07", "线下"])
    sheet.append(["走进北白象小微园", "2025-04-02", "线下"])
    book.save(raw / "台账.xlsx")
    (raw / "columns.yaml").write_text(
        "activities:\n  title: [名目]\n  date: [开展日期]\n  format: [方式]\n", encoding="utf-8"
    )
    code, data, err = kpi(raw, capsys)
    assert code == 0, err
    assert data["quality"]["activities"]["rows_kept"] == 2
    assert data["kpis"]["park_events"]["actual"] == 2


def test_mapping_is_normalised_like_builtin_headers(tmp_path: Path) -> None:
    path = tmp_path / "columns.yaml"
    path.write_text("活动台账:\n  活动名称: [' 活动 标题名（全称）']\n", encoding="utf-8")
    aliases = load_columns(path)
    assert aliases.for_table("activities") == {"title": ("活动标题名",)}
    best = recognize_header(["活动标题名", "日期"], aliases)[0]
    assert best.table == "activities" and best.complete


def test_gbk_mapping_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "columns.yaml"
    path.write_bytes(MAPPING.encode("gbk"))  # as Chinese Notepad saves it
    assert load_columns(path).for_table("activities")["date"] == ("举办日期",)


def test_no_file_or_empty_file_maps_nothing(tmp_path: Path) -> None:
    assert load_columns(None) is NO_ALIASES
    path = tmp_path / "columns.yaml"
    path.write_text("# 暂无\n", encoding="utf-8")
    assert load_columns(path) == NO_ALIASES
    assert recognize_header(["活动名称", "日期"]) == recognize_header(
        ["活动名称", "日期"], NO_ALIASES
    )


BOMB = 'a: &a ["x","x"]\nb: &b [*a,*a]\nc: &c [*b,*b]\n活动台账:\n  活动名称: *c\n'


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        ("活动表:\n  活动名称: [a]\n", "活动表", "未知的表"),
        ("活动台账:\n  活动标题: [a]\n", "活动台账.活动标题", "请写 活动名称"),
        ("活动台账:\n  活动主旨: [a]\n", "活动台账.活动主旨", "没有标准列"),
        ("活动台账:\n  活动名称: 活动标题名\n", "活动台账.活动名称", "列表"),
        ("活动台账:\n  活动名称: [2025]\n", "活动台账.活动名称", "列表"),
        ("活动台账:\n  活动名称: [null]\n", "活动台账.活动名称", "列表"),
        ("活动台账:\n  活动名称: ['  ']\n", "活动台账.活动名称", "空表头"),
        ("活动台账: [活动名称]\n", "活动台账", "标准列名"),
        ("活动台账:\n  活动名称: [甲]\n  活动时间: [甲]\n", "活动台账.活动时间", "两列"),
        ("activities:\n  title: [日期]\n", "activities.title", "两列"),
        ("活动台账:\n  活动名称: [甲\n", None, "YAML"),
        ("活动台账:\n\t活动名称: [甲]\n", None, "YAML"),
        ("- 活动台账\n", None, "顶层"),
        ("活动台账:\n  活动名称: [甲]\n活动台账:\n  活动时间: [乙]\n", None, "重复"),
        (BOMB, None, "别名"),
        ("!!python/object:os.system {}\n", None, "YAML"),
    ],
)
def test_invalid_mapping_names_file_and_key(
    raw: Path, capsys: pytest.CaptureFixture[str], text: str, key: str | None, words: str
) -> None:
    (raw / "columns.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(DataError) as info:
        load_columns(raw / "columns.yaml", "raw/columns.yaml")
    assert "raw/columns.yaml" in str(info.value) and words in str(info.value)
    if key is not None:
        assert f"键 {key}:" in info.value.message
    code, _, err = kpi(raw, capsys)
    assert code == 3 and "columns.yaml" in err and words in err and (key or "") in err
    assert "Traceback" not in err


def test_undecodable_and_oversized_mapping_exit_3(
    raw: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (raw / "columns.yaml").write_bytes(b"\xff\xfe\x00\x81\x30")
    assert kpi(raw, capsys)[0] == 3
    (raw / "columns.yaml").write_text("# " + "x" * (1 << 21), encoding="utf-8")
    code, _, err = kpi(raw, capsys)
    assert code == 3 and "过大" in err


def test_snippet_round_trip(raw: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = kpi(raw, capsys)
    assert code == 3
    lines = err.splitlines()
    start = next(i for i, line in enumerate(lines) if SNIPPET_MARK in line) + 1
    snippet = "\n".join(lines[start:]).strip("\n") + "\n"
    assert snippet == MAPPING
    (raw / "columns.yaml").write_text(snippet, encoding="utf-8")
    code, data, err = kpi(raw, capsys)
    assert code == 0, err
    assert data["quality"]["activities"]["rows_kept"] == 2


def test_snippet_for_a_header_row_matching_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "x.csv").write_text("课程名,备注\n精益生产,无\n", encoding="utf-8")
    code, _, err = kpi(raw, capsys)
    assert code == 3 and "无法识别表头" in err
    lines = err.splitlines()
    start = next(i for i, line in enumerate(lines) if SNIPPET_MARK in line) + 1
    snippet = "\n".join(lines[start:])
    assert yaml.safe_load(snippet) == {"名师优课": {"课程名称": ["课程名"]}}
    (raw / "columns.yaml").write_text(snippet, encoding="utf-8")
    code, data, err = kpi(raw, capsys)
    assert code == 0, err
    assert data["quality"]["courses"]["rows_kept"] == 1


def test_snippet_quotes_headers_yaml_would_misread() -> None:
    header = ["序号", "活动标题名: 全称", "#举办日期", "[形式]"]
    snippet = column_snippet("activities", ["title", "date"], header)
    loaded = yaml.safe_load(snippet)
    assert loaded == {"活动台账": {"活动名称": ["活动标题名: 全称"], "活动时间": ["#举办日期"]}}


def test_snippet_offers_empty_list_when_nothing_is_similar(tmp_path: Path) -> None:
    snippet = column_snippet("services", ["date", "enterprise/credit_code"], ["甲", "乙"])
    assert snippet == "企业服务记录:\n  服务日期: []\n  企业名称: []"
    path = tmp_path / "columns.yaml"
    path.write_text(snippet, encoding="utf-8")
    assert load_columns(path) == NO_ALIASES  # loads; nothing mapped yet


def test_mapping_listed_in_manifest_and_subfolder_copy_ignored(
    raw: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (raw / "columns.yaml").write_text(MAPPING, encoding="utf-8")
    (raw / "旧").mkdir()
    (raw / "旧" / "columns.yaml").write_text("不是: [映射]\n", encoding="utf-8")
    out = tmp_path / "out"
    assert main(["clean", "--raw", str(raw), "--out", str(out)]) == 0
    files = {f["path"]: f for f in json.loads((out / "manifest.json").read_text("utf-8"))["files"]}
    assert files["columns.yaml"]["status"] == "columns"
    assert files["旧/columns.yaml"]["status"] == "ignored"
    assert "顶层" in files["旧/columns.yaml"]["note"]


def test_mapped_header_beside_a_builtin_one_fills_empty_cells(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "a.csv").write_text(
        "活动名称,活动时间,举办日期,活动形式\n走进柳市小微园,,2025-03-05,线下\n"
        "走进虹桥小微园,2025-03-09,,线下\n",
        encoding="utf-8",
    )
    (raw / "columns.yaml").write_text("活动台账:\n  活动时间: [举办日期]\n", encoding="utf-8")
    code, data, err = kpi(raw, capsys)
    assert code == 0, err
    assert data["quality"]["activities"]["rows_kept"] == 2
