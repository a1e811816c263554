"""Shared by test_report.py and test_browser.py: run ``qyzj report`` and render the sample once.

The sample report uses the project's notebooks (``notebooks/[0-9]*.ipynb``) when they exist, and
the small notebooks of ``tests/data/notebooks`` otherwise.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import io
import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from qyzj_analytics.errors import QyzjError
from qyzj_analytics.ingest.discover import SAMPLE_MARKER
from qyzj_analytics.reporting.report.build import run_report
from qyzj_analytics.reporting.report.options import add_report_parser

ROOT = Path(__file__).resolve().parents[1]
PROJECT_NOTEBOOKS = ROOT / "notebooks"
TEST_NOTEBOOKS = Path(__file__).resolve().parent / "data" / "notebooks"
QUARTER = "2025Q3"
INJECTED_TITLE = "<script>alert(1)</script>"
ESCAPED_TITLE = "&lt;script&gt;alert(1)&lt;/script&gt;"
TINY_ACTIVITIES = (
    "乐清市企业之家2025年活动台账,,,\n"
    "序号,活动名称,活动时间,活动形式\n"
    "1,“小微你好”走进柳市小微园,2025-03-05 14:30,线下\n"
    "2,惠企政策直播,2025/3/6,线上\n"
    f"3,{INJECTED_TITLE},2025-03-07,\n"
)


@dataclass(frozen=True)
class ReportRun:
    """One ``qyzj report`` run: its exit code, stderr and folders."""

    code: int
    stderr: str
    raw: Path
    out: Path

    @property
    def folder(self) -> Path:
        """The published quarter folder."""
        return self.out / QUARTER


def report_main(argv: Sequence[str]) -> tuple[int, str]:
    """Run ``qyzj report ARGV`` in-process; returns the exit code and what went to stderr."""
    from qyzj_analytics import cli

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        if "report" in getattr(cli, "COMMANDS", {}):
            try:
                code = cli.main(["report", *argv])
            except SystemExit as exc:  # argparse errors
                code = int(exc.code or 0)
        else:  # until cli.py wires the sub-command
            parser = argparse.ArgumentParser(prog="qyzj")
            add_report_parser(parser.add_subparsers(dest="command"))
            try:
                code = run_report(parser.parse_args(["report", *argv]))
            except QyzjError as exc:
                print(f"错误: {exc}", file=sys.stderr)
                code = exc.exit_code
            except SystemExit as exc:
                code = int(exc.code or 0)
    return code, err.getvalue()


def copy_notebooks(dest: Path, names: Sequence[str]) -> Path:
    """Copy test notebooks ``names`` (stems) of tests/data/notebooks into ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(TEST_NOTEBOOKS / f"{name}.ipynb", dest / f"{name}.ipynb")
    return dest


def report_notebooks(work: Path) -> Path:
    """The project's notebooks if there are any, else the passing test notebooks."""
    if any(PROJECT_NOTEBOOKS.glob("[0-9]*.ipynb")):
        return PROJECT_NOTEBOOKS
    return copy_notebooks(work / "notebooks", ["10_ok", "20_titles"])


def write_tiny_raw(folder: Path) -> Path:
    """A raw folder with three activities, one titled :data:`INJECTED_TITLE`."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "活动.csv").write_text(TINY_ACTIVITIES, encoding="utf-8-sig")
    return folder


@dataclass(frozen=True)
class SampleReport(ReportRun):
    """The sample's report and the personal values the sample wrote."""

    personal_values: tuple[str, ...] = ()
    notebooks: Path = PROJECT_NOTEBOOKS


_CACHE: dict[str, SampleReport] = {}


def sample_report() -> SampleReport:
    """Render the sample's 2025Q3 report once per test session (plus an injected activity)."""
    if "sample" in _CACHE:
        return _CACHE["sample"]
    from qyzj_analytics.sample.generate import write_sample

    work = Path(tempfile.mkdtemp(prefix="qyzj-test-report-"))
    atexit.register(shutil.rmtree, work, True)
    raw = work / "raw"
    truth = write_sample(raw, seed=2025)
    (raw / SAMPLE_MARKER).touch()
    (raw / "注入测试_活动.csv").write_text(
        "活动名称,活动时间,活动形式\n" + f"{INJECTED_TITLE},2025-08-15,\n", encoding="utf-8"
    )
    notebooks = report_notebooks(work)
    out = work / "reports"
    argv = ["--quarter", QUARTER, "--raw", str(raw), "--out", str(out), "--draws", "2000"]
    code, stderr = report_main([*argv, "--notebooks", str(notebooks)])
    _CACHE["sample"] = SampleReport(code, stderr, raw, out, truth.personal_values, notebooks)
    return _CACHE["sample"]


def write_notebook(folder: Path, name: str, sources: list[str], heading: str = "") -> Path:
    """A test notebook: a ``parameters`` cell (``x = 1``), an optional Markdown heading, then one
    code cell per source; returns its path."""
    import nbformat

    v4 = nbformat.v4
    cells = [v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]})]
    cells += [v4.new_markdown_cell(heading)] if heading else []
    cells += [v4.new_code_cell(source) for source in sources]
    nb = v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path = folder / name
    nbformat.write(nb, path)
    return path
