"""Hostile files at the file level (issue 10 item 1): names, odd files, YAML bombs, formats."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ACTIVITY_HEADER, activity_rows, csv_text, write_xlsx

from qyzj_analytics.cli import main
from qyzj_analytics.contract.model import load_contract
from qyzj_analytics.errors import ConfigError, DataError
from qyzj_analytics.fsnames import readable_name
from qyzj_analytics.ingest.facts import load_facts
from qyzj_analytics.ingest.pipeline import require_exports
from qyzj_analytics.ingest.read import read_raw_dir
from qyzj_analytics.ingest.sniff import sniff_format

ROOT = Path(__file__).resolve().parents[1]
GBK_NAME = "活动台账.csv"
CSV = csv_text([ACTIVITY_HEADER, *activity_rows(5)])


def write_gbk_named(folder: Path) -> bytes:
    """An activities CSV whose file name is GBK bytes (as a Windows zip unpacks on Linux)."""
    raw_name = os.path.join(os.fsencode(folder), GBK_NAME.encode("gbk"))
    with open(raw_name, "wb") as fh:
        fh.write(CSV.encode("utf-8"))
    return raw_name


# --- 1. file names in GBK bytes -------------------------------------------------------------


def test_readable_name_decodes_gbk_and_escapes_the_rest() -> None:
    assert readable_name(os.fsdecode("2025/活动.xlsx".encode("gbk"))) == "2025/活动.xlsx"
    assert readable_name("已是/UTF-8.csv") == "已是/UTF-8.csv"
    odd = readable_name(os.fsdecode(b"x\xff.csv"))
    assert odd == "x\\xff.csv"
    odd.encode("utf-8")  # printable


@pytest.mark.skipif(sys.platform == "win32", reason="Windows names are always Unicode")
def test_gbk_file_name_is_read_and_shown_decoded(
    raw_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_gbk_named(raw_dir)
    exports = read_raw_dir(raw_dir)
    assert not exports.errors
    assert [f.path for f in exports.files] == [GBK_NAME]
    assert exports.tables[0].file == GBK_NAME and len(exports.tables[0].frame) == 5
    out = tmp_path / "out"
    assert main(["clean", "--raw", str(raw_dir), "--out", str(out)]) == 0
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert [f["path"] for f in manifest["files"]] == [GBK_NAME]
    assert GBK_NAME in capsys.readouterr().out
    assert main(["kpi", "--raw", str(raw_dir), "--as-of", "2025-06-30", "--json"]) == 0


@pytest.mark.skipif(sys.platform == "win32", reason="Windows names are always Unicode")
def test_gbk_file_name_in_a_subprocess(raw_dir: Path, tmp_path: Path) -> None:
    write_gbk_named(raw_dir)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for argv in (
        ["clean", "--raw", str(raw_dir), "--out", str(tmp_path / "o")],
        ["kpi", "--raw", str(raw_dir), "--as-of", "2025-06-30"],
    ):
        result = subprocess.run(
            [sys.executable, "-m", "qyzj_analytics.cli", *argv],
            capture_output=True,
            text=True,
            encoding="utf-8",
            env=env,
        )
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
    assert GBK_NAME in result.stdout or GBK_NAME in (tmp_path / "o" / "manifest.json").read_text(
        encoding="utf-8"
    )


# --- 2. unreadable folders, links, FIFOs ----------------------------------------------------


def test_unreadable_subfolder_is_an_error(
    raw_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (raw_dir / "a.csv").write_text(CSV, encoding="utf-8")
    locked = raw_dir / "2025上半年"
    locked.mkdir()
    (locked / "b.csv").write_text(CSV, encoding="utf-8")
    real = os.scandir

    def scandir(path: os.PathLike[str] | str) -> object:
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)  # pathlib's rglob used it too
    exports = read_raw_dir(raw_dir)
    assert len(exports.errors) == 1
    assert "2025上半年" in str(exports.errors[0]) and "权限不足" in str(exports.errors[0])
    assert main(["kpi", "--raw", str(raw_dir), "--as-of", "2025-06-30"]) == 3


def test_only_export_in_an_unreadable_folder_names_the_folder(
    raw_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    locked = raw_dir / "归档"
    locked.mkdir()
    real = os.scandir

    def scandir(path: os.PathLike[str] | str) -> object:
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    require_exports(raw_dir)  # `report`'s early check leaves the naming to prepare()
    assert main(["clean", "--raw", str(raw_dir), "--out", str(tmp_path / "o")]) == 3
    err = capsys.readouterr().err
    assert "归档" in err and "权限不足" in err


def test_unreadable_hidden_folder_is_a_note(raw_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (raw_dir / "a.csv").write_text(CSV, encoding="utf-8")
    (raw_dir / ".git").mkdir()
    real = os.scandir

    def scandir(path: os.PathLike[str] | str) -> object:
        if Path(path).name == ".git":
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)  # pathlib's rglob used it too
    exports = read_raw_dir(raw_dir)
    assert not exports.errors
    assert any(".git" in n for n in exports.notes)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fifo_named_like_an_export_is_an_error_and_never_opened(raw_dir: Path) -> None:
    (raw_dir / "a.csv").write_text(CSV, encoding="utf-8")
    os.mkfifo(raw_dir / "活动.csv")
    os.mkfifo(raw_dir / "pipe")
    start = time.monotonic()
    exports = read_raw_dir(raw_dir)  # would block forever if the FIFO were opened
    assert time.monotonic() - start < 5
    assert len(exports.errors) == 1
    assert "活动.csv" in str(exports.errors[0]) and "命名管道" in str(exports.errors[0])
    assert any(n.startswith("pipe:") and "命名管道" in n for n in exports.notes)
    status = {f.path: f.status for f in exports.files}
    assert status == {"a.csv": "read", "活动.csv": "error", "pipe": "ignored"}


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")
def test_dangling_symlink_named_like_an_export_is_an_error(raw_dir: Path) -> None:
    (raw_dir / "a.csv").write_text(CSV, encoding="utf-8")
    (raw_dir / "sub").mkdir()
    (raw_dir / "sub" / "服务.xlsx").symlink_to(raw_dir / "gone.xlsx")
    (raw_dir / "readme.txt").symlink_to(raw_dir / "gone.txt")
    exports = read_raw_dir(raw_dir)
    assert [e.location.file for e in exports.errors] == ["sub/服务.xlsx"]
    assert "断开的符号链接" in str(exports.errors[0])
    assert any(n.startswith("readme.txt:") for n in exports.notes)


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")
def test_symlink_loop_of_folders_is_walked_once(raw_dir: Path) -> None:
    (raw_dir / "a.csv").write_text(CSV, encoding="utf-8")
    (raw_dir / "loop").symlink_to(raw_dir, target_is_directory=True)
    exports = read_raw_dir(raw_dir)
    assert [f.path for f in exports.files] == ["a.csv"]


# --- 3. YAML alias bombs and oversized YAML --------------------------------------------------

BILLION_LAUGHS = "\n".join(
    [
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
        *(
            f"{n}: &{n} [{','.join(['*' + p] * 9)}]"
            for p, n in zip("abcdefgh", "bcdefghi", strict=True)
        ),
        "office_area_m2: 100",
    ]
)


def test_billion_laughs_facts_yaml_fails_fast(raw_dir: Path) -> None:
    (raw_dir / "a.csv").write_text(CSV, encoding="utf-8")
    (raw_dir / "facts.yaml").write_text(BILLION_LAUGHS, encoding="utf-8")
    start = time.monotonic()
    with pytest.raises(DataError, match="别名") as caught:
        load_facts(raw_dir / "facts.yaml", {"national"}, "facts.yaml")
    assert "facts.yaml" in str(caught.value)
    assert main(["kpi", "--raw", str(raw_dir), "--as-of", "2025-06-30"]) == 3
    assert time.monotonic() - start < 1


def test_oversized_facts_yaml_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "facts.yaml"
    path.write_text("office_area_m2: 100\n" + "#" * (2 << 20) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match="文件过大"):
        load_facts(path, {"national"})


def test_contract_yaml_with_an_alias_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(BILLION_LAUGHS, encoding="utf-8")
    with pytest.raises(ConfigError, match="别名"):
        load_contract(path)


# --- 4. the format comes from the content ---------------------------------------------------

HTML_XLS = """\ufeff<html><head><meta charset="gbk"><title>导出</title></head><body>
<table border=1>
<tr><th colspan="5">乐清市企业之家2025年活动台账</th></tr>
<tr><th>序号</th><th>活动名称</th><th>活动时间</th><th>活动形式</th><th>参与企业数（家）</th></tr>
{rows}
</table></body></html>"""


def html_rows(n: int) -> str:
    """``n`` activity rows as HTML table rows."""
    return "\n".join(
        "<tr>" + "".join(f"<td>{v}</td>" for v in row) + "</tr>" for row in activity_rows(n)
    )


def test_html_table_saved_as_xls_is_read(raw_dir: Path) -> None:
    (raw_dir / "活动.xls").write_bytes(HTML_XLS.format(rows=html_rows(4)).encode("utf-8"))
    exports = read_raw_dir(raw_dir)
    assert not exports.errors, [str(e) for e in exports.errors]
    table = exports.tables[0]
    assert table.table == "activities" and table.header_row == 2
    assert list(table.frame["title"]) == [f"政策宣讲会第{i}场" for i in range(1, 5)]
    assert list(table.source_row) == [3, 4, 5, 6]


def test_gbk_html_without_bom_and_nested_markup(raw_dir: Path) -> None:
    body = HTML_XLS.lstrip("\ufeff").format(
        rows=html_rows(2) + '<tr><td>3</td><td><b>座谈</b>&nbsp;会</td><td rowspan="2">2025-03-09'
        "</td><td>线上</td><td>7</td></tr><tr><td>4</td><td>沙龙</td><td>线下</td><td>8</td></tr>"
    )
    (raw_dir / "web.xls").write_bytes(body.encode("gbk"))
    table = read_raw_dir(raw_dir).tables[0]
    assert list(table.frame["title"])[2].replace("\xa0", " ") == "座谈 会"
    assert list(table.frame["format"]) == ["线下", "线下", "线上", "线下"]


def test_html_with_a_layout_table_first_reads_the_data_table(raw_dir: Path) -> None:
    page = (
        "<html><body><table><tr><td>导出时间</td><td>2025-07-01</td></tr></table>"
        + HTML_XLS.lstrip("\ufeff").format(rows=html_rows(3))
        + "</body></html>"
    )
    (raw_dir / "page.xls").write_text(page, encoding="utf-8")
    exports = read_raw_dir(raw_dir)
    assert not exports.errors, [str(e) for e in exports.errors]
    assert [t.sheet for t in exports.tables] == ["表格2"] and len(exports.tables[0].frame) == 3
    assert any("表格1" in n for n in exports.notes)


def test_html_with_odd_marked_sections_and_huge_spans_is_read(raw_dir: Path) -> None:
    rows = html_rows(2) + '<tr><td colspan="99999999">说明</td></tr>'
    page = HTML_XLS.format(rows=rows).replace("<table", "<![if !x]><![foo bar]><table")
    (raw_dir / "excel-web.xls").write_text(page, encoding="utf-8")
    exports = read_raw_dir(raw_dir)  # html.parser alone raises AssertionError on <![foo
    assert not exports.errors, [str(e) for e in exports.errors]
    assert len(exports.tables[0].frame) == 3


def test_html_without_a_table_is_a_chinese_error(raw_dir: Path) -> None:
    (raw_dir / "x.xls").write_bytes(b"<html><body>session expired</body></html>")
    exports = read_raw_dir(raw_dir)
    assert "没有表格" in str(exports.errors[0]) and "x.xls" in str(exports.errors[0])


def spreadsheetml(rows: str, doctype: str = "") -> str:
    """A SpreadsheetML 2003 workbook with one worksheet holding ``rows``."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>{doctype}
<?mso-application progid="Excel.Sheet"?>
<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"
 xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet">
<Worksheet ss:Name="活动"><Table>
<Row><Cell ss:MergeAcross="4"><Data ss:Type="String">乐清市企业之家2025年活动台账</Data></Cell></Row>
<Row>{"".join(f'<Cell><Data ss:Type="String">{h}</Data></Cell>' for h in ACTIVITY_HEADER)}</Row>
{rows}
</Table></Worksheet></Workbook>"""


def test_spreadsheetml_2003_is_read(raw_dir: Path) -> None:
    rows = (
        '<Row><Cell><Data ss:Type="Number">1</Data></Cell><Cell><Data ss:Type="String">宣讲'
        '</Data></Cell><Cell><Data ss:Type="DateTime">2025-03-05T00:00:00.000</Data></Cell>'
        '<Cell><Data ss:Type="String">线下</Data></Cell><Cell><Data ss:Type="Number">12'
        "</Data></Cell></Row>"
        '<Row ss:Index="5"><Cell><Data ss:Type="Number">2</Data></Cell><Cell ss:Index="3">'
        '<Data ss:Type="String">2025-03-06</Data></Cell></Row>'
    )
    (raw_dir / "活动.xls").write_text(spreadsheetml(rows), encoding="utf-8")
    exports = read_raw_dir(raw_dir)
    assert not exports.errors, [str(e) for e in exports.errors]
    table = exports.tables[0]
    assert table.sheet == "活动" and table.header_row == 2
    assert list(table.source_row) == [3, 4, 5]  # row 4 is the gap ss:Index skipped
    assert table.frame["enterprises"].iloc[0] == 12
    assert table.frame["date"].iloc[2] == "2025-03-06"


def test_spreadsheetml_far_index_does_not_allocate(raw_dir: Path) -> None:
    rows = '<Row ss:Index="1048576"><Cell ss:Index="16384"><Data ss:Type="String">x</Data></Cell></Row>'
    (raw_dir / "far.xls").write_text(spreadsheetml(rows), encoding="utf-8")
    start = time.monotonic()
    exports = read_raw_dir(raw_dir)
    assert time.monotonic() - start < 10
    table = exports.tables[0]  # the far cell is a (rejected) row of its own: nothing lost
    assert int((~table.blank).sum()) == 1 and table.source_row[-1] == 1_048_576


def test_spreadsheetml_beyond_excel_limits_is_an_error_not_a_silent_cut(raw_dir: Path) -> None:
    rows = '<Row ss:Index="1048577"><Cell><Data ss:Type="String">x</Data></Cell></Row>'
    (raw_dir / "huge.xls").write_text(spreadsheetml(rows), encoding="utf-8")
    error = read_raw_dir(raw_dir).errors[0]
    assert "上限" in str(error) and "huge.xls" in str(error)


def test_spreadsheetml_with_entities_is_refused(raw_dir: Path) -> None:
    doctype = '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
    (raw_dir / "bomb.xls").write_text(spreadsheetml("", doctype), encoding="utf-8")
    error = read_raw_dir(raw_dir).errors[0]
    assert "DOCTYPE" in str(error) and "bomb.xls" in str(error)


def test_csv_that_is_really_an_xlsx_is_read(raw_dir: Path, tmp_path: Path) -> None:
    book = write_xlsx(tmp_path / "b.xlsx", {"S": [ACTIVITY_HEADER, *activity_rows(3)]})
    (raw_dir / "下载.csv").write_bytes(book.read_bytes())
    exports = read_raw_dir(raw_dir)
    assert not exports.errors and len(exports.tables[0].frame) == 3


def test_xls_that_is_really_csv_text_is_read(raw_dir: Path) -> None:
    (raw_dir / "导出.xls").write_bytes(CSV.encode("gbk"))
    exports = read_raw_dir(raw_dir)
    assert not exports.errors and len(exports.tables[0].frame) == 5


def test_sniff_format_kinds() -> None:
    assert sniff_format(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest") == "xls"
    assert sniff_format(b"  <!DOCTYPE html><html>") == "html"
    assert sniff_format(spreadsheetml("").encode()) == "spreadsheetml"
    assert sniff_format(b"<?xml version='1.0'?><html><table>") == "html"
    assert sniff_format("\ufeff序号,名称".encode()) == "text"
