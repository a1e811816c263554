"""Console output survives the GBK code page (issue 11 item 2).

A Windows scheduled task (or a cp936 console redirected to a log) writes ``qyzj``'s output in GBK,
which has no emoji and no rare characters such as 𠀀. The CLI's own text is GBK-safe at the source,
and data text it cannot encode is replaced (``?``) or, in JSON, escaped — never a
UnicodeEncodeError. Each command runs here in a subprocess with ``PYTHONIOENCODING=gbk``.
"""

from __future__ import annotations

import ast
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from qyzj_analytics.console import json_text, protect_streams

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "qyzj_analytics"
# literals that describe *input* characters to clean or to plant in sample data; never printed
INPUT_CHARACTER_TABLES = {
    "ingest/headertext.py",
    "ingest/parse.py",
    "sample/ledgers.py",
    "sample/truth.py",
}
EMOJI_TITLE = "😀“小微你好”走进柳市小微园𠀀"


def qyzj(*args: str, cwd: Path, encoding: str = "gbk") -> subprocess.CompletedProcess[bytes]:
    """Run ``qyzj args`` with stdout/stderr in ``encoding``; output left as bytes."""
    env = {**os.environ, "PYTHONIOENCODING": encoding, "PYTHONPATH": str(ROOT)}
    env.pop("PYTHONSAFEPATH", None)
    command = [sys.executable, "-m", "qyzj_analytics.cli", *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, timeout=600)


def check(result: subprocess.CompletedProcess[bytes], code: int = 0) -> tuple[str, str]:
    """Assert the exit code and a clean stderr; returns stdout and stderr decoded from GBK."""
    out, err = result.stdout.decode("gbk"), result.stderr.decode("gbk")
    assert result.returncode == code, err
    assert "UnicodeEncodeError" not in err and "Traceback" not in err, err
    return out, err


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding ``raw/``, the generated sample (``qyzj sample`` itself runs in GBK)."""
    folder = tmp_path_factory.mktemp("gbk")
    out, _ = check(qyzj("sample", "--out", "raw", cwd=folder))
    assert "已生成示例导出" in out
    return folder


@pytest.fixture
def emoji_raw(tmp_path: Path) -> Path:
    """A raw folder whose one activity has an emoji and a character outside GBK in its title."""
    folder = tmp_path / "raw"
    folder.mkdir()
    (folder / "活动.csv").write_text(
        f"序号,活动名称,活动时间,活动形式\n1,{EMOJI_TITLE},2025-03-05 14:30,线下\n",
        encoding="utf-8",
    )
    return folder


def test_the_package_prints_only_gbk_characters() -> None:
    """Every string literal (docstrings aside) can be written on a GBK console."""
    bad = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.relative_to(PACKAGE).as_posix() in INPUT_CHARACTER_TABLES:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in docstrings
            ):
                outside = {ch for ch in node.value if not ch.encode("gbk", "ignore")}
                if outside:
                    bad.append(f"{path.relative_to(ROOT)}:{node.lineno}: {sorted(outside)}")
    assert not bad, "characters outside GBK (use ones GBK has):\n" + "\n".join(bad)


def test_protect_streams_replaces_what_gbk_lacks() -> None:
    raw = io.BytesIO()
    gbk = io.TextIOWrapper(raw, encoding="gbk", errors="strict")
    utf8 = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict")
    stderr_like = io.TextIOWrapper(io.BytesIO(), encoding="gbk", errors="backslashreplace")
    protect_streams(gbk, utf8, stderr_like, None)
    assert (gbk.encoding, gbk.errors) == ("gbk", "replace")
    assert (utf8.encoding, utf8.errors) == ("utf-8", "strict")  # UTF-8 terminals unchanged
    assert stderr_like.errors == "backslashreplace"  # already safe: keeps the code point
    print(f"活动 {EMOJI_TITLE} ✓", file=gbk, flush=True)
    assert raw.getvalue().decode("gbk") == "活动 ?“小微你好”走进柳市小微园? ?\n"


def test_json_text_stays_exact_and_readable_on_gbk() -> None:
    data = {"title": EMOJI_TITLE, "note": "≥ 90% · 完成"}
    gbk = io.TextIOWrapper(io.BytesIO(), encoding="gbk")
    text = json_text(data, gbk)
    text.encode("gbk")  # writable
    assert json.loads(text) == data  # nothing lost: escaped, not replaced
    assert "小微你好" in text and "\\ud83d\\ude00" in text
    utf8 = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    assert json_text(data, utf8) == json.dumps(data, ensure_ascii=False, indent=2)


def test_kpi_text_and_json_on_gbk(work: Path) -> None:
    out, _ = check(qyzj("kpi", "--raw", "raw", "--as-of", "2025-09-30", cwd=work))
    assert "基础分" in out and "档次" in out
    # the CLI's own text needs no replacement: the GBK output is the UTF-8 output
    utf8 = qyzj("kpi", "--raw", "raw", "--as-of", "2025-09-30", cwd=work, encoding="utf-8")
    assert out == utf8.stdout.decode("utf-8")
    out, _ = check(qyzj("kpi", "--raw", "raw", "--as-of", "2025-09-30", "--json", cwd=work))
    assert json.loads(out)["as_of"] == "2025-09-30"


def test_kpi_explain_prints_titles_gbk_lacks(emoji_raw: Path) -> None:
    args = ("kpi", "--raw", str(emoji_raw), "--as-of", "2025-06-30")
    out, _ = check(qyzj(*args, "--explain", "park_events", cwd=emoji_raw.parent))
    assert "?小微你好走进柳市小微园?" in out  # the cleaner drops the quotes
    out, _ = check(qyzj(*args, "--json", cwd=emoji_raw.parent))
    assert json.loads(out)["kpis"]["park_events"]["actual"] == 1


def test_forecast_clean_and_backtest_on_gbk(work: Path) -> None:
    forecast = ("forecast", "--raw", "raw", "--as-of", "2025-09-30", "--draws", "500")
    out, _ = check(qyzj(*forecast, cwd=work))
    assert out == qyzj(*forecast, cwd=work, encoding="utf-8").stdout.decode("utf-8")
    out, _ = check(qyzj(*forecast, "--json", cwd=work))
    assert json.loads(out)
    out, _ = check(qyzj("clean", "--raw", "raw", "--out", "processed", cwd=work))
    assert "已清洗" in out
    out, _ = check(qyzj("backtest", "--years", "2", "--draws", "200", cwd=work))
    assert "P10" in out
    out, _ = check(qyzj("report", "--help", cwd=work))
    assert "季度" in out


def test_report_on_gbk(work: Path) -> None:
    args = ("report", "--quarter", "2025Q3", "--raw", "raw", "--out", "reports", "--draws", "500")
    out, err = check(qyzj(*args, cwd=work))
    assert "报告已生成" in out and "[report] 完成" in err
    assert (work / "reports" / "2025Q3" / "report.html").is_file()


def test_errors_on_gbk(work: Path, tmp_path: Path) -> None:
    _, err = check(qyzj("report", "--quarter", "2025Q9", "--raw", "raw", cwd=work), code=2)
    assert "2025Q9" in err
    _, err = check(qyzj("kpi", "--raw", "raw", "--as-of", "2025-13-01", cwd=work), code=2)
    assert "参数错误" in err
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "坏表😀.csv").write_text("甲,乙,丙\n1,2,3\n", encoding="utf-8")
    _, err = check(qyzj("kpi", "--raw", str(bad), "--as-of", "2025-06-30", cwd=tmp_path), code=3)
    assert "坏表" in err and "无法识别表头" in err


def test_locations_name_files_with_the_system_separator(monkeypatch: pytest.MonkeyPatch) -> None:
    from qyzj_analytics.errors import DataError, Location

    monkeypatch.setattr(os, "sep", "\\")  # as on Windows
    where = Location("2025/活动.xlsx", "1月", 5)
    assert where.describe() == "文件 2025\\活动.xlsx, 工作表 1月, 第 5 行"
    assert where.file == "2025/活动.xlsx"  # the portable name the processed data keeps
    assert str(DataError("无法识别表头", where)).startswith("文件 2025\\活动.xlsx")
