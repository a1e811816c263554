"""``qyzj report``: outputs, no code or personal data, escaping, atomic publish, lock, exit codes."""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import json
import re
import struct
import zipfile
import zlib
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import openpyxl
import pytest
from reporting import (
    ESCAPED_TITLE,
    INJECTED_TITLE,
    QUARTER,
    copy_notebooks,
    report_main,
    sample_report,
    write_tiny_raw,
)

from qyzj_analytics.contract.model import load_contract
from qyzj_analytics.errors import UsageError
from qyzj_analytics.reporting.report.build import default_notebooks, find_notebooks
from qyzj_analytics.reporting.report.kernels import execute_notebooks
from qyzj_analytics.reporting.report.lock import lock_quarter
from qyzj_analytics.reporting.report.options import ReportOptions, resolve_quarter
from qyzj_analytics.reporting.report.publish import publish
from qyzj_analytics.reporting.report.render import (
    find_unsafe_content,
    merge_notebooks,
    render_html,
)
from qyzj_analytics.reporting.report.workbook import neutralize_cell, write_kpi_xlsx

CONTRACT = load_contract()
PNG_1PX = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


# ------------------------------------------------------------------------------------------------
# Units


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("+86 577", "'+86 577"),
        ("-cmd", "'-cmd"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("线下活动", "线下活动"),
        ("a=b", "a=b"),
        (-3, -3),
        (1.5, 1.5),
        (None, None),
    ],
)
def test_neutralize_cell(value: object, expected: object) -> None:
    assert neutralize_cell(value) == expected


@pytest.mark.parametrize(
    ("text", "today", "expected"),
    [
        ("2025Q3", dt.date(2025, 11, 26), ("2025Q3", dt.date(2025, 9, 30))),
        ("2025q1", dt.date(2025, 11, 26), ("2025Q1", dt.date(2025, 3, 31))),
        ("auto", dt.date(2025, 11, 26), ("2025Q3", dt.date(2025, 9, 30))),
        ("auto", dt.date(2025, 10, 1), ("2025Q3", dt.date(2025, 9, 30))),
        ("auto", dt.date(2026, 11, 26), ("2025Q4", dt.date(2025, 12, 31))),
        ("AUTO", dt.date(2025, 2, 1), ("2025Q1", dt.date(2025, 3, 31))),
    ],
)
def test_resolve_quarter(text: str, today: dt.date, expected: tuple[str, dt.date]) -> None:
    assert resolve_quarter(text, CONTRACT, today) == expected


@pytest.mark.parametrize("text", ["2024Q4", "2026Q1", "2025Q5", "Q3", "2025-09-30", ""])
def test_resolve_quarter_rejects(text: str) -> None:
    with pytest.raises(UsageError):
        resolve_quarter(text, CONTRACT, dt.date(2025, 11, 26))


def test_checkout_runs_its_own_notebooks() -> None:
    root = Path(__file__).resolve().parents[1]
    assert default_notebooks() == root / "notebooks"
    assert find_notebooks() == sorted((root / "notebooks").glob("[0-9]*.ipynb"))


@pytest.mark.parametrize(
    "snippet",
    [
        "<script>alert(1)</script>",
        '<img src="https://cdn.example/x.png">',
        '<img src="x.png">',
        '<img src="data:image/png;base64,AA" onerror="alert(1)">',
        '<link rel="stylesheet" href="https://cdn.example/x.css">',
        '<script src="https://cdnjs.cloudflare.com/require.js"></script>',
        "<iframe></iframe>",
        "<style>@import url(https://x/y.css);</style>",
    ],
)
def test_find_unsafe_content_flags(snippet: str) -> None:
    assert find_unsafe_content(f"<html><body>{snippet}</body></html>")


def test_find_unsafe_content_accepts_embedded() -> None:
    page = (
        f'<html><body><img src="data:image/png;base64,{PNG_1PX}">'
        '<a href="https://example.org">链接</a><a href="#top">顶部</a>'
        "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p></body></html>"
    )
    assert find_unsafe_content(page) == []


def _notebook(tmp_path: Path, name: str, cells: list) -> Path:
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path = tmp_path / name
    nbformat.write(nb, path)
    return path


def _executed_cells(tmp_path: Path) -> list[Path]:
    v4 = nbformat.v4
    image = v4.new_output("display_data", data={"image/png": PNG_1PX, "text/plain": "<Figure>"})
    warn = v4.new_output("stream", name="stderr", text="FutureWarning: 旧接口\n")
    said = v4.new_output("stream", name="stdout", text="共 3 场活动\n")
    first = [
        v4.new_code_cell("quarter = 'x'", metadata={"tags": ["parameters"]}),
        v4.new_code_cell("quarter = '2025Q3'", metadata={"tags": ["injected-parameters"]}),
        v4.new_markdown_cell("## 第一章\n\n![图](chart.png)"),
        v4.new_code_cell("import secret_module_name", outputs=[image, warn, said]),
    ]
    second = [
        v4.new_code_cell("charts_dir = ''", metadata={"tags": ["parameters"]}),
        v4.new_markdown_cell("## 第二章"),
        v4.new_code_cell("print('hidden')", metadata={"tags": ["remove-cell"]}),
    ]
    return [_notebook(tmp_path, "01_a.ipynb", first), _notebook(tmp_path, "02_b.ipynb", second)]


def test_merge_drops_parameter_cells_and_warnings(tmp_path: Path) -> None:
    cover = nbformat.v4.new_markdown_cell("# 封面")
    merged = merge_notebooks(cover, _executed_cells(tmp_path))
    sources = [c.source for c in merged.cells]
    assert sources[0] == "# 封面"
    assert sources[1:] == [
        "## 第一章\n\n![图](chart.png)",
        "import secret_module_name",
        "## 第二章",
    ]
    outputs = merged.cells[2].outputs
    assert [o.get("name") for o in outputs if o.output_type == "stream"] == ["stdout"]
    assert len({c.id for c in merged.cells}) == len(merged.cells)
    nbformat.validate(merged)


@pytest.mark.parametrize("sample", [True, False])
def test_render_html_is_self_contained(tmp_path: Path, sample: bool) -> None:
    import base64

    (tmp_path / "chart.png").write_bytes(base64.b64decode(PNG_1PX))
    merged = merge_notebooks(nbformat.v4.new_markdown_cell("# 封面"), _executed_cells(tmp_path))
    page = render_html(merged, tmp_path, sample=sample)
    assert page.startswith("<!DOCTYPE html>") and '<html lang="zh-CN">' in page
    assert find_unsafe_content(page) == []
    assert "secret_module_name" not in page and "jp-InputArea-editor" not in _body(page)
    assert "injected-parameters" not in page and "charts_dir" not in page
    assert "hidden" not in _text(page) and "FutureWarning" not in page
    assert "require.js" not in page and "mathjax" not in page.lower()
    assert page.count('src="data:image/png;base64,') == 2  # the output and the markdown image
    assert ("qyzj-watermark" in _body(page)) is sample
    assert ("示例数据" in _text(page)) is sample


def _body(page: str) -> str:
    return page[page.index("<body") :]


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self._skip += tag in ("style", "script")

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in ("style", "script")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def _text(page: str) -> str:
    parser = _Text()
    parser.feed(page)
    return "".join(parser.parts)


def test_kpi_xlsx_neutralises_formula_text(tmp_path: Path) -> None:
    from qyzj_analytics.reporting.bundle import build_metrics

    raw = write_tiny_raw(tmp_path / "raw")
    metrics = build_metrics(raw, dt.date(2025, 9, 30), CONTRACT, quarter=QUARTER, draws=500)
    table = metrics.kpi_table.copy()
    table.iloc[0, table.columns.get_loc("指标")] = '=HYPERLINK("http://evil.example","点我")'
    metrics = dataclasses.replace(metrics, kpi_table=table)
    options = ReportOptions(QUARTER, dt.date(2025, 9, 30), raw, tmp_path / "out")
    path = write_kpi_xlsx(tmp_path / "kpi.xlsx", options, CONTRACT, metrics)

    ws = openpyxl.load_workbook(path)["KPI达成"]
    cell = ws["B5"]
    assert cell.value == '\'=HYPERLINK("http://evil.example","点我")' and cell.data_type == "s"
    assert ws.freeze_panes == "A5" and "KPI 达成" in ws["A1"].value
    assert [c.value for c in ws[4]][:5] == ["序号", "指标", "合同条款", "单位", "实际完成"]
    # (the tiny raw folder has no services export: row 5, 服务企业家次, is 缺少导出, grey)
    assert ws["I5"].fill.fgColor.rgb.endswith(("C6EFCE", "FFEB9C", "FFC7CE", "D9D9D9"))
    with zipfile.ZipFile(path) as zf:
        sheets = "".join(zf.read(n).decode() for n in zf.namelist() if n.endswith(".xml"))
    assert "<f>" not in sheets  # no formula anywhere


def test_kpi_xlsx_states_the_contract_numbers(tmp_path: Path) -> None:
    from qyzj_analytics.reporting.bundle import build_metrics

    raw = write_tiny_raw(tmp_path / "raw")
    metrics = build_metrics(raw, dt.date(2025, 9, 30), CONTRACT, quarter=QUARTER, draws=500)
    renegotiated = dataclasses.replace(
        CONTRACT,
        at_risk_ratio=0.75,
        kpis=tuple(dataclasses.replace(k, weight=k.weight * 6 / 5) for k in CONTRACT.kpis),
    )
    options = ReportOptions(QUARTER, dt.date(2025, 9, 30), raw, tmp_path / "out")
    path = write_kpi_xlsx(tmp_path / "kpi.xlsx", options, renegotiated, metrics)

    book = openpyxl.load_workbook(path)
    texts = [
        str(c.value) for ws in book for r in ws.iter_rows() for c in r if isinstance(c.value, str)
    ]
    assert any("不低于应达进度的 75%" in t for t in texts), texts
    assert any("各项 KPI 得分之和（0–120）" in t for t in texts), texts
    assert not any("80%" in t or "0–100" in t for t in texts)


def test_publish_replaces_the_previous_folder(tmp_path: Path) -> None:
    target, staging = tmp_path / QUARTER, tmp_path / ".staging"
    for folder, text in ((target, "old"), (staging, "new")):
        (folder / "charts").mkdir(parents=True)
        (folder / "report.html").write_text(text)
    (target / "stale.txt").write_text("x")
    publish(staging, target)
    assert (target / "report.html").read_text() == "new" and not (target / "stale.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [QUARTER]


# ------------------------------------------------------------------------------------------------
# Exit codes, lock


def test_bad_quarter_exits_2(tmp_path: Path) -> None:
    raw = write_tiny_raw(tmp_path / "raw")
    for quarter in ("2024Q4", "2025Q9"):
        code, err = report_main(["--quarter", quarter, "--raw", str(raw), "--out", str(tmp_path)])
        assert code == 2, err
    assert not any(tmp_path.glob("2024Q4*"))


def test_bad_data_exits_3_and_publishes_nothing(tmp_path: Path) -> None:
    raw = write_tiny_raw(tmp_path / "raw")
    (raw / "坏表.csv").write_text("甲,乙,丙\n1,2,3\n", encoding="utf-8")
    notebooks = copy_notebooks(tmp_path / "nb", ["10_ok"])
    out = tmp_path / "reports"
    argv = ["--quarter", QUARTER, "--raw", str(raw), "--out", str(out)]
    code, err = report_main([*argv, "--notebooks", str(notebooks)])
    assert code == 3, err
    assert "坏表.csv" in err
    archive = [".reports.lock", "index.html", "runs.jsonl"]  # the run is logged and indexed
    assert sorted(p.name for p in out.iterdir()) == sorted([f".{QUARTER}.lock", *archive])


def test_a_held_lock_makes_a_second_run_refuse(tmp_path: Path) -> None:
    raw = write_tiny_raw(tmp_path / "raw")
    notebooks = copy_notebooks(tmp_path / "nb", ["10_ok"])
    out = tmp_path / "reports"
    out.mkdir()
    with lock_quarter(out, QUARTER):  # as a running report holds it
        argv = ["--quarter", QUARTER, "--raw", str(raw), "--out", str(out)]
        code, err = report_main([*argv, "--notebooks", str(notebooks)])
    assert code == 5, err
    assert "另一次运行" in err
    assert not (out / QUARTER).exists()


# ------------------------------------------------------------------------------------------------
# Whole runs


@pytest.mark.slow
def test_failing_notebook_keeps_the_previous_report(tmp_path: Path) -> None:
    raw = write_tiny_raw(tmp_path / "raw")
    out = tmp_path / "reports"
    argv = ["--quarter", QUARTER, "--raw", str(raw), "--out", str(out), "--draws", "500"]
    good = copy_notebooks(tmp_path / "good", ["10_ok"])
    code, err = report_main([*argv, "--notebooks", str(good)])
    assert code == 0, err
    before = (out / QUARTER / "report.html").read_bytes()

    bad = copy_notebooks(tmp_path / "bad", ["10_ok", "90_fail"])
    code, err = report_main([*argv, "--notebooks", str(bad)])
    assert code == 4, err
    assert "90_fail.ipynb" in err and "cell index 4" in err and "ValueError" in err
    assert (out / QUARTER / "report.html").read_bytes() == before
    failed = nbformat.read(out / f"{QUARTER}.failed" / "notebooks" / "90_fail.ipynb", 4)
    assert any(o.get("ename") == "ValueError" for c in failed.cells for o in c.get("outputs", []))
    leftovers = [p.name for p in out.iterdir() if ".tmp-" in p.name or ".cache-" in p.name]
    assert leftovers == []

    code, err = report_main([*argv, "--notebooks", str(good)])  # fixed: the failure is cleared
    assert code == 0, err
    assert not (out / f"{QUARTER}.failed").exists()


@pytest.fixture(scope="module")
def sample() -> object:
    run = sample_report()
    assert run.code == 0, run.stderr
    return run


@pytest.mark.slow
def test_sample_report_has_every_output(sample) -> None:
    folder = sample.folder
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in page
    assert find_unsafe_content(page) == []
    sources = sorted(p.name for p in sample.notebooks.glob("[0-9]*.ipynb"))
    assert sorted(p.name for p in (folder / "notebooks").glob("*.ipynb")) == sources
    executed = nbformat.read(folder / "notebooks" / sources[0], 4)
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in executed.cells)
    pngs = sorted((folder / "charts").rglob("*.png"))
    assert pngs, "no chart written"
    assert {p.stem for p in pngs} == {p.stem for p in (folder / "charts").rglob("*.svg")}
    for png in pngs:
        width, dpi = _png_size_and_dpi(png.read_bytes())
        assert width >= 800 and dpi >= 199, (png.name, width, dpi)
    wb = openpyxl.load_workbook(folder / f"kpi_{QUARTER}.xlsx")
    assert wb.sheetnames[0] == "KPI达成"
    word = folder / f"{QUARTER}_运营情况报告.docx"  # the bureau's copy, published with the rest
    with zipfile.ZipFile(word) as z:
        assert "示例数据" in z.read("word/header1.xml").decode("utf-8")
        assert "kpi_attainment" not in z.read("word/document.xml").decode("utf-8")
    shown = sorted(p.name for p in sample.out.iterdir() if not p.name.startswith("."))
    assert shown == [QUARTER, "index.html", "runs.jsonl"]  # + the archive index and run log
    assert (folder / "summary.json").is_file()


@pytest.mark.slow
def test_sample_report_shows_no_code_and_a_watermark(sample) -> None:
    page = (sample.folder / "report.html").read_text(encoding="utf-8")
    body = _body(page)
    assert "injected-parameters" not in page
    assert "jp-InputArea-editor" not in body and 'class="highlight' not in body
    assert "cache_dir" not in page and "charts_dir" not in page
    for notebook in sample.notebooks.glob("[0-9]*.ipynb"):  # no line of code shows
        for cell in nbformat.read(notebook, 4).cells:
            if cell.cell_type == "code":
                for line in cell.source.splitlines():
                    if len(line.strip()) > 25 and not line.strip().startswith("#"):
                        assert html.escape(line.strip(), quote=False) not in body, line
    assert "qyzj-watermark" in body and "示例数据" in _text(page)


@pytest.mark.slow
def test_injected_title_is_escaped(sample) -> None:
    page = (sample.folder / "report.html").read_text(encoding="utf-8")
    assert INJECTED_TITLE not in page
    assert ESCAPED_TITLE in page
    assert "<script" not in page


@pytest.mark.slow
def test_no_personal_data_in_any_output(sample) -> None:
    values = [v for v in sample.personal_values if len(v) >= 2]
    assert len(values) > 100
    pattern = re.compile("|".join(re.escape(v) for v in sorted(values, key=len, reverse=True)))
    scanned = 0
    for path in sorted(sample.out.rglob("*")):
        if path.is_file():
            for where, text in _texts_of(path):
                found = pattern.search(text)
                assert found is None, f"{path.relative_to(sample.out)} ({where}): {found[0]!r}"
                scanned += 1
    assert scanned >= 5


_DATA_URI = re.compile(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=\s]+")


def _texts_of(path: Path) -> list[tuple[str, str]]:
    """The text a person could read in ``path``: markup unescaped, base64 blobs left out."""
    data = path.read_bytes()
    suffix = path.suffix.lower()
    if suffix == ".png":
        return [("png text chunk", t) for t in _png_texts(data)]
    if suffix in (".xlsx", ".docx", ".zip"):
        with zipfile.ZipFile(path) as zf:
            return [
                (n, html.unescape(zf.read(n).decode("utf-8", "replace"))) for n in zf.namelist()
            ]
    text = data.decode("utf-8", "replace")
    if suffix == ".ipynb":
        nb = json.loads(text)
        for cell in nb.get("cells", []):
            for output in cell.get("outputs", []):
                for mime in list(output.get("data", {})):
                    if mime.startswith("image/") and mime != "image/svg+xml":
                        del output["data"][mime]
        text = json.dumps(nb, ensure_ascii=False)
    return [("text", html.unescape(_DATA_URI.sub("", text)))]


def _png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    chunks, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        chunks.append((data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return chunks


def _png_texts(data: bytes) -> list[str]:
    texts = []
    for kind, body in _png_chunks(data):
        if kind == b"tEXt":
            texts.append(body.decode("latin-1"))
        elif kind == b"zTXt":
            key, _, rest = body.partition(b"\0")
            texts.append(key.decode("latin-1") + zlib.decompress(rest[1:]).decode("latin-1"))
        elif kind == b"iTXt":
            key, _, rest = body.partition(b"\0")
            compressed, rest = rest[0], rest[2:]
            _lang, _, rest = rest.partition(b"\0")
            _tkey, _, text = rest.partition(b"\0")
            texts.append(zlib.decompress(text).decode() if compressed else text.decode())
    return texts


def _png_size_and_dpi(data: bytes) -> tuple[int, float]:
    width, dpi = 0, 0.0
    for kind, body in _png_chunks(data):
        if kind == b"IHDR":
            (width,) = struct.unpack(">I", body[:4])
        elif kind == b"pHYs":
            x, _, unit = struct.unpack(">IIB", body)
            dpi = x * 0.0254 if unit == 1 else 0.0
    return width, dpi


def test_png_helpers_read_what_matplotlib_writes(tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 2))
    ax.plot([0, 1])
    fig.savefig(tmp_path / "x.png", dpi=200, metadata={"Title": "测试标题"})
    plt.close(fig)
    width, dpi = _png_size_and_dpi((tmp_path / "x.png").read_bytes())
    assert width == 800 and round(dpi) == 200
    assert any("测试标题" in t for t in _png_texts((tmp_path / "x.png").read_bytes()))


def test_report_module_imports_no_heavy_modules() -> None:
    import subprocess
    import sys

    code = (
        "import sys, qyzj_analytics.reporting.report.build; "
        "print(sorted(m for m in ('pandas', 'matplotlib', 'papermill', 'nbconvert') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


@pytest.mark.slow
def test_reused_kernels_start_each_notebook_clean(tmp_path: Path) -> None:
    v4 = nbformat.v4
    check = "assert 'leak' not in globals(), 'namespace leaked'"
    notebooks = [
        _notebook(tmp_path, "1_leak.ipynb", [v4.new_code_cell("leak = 1")]),
        _notebook(tmp_path, "2_check.ipynb", [v4.new_code_cell(check)]),
        _notebook(tmp_path, "3_die.ipynb", [v4.new_code_cell("import os\nos._exit(1)")]),
        _notebook(tmp_path, "4_check.ipynb", [v4.new_code_cell(check)]),
    ]
    runs = execute_notebooks(notebooks, tmp_path / "out", {}, workers=1)
    assert [r.error is None for r in runs] == [True, True, False, True], [r.error for r in runs]
    for name in ("2_check.ipynb", "4_check.ipynb"):
        cell = nbformat.read(tmp_path / "out" / name, 4).cells[-1]
        assert cell.execution_count == 1


def test_scanner_finds_planted_values(tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    name = "张俊刚"
    (tmp_path / "a.html").write_text("<p>&#x5F20;俊刚</p><img src='data:image/png;base64,AAAA'>")
    (tmp_path / "b.svg").write_text(f"<svg><title>{name}</title></svg>")
    fig = plt.figure()
    fig.savefig(tmp_path / "c.png", metadata={"Author": name})
    plt.close(fig)
    wb = openpyxl.Workbook()
    wb.active["A1"] = name
    wb.save(tmp_path / "d.xlsx")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(name)])
    nbformat.write(nb, tmp_path / "e.ipynb")
    for path in sorted(tmp_path.iterdir()):
        assert any(name in text for _, text in _texts_of(path)), path.name


# ------------------------------------------------------------------------------------------------
# Summary-first, print-ready and plain text for the reader (issue 13 items 2, 3, 5; issue 12 item 3)

_CJK = re.compile(r"[\u4e00-\u9fff]")
_INTERNAL_ID = re.compile(r"(?<![\w-])[a-z][a-z0-9_]*（")
_HIDDEN_NAMES = (".qyzj-sample", ".DS_Store", "~$")


def _plan_metrics(**plan: object) -> object:
    """Just enough of ``Metrics`` for the plan texts: ``forecast.info["plan"]``."""
    base = {
        "statement": "",
        "target_grade_name": "良好",
        "target_probability": 0.9,
        "probability_now": 0.316,
        "probability_with_plan": 0.93,
        "reachable": True,
        "limiting": [],
        "missing": [],
        "steps": ["再招募 7 名志愿服务专家", "年底前办结 12 件在办诉求"],
        "step_adds": [0.4, 0.214],
        "higher_grade_name": "优秀",
        "higher_probability_max": 0.012,
        "higher_reason": "优秀达不到 90%：即使各项措施全部用到上限，年底达到优秀的概率最高也只有 1.2%。",
    }
    info = {"plan": {**base, **plan}}
    return dataclasses.make_dataclass("M", ["forecast"])(
        dataclasses.make_dataclass("F", ["info"])(info)
    )


def test_plan_in_operator_terms() -> None:
    from qyzj_analytics.reporting.summary import describe_plan

    text = describe_plan(_plan_metrics())
    assert "**目标档次：良好**" in text
    assert "**为什么不是优秀**" in text and "最高也只有 1.2%" in text
    assert "1. 再招募 7 名志愿服务专家（达到良好的概率 +40.0 个百分点）" in text
    assert "2. 年底前办结 12 件在办诉求（达到良好的概率 +21.4 个百分点）" in text
    assert "按当前预测 **32%**，执行以上全部措施后 **93%**（目标 90%）" in text
    top = describe_plan(_plan_metrics(higher_grade_name=None, higher_reason=""))
    assert "为什么不是" not in top


def test_plan_probability_and_planning_reach_the_report_options(tmp_path: Path) -> None:
    from qyzj_analytics.cli import build_parser

    args = build_parser().parse_args(
        ["report", "--quarter", QUARTER, "--plan-probability", "80%", "--planning", "p.yaml"]
    )
    assert args.plan_probability == 0.8 and args.planning == Path("p.yaml")
    raw = write_tiny_raw(tmp_path / "raw")
    out = tmp_path / "reports"
    bad = tmp_path / "planning.yaml"
    bad.write_text("- 不是键值对\n", encoding="utf-8")
    argv = ["--quarter", QUARTER, "--raw", str(raw), "--out", str(out), "--planning", str(bad)]
    code, err = report_main(argv)
    assert code == 3 and "规划文件" in err, err  # a bad config file, as for qyzj forecast
    assert not out.exists()


def test_plain_text_and_hidden_files() -> None:
    from qyzj_analytics.reporting.quality import is_hidden_file, plain_text

    note = "找到的表头: ['填表说明']；最接近的表格: activities（活动台账），它需要的列: date（活动时间）"
    assert plain_text(note) == "找到的表头: 填表说明；最接近的表格: 活动台账，它需要的列: 活动时间"
    assert [
        is_hidden_file(n) for n in (".qyzj-sample", "a/.DS_Store", "~$台账.xlsx", "台账.xlsx")
    ] == [
        True,
        True,
        True,
        False,
    ]


def test_css_prints_on_a4_with_page_numbers() -> None:
    from qyzj_analytics.reporting.report.render import CSS_FILE, read_template

    css = read_template(CSS_FILE)
    page = css[css.index("@page {") :]
    assert re.search(r"size:\s*A4", page)
    assert "counter(page)" in page and "@bottom-center" in page
    assert re.search(r"\.qyzj-cover\s*\{[^}]*break-after:\s*page", css)
    assert re.search(r"@media print\s*\{[^@]*\.qyzj-watermark\s*\{\s*display:\s*none", css)


def test_pdf_without_a_browser_exits_2_and_publishes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QYZJ_BROWSER", str(tmp_path / "no-such-browser"))
    raw = write_tiny_raw(tmp_path / "raw")
    out = tmp_path / "reports"
    code, err = report_main(["--quarter", QUARTER, "--raw", str(raw), "--out", str(out), "--pdf"])
    assert code == 2, err
    assert "浏览器" in err and "未生成任何报告" in err
    assert not out.exists()


def _h1s(page: str) -> list[str]:
    """The text of the page's top-level headings, in order."""
    return [
        html.unescape(re.sub(r"<[^>]+>|¶", "", h)).strip()
        for h in re.findall(r"<h1[^>]*>(.*?)</h1>", page, re.S)
    ]


@pytest.mark.slow
def test_sample_report_reads_summary_first(sample) -> None:
    page = (sample.folder / "report.html").read_text(encoding="utf-8")
    heads = _h1s(page)
    order = ["摘要", "KPI 达成情况", "年终考核预测", "活动结构", "附录：数据质量"]
    found = [next(i for i, h in enumerate(heads) if h.startswith(o)) for o in order]
    assert found == sorted(found) and found[0] == 1, heads  # 0: the cover's title
    assert found[-1] == len(heads) - 1, heads  # data quality is the last section
    text = _text(page)
    summary = text[text.index("摘要") : text.index("KPI 达成情况")]
    for label in ("当前档次", "进度落后的指标", "年终展望", "行动计划"):
        assert label in summary
    assert "目标档次" in text and "执行以上全部措施后" in text


@pytest.mark.slow
def test_sample_report_text_is_plain_for_the_reader(sample) -> None:
    page = (sample.folder / "report.html").read_text(encoding="utf-8")
    text = _text(page)
    assert not _INTERNAL_ID.search(text), _INTERNAL_ID.findall(text)
    assert not re.search(r"\['[^]]*'\]", text)
    for name in _HIDDEN_NAMES:
        assert name not in text, name
    assert "今天" not in text
    alts = re.findall(r'<img[^>]*\balt="([^"]*)"', page)
    assert alts and len(alts) == page.count("<img"), "an image without alt text"
    assert all(_CJK.search(a) for a in alts), alts
    assert "No description" not in page
    cover = re.search(r"基础分 ([\d.]+)，奖励分 ([\d.]+)", text)
    assert cover is not None
    assert text.count(f"基础分 {cover.group(1)}") >= 2  # the cover and the 摘要: one format
    assert f"奖励分 {cover.group(2)}" in text[text.find("摘要") :]
