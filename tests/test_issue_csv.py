"""Issue 16: the issue CSVs are grouped (bounded by the export), the per-row detail is parquet."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from qyzj_analytics.cli import main
from qyzj_analytics.ingest.issuegroups import (
    CSV_HEADERS_EN,
    DUPLICATE_GROUP_COLUMNS,
    ISSUE_GROUP_COLUMNS,
    group_duplicates,
    group_issues,
    reason_kind,
)
from qyzj_analytics.ingest.parse import credit_codes_valid
from qyzj_analytics.ingest.schemas import TABLES
from qyzj_analytics.sample.bulk import PLAIN_HEADER, write_plain_services_csv


def _read_csv(path: Path) -> list[dict[str, str]]:
    """The CSV's lines with English keys and table ids (the file has Chinese headers)."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        lines = list(csv.DictReader(fh))
    assert all(not h.isascii() for h in lines[0]), "headers are Chinese for Excel readers"
    ids = {spec.name_zh: t for t, spec in TABLES.items()}
    return [
        {CSV_HEADERS_EN[h]: ids.get(v, v) if h == "台账" else v for h, v in line.items()}
        for line in lines
    ]


def _clean(raw: Path, out: Path) -> None:
    assert main(["clean", "--raw", str(raw), "--out", str(out)]) == 0


def _first_rows(detail: pd.DataFrame, keys: list[str]) -> dict[tuple[str, ...], str]:
    """The first five row numbers of each group, as the CSV lists them."""
    out = {}
    for key, group in detail.groupby(keys, sort=False, dropna=False):
        rows = sorted(group["source_row"].tolist())
        more = "…" if len(rows) > 5 else ""
        out[tuple("" if pd.isna(k) else str(k) for k in key)] = "、".join(map(str, rows[:5])) + more
    return out


def test_every_code_masked_gives_a_small_warnings_csv_and_full_parquet(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    export = raw / "服务.csv"
    write_plain_services_csv(export, 15_000, seed=5, firms=300, bad_code_share=1.0)
    size = export.stat().st_size
    assert size > 2**20  # the bound applies to exports over 1 MB
    out = tmp_path / "out"
    _clean(raw, out)
    for path in out.glob("*.csv"):
        assert path.stat().st_size <= size, path.name
    detail = pd.read_parquet(out / "warnings.parquet")
    assert len(detail) == 15_000  # every row: one warning each, in parquet
    grouped = _read_csv(out / "warnings.csv")
    assert list(grouped[0]) == ISSUE_GROUP_COLUMNS
    assert sum(int(g["rows"]) for g in grouped) == len(detail)
    assert len(grouped) == 1
    (line,) = grouped
    assert (line["source_file"], line["column"]) == ("服务.csv", "统一社会信用代码")
    assert line["reason"] == "统一社会信用代码校验位不符或长度不是 18 位（已保留并标记）"
    assert line["example_rows"] == "2、3、4、5、6…"  # rows as Excel shows them (header is 1)
    values = line["example_values"].split("、")
    assert len(values) == 3 and not credit_codes_valid(values).any()
    # duplicates: grouped the same way, counts add up to the parquet rows and quality.csv
    dups = pd.read_parquet(out / "duplicates.parquet")
    dup_lines = _read_csv(out / "duplicates.csv")
    assert list(dup_lines[0]) == DUPLICATE_GROUP_COLUMNS
    (quality,) = _read_csv(out / "quality.csv")
    assert sum(int(g["rows"]) for g in dup_lines) == len(dups) == int(quality["duplicates"])
    assert dup_lines[0]["example_rows"] == _first_rows(dups, ["source_file"])[("服务.csv",)]
    first = dups.sort_values("source_row").head(5)
    assert dup_lines[0]["example_kept_rows"].rstrip("…") == "、".join(map(str, first["kept_row"]))


def test_every_row_rejected_gives_one_line_per_kind_of_reason(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    export = raw / "服务.csv"
    lines = [",".join(PLAIN_HEADER)]
    lines += [f"{i},甲{i}公司,,待定{i},政策咨询,否" for i in range(1, 40_001)]
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert export.stat().st_size > 2**20
    out = tmp_path / "out"
    _clean(raw, out)
    detail = pd.read_parquet(out / "rejected.parquet")
    assert len(detail) == 40_000 and detail["value"].nunique() == 40_000
    grouped = _read_csv(out / "rejected.csv")
    assert [(g["column"], g["reason"], g["rows"]) for g in grouped] == [
        ("服务日期", "无法识别的日期", "40000")
    ]
    assert grouped[0]["example_rows"] == "2、3、4、5、6…"
    assert grouped[0]["example_values"] == "待定1、待定2、待定3"
    for path in out.glob("*.csv"):
        assert path.stat().st_size <= export.stat().st_size, path.name


def _issues(rows: list[tuple[str, str | None, int, str, str, str]]) -> pd.DataFrame:
    frame = pd.DataFrame(
        rows, columns=["source_file", "source_sheet", "source_row", "column", "value", "reason"]
    )
    return frame.assign(table="activities")[
        ["table", "source_file", "source_sheet", "source_row", "column", "value", "reason"]
    ]


def test_group_issues_by_file_sheet_column_and_kind_of_reason() -> None:
    issues = _issues(
        [
            ("a.xlsx", "一月", 9, "活动日期", "待定", "无法识别的日期: '待定'"),
            ("a.xlsx", "一月", 3, "活动日期", "下周", "无法识别的日期: '下周'"),
            ("a.xlsx", "二月", 4, "活动日期", "待定", "无法识别的日期: '待定'"),
            ("a.xlsx", "一月", 5, "参与人数", "约x", "无法识别的数量: '约x'，按空值处理"),
            ("a.xlsx", "一月", 7, "活动日期", "", "必填列为空"),
            ("a.xlsx", "一月", 8, "活动日期", "待定", "无法识别的日期: '待定'"),
        ]
    )
    grouped = group_issues(issues)
    assert grouped[
        ["source_sheet", "column", "reason", "rows", "example_rows"]
    ].values.tolist() == [
        ["一月", "活动日期", "无法识别的日期", 3, "3、8、9"],
        ["二月", "活动日期", "无法识别的日期", 1, "4"],
        ["一月", "参与人数", "无法识别的数量，按空值处理", 1, "5"],
        ["一月", "活动日期", "必填列为空", 1, "7"],
    ]
    assert grouped["example_values"].tolist() == ["下周、待定", "待定", "约x", ""]
    assert grouped["rows"].sum() == len(issues)


def test_group_issues_of_no_rows_has_the_columns() -> None:
    empty = group_issues(_issues([]))
    assert list(empty.columns) == ISSUE_GROUP_COLUMNS and empty.empty
    assert list(group_duplicates(pd.DataFrame(columns=DUPLICATE_GROUP_COLUMNS)).columns) == (
        DUPLICATE_GROUP_COLUMNS
    )


def test_group_duplicates_pairs_each_example_with_its_kept_row() -> None:
    dups = pd.DataFrame(
        {
            "table": ["services"] * 7,
            "source_file": ["b.csv"] * 6 + ["a.csv"],
            "source_sheet": [None] * 7,
            "source_row": [30, 2, 9, 4, 5, 6, 3],
            "kept_file": ["a.csv"] * 6 + ["a.csv"],
            "kept_sheet": [None] * 7,
            "kept_row": [13, 12, 19, 14, 15, 16, 2],
        }
    )
    grouped = group_duplicates(dups)
    assert grouped[
        ["source_file", "kept_file", "rows", "example_rows", "example_kept_rows"]
    ].values.tolist() == [
        ["b.csv", "a.csv", 6, "2、4、5、6、9…", "12、14、15、16、19…"],
        ["a.csv", "a.csv", 1, "3", "2"],
    ]


@pytest.mark.parametrize(
    ("reason", "kind"),
    [
        ("无法识别的日期: '待定'", "无法识别的日期"),
        ("日期缺少年份: '3月5日'", "日期缺少年份"),
        ("无法识别的日期数值 99999999", "无法识别的日期数值"),
        ('无法识别的数量: "it\'s，x"，按空值处理', "无法识别的数量，按空值处理"),
        (
            "第 12 行既不是 UTF-8 也不是 GB18030（GBK）编码，无法读取",
            "既不是 UTF-8 也不是 GB18030（GBK）编码，无法读取",
        ),
        (
            "远离数据区的孤立单元格，未读入数据: A5、B7 等 5 个单元格",
            "远离数据区的孤立单元格，未读入数据",
        ),
        ("企业名称 和 统一社会信用代码 都为空", "企业名称 和 统一社会信用代码 都为空"),
        ("单元格为错误值 #N/A", "单元格为错误值 #N/A"),
    ],
)
def test_reason_kind_drops_the_value_and_row_it_quotes(reason: str, kind: str) -> None:
    assert reason_kind(reason) == kind


def test_the_plain_generator_writes_the_held_out_shape(tmp_path: Path) -> None:
    path = tmp_path / "plain.csv"
    write_plain_services_csv(path, 20_000, seed=2, firms=500)
    frame = pd.read_csv(path, dtype=str)
    assert list(frame.columns) == list(PLAIN_HEADER)
    assert frame["序号"].tolist() == [str(i) for i in range(1, 20_001)]
    written = frame["服务日期"].str.contains("年").mean()
    assert 0.08 < written < 0.12  # 10 % 2025年1月20日, the rest 2025/01/20
    assert (
        frame.loc[~frame["服务日期"].str.contains("年"), "服务日期"]
        .str.fullmatch(r"\d{4}/\d{2}/\d{2}")
        .all()
    )
    codes = frame.drop_duplicates("企业名称")["统一社会信用代码"]
    assert len(codes) == 500 and (~credit_codes_valid(codes.tolist())).sum() == 5  # 1 % of firms
    repeated = frame.duplicated(["企业名称", "服务日期", "服务类型"]).mean()
    assert 0.05 < repeated < 0.07  # ≈ 6.5 % (a repeat may switch date format, counted apart)
    write_plain_services_csv(tmp_path / "again.csv", 20_000, seed=2, firms=500)
    assert (tmp_path / "again.csv").read_bytes() == path.read_bytes()


def test_duplicates_from_a_workbook_and_a_csv_join_across_tables(tmp_path: Path) -> None:
    """Issue frames of several tables, with and without sheets, are joined (a regression: their
    categories' dtypes differed) and read back as before: text as ``str``."""
    from conftest import ACTIVITY_HEADER, activity_rows, write_csv, write_xlsx

    raw = tmp_path / "raw"
    rows = activity_rows(3)
    write_xlsx(raw / "a.xlsx", {"活动": [ACTIVITY_HEADER, *rows, rows[0]]})
    write_csv(raw / "b.csv", [ACTIVITY_HEADER, *rows])
    (raw / "服务.csv").write_text(
        "企业名称,服务日期,服务类型\n甲公司,2025-03-05,政策咨询\n甲公司,2025-03-05,政策咨询\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    _clean(raw, out)
    dups = pd.read_parquet(out / "duplicates.parquet")
    lineage = dups[["table", "source_file", "source_sheet", "source_row"]].fillna("")
    assert lineage.values.tolist() == [
        ["activities", "a.xlsx", "活动", 5],
        ["activities", "b.csv", "", 2],
        ["activities", "b.csv", "", 3],
        ["activities", "b.csv", "", 4],
        ["services", "服务.csv", "", 3],
    ]
    assert dups["kept_sheet"].tolist()[:2] == ["活动", "活动"] and pd.isna(
        dups["kept_sheet"].iloc[-1]
    )
    grouped = _read_csv(out / "duplicates.csv")
    assert [(g["source_file"], g["source_sheet"], g["kept_sheet"], g["rows"]) for g in grouped] == [
        ("a.xlsx", "活动", "活动", "1"),
        ("b.csv", "", "活动", "3"),
        ("服务.csv", "", "", "1"),
    ]
    for name in ("rejected", "warnings", "duplicates"):
        frame = pd.read_parquet(out / f"{name}.parquet")
        assert frame["source_row"].dtype == "int64"
        assert all(
            str(t) == "str" for c, t in frame.dtypes.items() if c in ("table", "source_file")
        )
