"""Mixed-encoding CSV files (issue 10 item 2): GBK rows pasted into a UTF-8 export, and the reverse.

Rows not in the file's encoding are read in the other one (UTF-8 ↔ GB18030) with a warning naming
the row as Excel numbers it; a row in neither is rejected with a reason naming it.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from qyzj_analytics.cli import main
from qyzj_analytics.errors import DataError
from qyzj_analytics.ingest.clean import clean_raw_table
from qyzj_analytics.ingest.delimited import read_csv_export
from qyzj_analytics.ingest.issuegroups import read_issue_csv

HEADER = "企业名称,服务日期,服务类型\n"


def services(n: int, gbk: set[int] = frozenset(), bad: set[int] = frozenset()) -> list[bytes]:
    """``n`` service lines in UTF-8; those at ``gbk`` in GBK, those at ``bad`` in neither."""
    lines = []
    for i in range(n):
        text = f"乐清市企业{i}有限公司,2025-03-05,政策咨询\n"
        if i in gbk:
            lines.append(text.encode("gbk"))
        elif i in bad:
            lines.append(text.encode("utf-8")[:-3] + b"\xff,\n")
        else:
            lines.append(text.encode("utf-8"))
    return lines


def utf8_file(lines: list[bytes], bom: bool) -> bytes:
    return (b"\xef\xbb\xbf" if bom else b"") + HEADER.encode("utf-8") + b"".join(lines)


def warning(row: int) -> str:
    return f"第 {row} 行不是 UTF-8 编码，已按 GB18030（GBK）读取"


@pytest.mark.parametrize("bom", [False, True])
def test_gbk_rows_in_a_utf8_file_are_read_with_a_warning(bom: bool) -> None:
    data = utf8_file(services(30_000, gbk={3, 29_000}), bom)
    assert len(data) > 1 << 20 and data.find("乐清市企业29000".encode("gbk")) > 1 << 20
    kept, rejected, warnings = clean_raw_table(read_csv_export(data, "服务.csv"))
    assert len(kept) == 30_000 and rejected.empty
    assert warnings["source_row"].tolist() == [5, 29_002]  # header line 1, row i on line i + 2
    assert warnings["reason"].tolist() == [warning(5), warning(29_002)]
    assert set(warnings["source_file"]) == {"服务.csv"}
    odd = kept.set_index("source_row").loc[[5, 29_002], "enterprise"]
    assert odd.tolist() == ["乐清市企业3有限公司", "乐清市企业29000有限公司"]


def test_a_small_file_that_also_decodes_as_gbk_is_read_as_utf8() -> None:
    names = ["乐清企业", "柳市电器", "北白象镇"]
    lines = [f"{name},2025-03-05,政策咨询\n".encode() for name in names]
    lines[1] = lines[1].decode().encode("gbk")
    data = utf8_file(lines, bom=False)
    data.decode("gb18030")  # the whole file is valid GB18030 too (mojibake): UTF-8 must win
    kept, _, warnings = clean_raw_table(read_csv_export(data, "服务.csv"))
    assert kept["enterprise"].tolist() == names
    assert warnings["reason"].tolist() == [warning(3)]


def test_a_row_in_neither_encoding_is_rejected_naming_it() -> None:
    data = utf8_file(services(30_000, gbk={29_000}, bad={7}), bom=False)
    kept, rejected, warnings = clean_raw_table(read_csv_export(data, "服务.csv"))
    assert len(kept) + len(rejected) == 30_000
    assert rejected["source_row"].tolist() == [9]
    assert rejected["reason"].tolist() == [
        "第 9 行既不是 UTF-8 也不是 GB18030（GBK）编码，无法读取"
    ]
    assert warnings["source_row"].tolist() == [29_002]


def test_a_file_mostly_in_neither_encoding_is_refused_naming_the_first_row() -> None:
    data = utf8_file(services(200, bad=set(range(5, 200))), bom=False)
    with pytest.raises(DataError) as err:
        read_csv_export(data, "服务.csv")
    assert err.value.location.row == 7 and "无法识别文件编码" in err.value.message


def test_a_quoted_multi_line_cell_keeps_the_row_numbers() -> None:
    lines = services(30_000, gbk={29_000})
    lines[1] = '乐清市企业1有限公司,2025-03-05,"政策\n咨询"\n'.encode()  # record 3, lines 3-4
    kept, _, warnings = clean_raw_table(read_csv_export(utf8_file(lines, False), "服务.csv"))
    assert len(kept) == 30_000
    assert warnings["source_row"].tolist() == [29_002]  # (its physical line is 29 003)
    assert kept.set_index("source_row").loc[29_002, "enterprise"] == "乐清市企业29000有限公司"


def test_utf8_rows_in_a_gbk_file_are_read_with_a_warning() -> None:
    lines = [line.decode("utf-8").encode("gbk") for line in services(50)]
    lines[10] = "甲公司,2025-03-05,政策咨询\n".encode()
    with pytest.raises(UnicodeDecodeError):
        lines[10].decode("gb18030")
    data = HEADER.encode("gbk") + b"".join(lines)
    kept, _, warnings = clean_raw_table(read_csv_export(data, "服务.csv"))
    assert "甲公司" in kept["enterprise"].tolist()
    assert warnings["reason"].tolist() == ["第 12 行不是 GB18030（GBK）编码，已按 UTF-8 读取"]


def test_clean_end_to_end_keeps_the_rows_with_the_warning(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "服务.csv").write_bytes(utf8_file(services(30_000, gbk={3, 29_000}, bad={8}), True))
    out = tmp_path / "processed"
    assert main(["clean", "--raw", str(raw), "--out", str(out)]) == 0
    warned = pd.read_parquet(out / "warnings.parquet")  # one row per warning
    assert warned[["source_file", "source_row", "reason"]].values.tolist() == [
        ["服务.csv", 5, warning(5)],
        ["服务.csv", 29_002, warning(29_002)],
    ]
    # one line per file, column and kind of reason
    grouped = read_issue_csv(out / "warnings.csv", dtype=str).to_dict("records")
    assert [
        (g["source_file"], g["column"], g["reason"], g["rows"], g["example_rows"]) for g in grouped
    ] == [("服务.csv", "（整行）", "不是 UTF-8 编码，已按 GB18030（GBK）读取", "2", "5、29002")]
    (counts,) = read_issue_csv(out / "quality.csv", dtype=str).to_dict("records")
    assert counts["rows_read"] == "30000" and counts["rows_rejected"] == "1"
    kept, parts = int(counts["rows_kept"]), ("rows_rejected", "duplicates", "summary_rows")
    assert kept + sum(int(counts[p]) for p in parts) == 30_000 and kept == 29_999
