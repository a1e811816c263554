"""``qyzj report``: the quarterly report, rendered unattended and published atomically.

One run pre-computes the metrics once (clean + assess + forecast) into a cache folder, executes
the numbered notebooks of ``notebooks/`` with papermill (two at a time, :mod:`.kernels`), merges
them behind a cover (:mod:`.cover`) into one notebook and renders ``reports/<quarter>/report.html``
with nbconvert (:mod:`.render`: no code, no parameter cells, every image embedded, no script and
no external resource), beside ``charts/`` (PNG + SVG written by the notebooks),
``kpi_<quarter>.xlsx`` (:mod:`.workbook`, aggregates only), ``<quarter>_运营情况报告.docx``
(the bureau's Word copy, :mod:`qyzj_analytics.reporting.word`) and ``notebooks/`` (the executed
notebooks).

Everything is rendered into a temporary folder inside the output folder and swapped in only when
every step succeeded (:mod:`.publish`), under a per-quarter lock (:mod:`.lock`), so a failed or
concurrent run never damages the last good report. Exit codes: see :mod:`.options`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.resources
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from qyzj_analytics.errors import QyzjError, UsageError
from qyzj_analytics.outputs import ensure_writable, writing_to
from qyzj_analytics.reporting.report.cover import cover_cell, summary_cell
from qyzj_analytics.reporting.report.forked import ForkedRunner, fork_available
from qyzj_analytics.reporting.report.kernels import NotebookRunner, load_timings, save_timings
from qyzj_analytics.reporting.report.lock import lock_quarter
from qyzj_analytics.reporting.report.options import (
    NotebookFailed,
    ReportOptions,
    add_report_parser,
    check_report_folders,
    display_path,
    log,
    resolve_quarter,
)
from qyzj_analytics.reporting.report.pageproc import PageFailed, PageWorker
from qyzj_analytics.reporting.report.precompute import (
    BASE_CACHE,
    FULL_CACHE,
    needs_forecast,
    notebook_parameters,
    precompute_base,
    precompute_forecast,
)
from qyzj_analytics.reporting.report.publish import publish, remove_stale
from qyzj_analytics.reporting.report.render import warm_renderer, write_page
from qyzj_analytics.reporting.report.workbook import write_kpi_xlsx

if TYPE_CHECKING:
    from nbformat import NotebookNode

    from qyzj_analytics.contract.model import Contract
    from qyzj_analytics.reporting.archive.runs import RunRecord
    from qyzj_analytics.reporting.bundle import Metrics

Runner = NotebookRunner | ForkedRunner

NOTEBOOK_PATTERN = "[0-9]*.ipynb"
FORKED = True  # on Linux, notebooks run in processes forked from a warm worker (.forked)
PACKAGED_NOTEBOOKS = "notebooks"  # the checkout's notebooks/, mapped into this package by the wheel


def run_report(args: argparse.Namespace) -> int:
    """``qyzj report``: render and publish one quarter's report; returns the exit code.

    Raises:
        UsageError: bad quarter, draws or folders (exit 2).
        DataError: the exports cannot be used (exit 3).
        NotebookFailed: a notebook failed (exit 4).
        ReportLocked: another run holds the quarter's lock (exit 5).
    """
    from qyzj_analytics.reporting.archive.runs import record_run

    return record_run(args, _run_report)  # run log, reports/index.html, --notify


def _run_report(args: argparse.Namespace, run: RunRecord) -> int:
    """:func:`run_report` itself; ``run`` learns the quarter and the output folder."""
    from qyzj_analytics.contract.model import load_contract

    if args.draws <= 0:
        raise UsageError(f"--draws 应为正整数，收到 {args.draws}")
    if not args.raw.is_dir():
        raise UsageError(f"原始数据文件夹不存在: {args.raw}")
    from qyzj_analytics.forecast.planning import load_planning
    from qyzj_analytics.reporting.report.pdf import find_browser

    browser = find_browser(args.browser) if args.pdf else None  # before anything is rendered
    contract = load_contract(args.config)
    load_planning(args.planning)  # a bad planning file stops before any work
    quarter, as_of = resolve_quarter(args.quarter, contract, dt.date.today())
    check_report_folders(args.raw, args.out, quarter)
    options = ReportOptions(
        quarter=quarter,
        as_of=as_of,
        raw_dir=args.raw.resolve(),
        out_dir=args.out.resolve(),
        config=args.config.resolve() if args.config else None,
        draws=args.draws,
        seed=args.seed,
        notebooks_dir=args.notebooks.resolve() if args.notebooks else None,
        plan_probability=args.plan_probability,
        planning=args.planning.resolve() if args.planning else None,
        browser=browser,
    )
    run.known(quarter, as_of, options.out_dir)
    with writing_to(options.out_dir):
        target = build_report(options, contract)
    print(f"报告已生成: {display_path(target / 'report.html')}")
    return 0


def default_notebooks() -> Path:
    """Where the report's notebooks are when ``--notebooks`` is not given.

    In a checkout (the folder above the package holds ``pyproject.toml`` and ``notebooks/``) it is
    the checkout's ``notebooks/``, so an analyst's edit takes effect; in an installed package it is
    the copy the wheel carries (``qyzj_analytics/reporting/report/notebooks/``).
    """
    root = Path(__file__).resolve().parents[3]
    if (root / "pyproject.toml").is_file() and (root / "notebooks").is_dir():
        return root / "notebooks"
    packaged = importlib.resources.files("qyzj_analytics.reporting.report") / PACKAGED_NOTEBOOKS
    return Path(str(packaged))  # papermill reads files: the package is installed as files


def find_notebooks(folder: Path | None = None) -> list[Path]:
    """The report's notebooks: ``[0-9]*.ipynb`` in ``folder``, in name order.

    Args:
        folder: the notebook folder; None for :func:`default_notebooks`.

    Raises:
        UsageError: the folder is missing or holds no such notebook.
    """
    folder = default_notebooks() if folder is None else folder
    found = sorted(folder.glob(NOTEBOOK_PATTERN)) if folder.is_dir() else []
    if not found:
        raise UsageError(
            f"在 {folder} 中没有找到以数字开头的 notebook（如 02_kpi_attainment.ipynb）"
        )
    return found


def build_report(options: ReportOptions, contract: Contract) -> Path:
    """Render the report of ``options.quarter`` and publish it to ``out_dir/<quarter>``.

    Returns:
        The published folder.

    Raises:
        DataError: the exports cannot be used (nothing is published; with no export at all,
            nothing is written).
        NotebookFailed: a notebook failed; the run is kept in ``out_dir/<quarter>.failed``.
        ReportLocked: another run holds the quarter's lock.
    """
    notebooks = find_notebooks(options.notebooks_dir)
    return _build_report(options, contract, notebook_runner(notebooks, options.notebooks_dir))


def notebook_runner(notebooks: Sequence[Path], folder: Path | None) -> Runner:
    """Who executes the notebooks: the package's own in processes forked from a warm worker
    (:mod:`.forked`, Linux), else one worker in this process and a kernel; a ``--notebooks``
    folder runs in kernels only, so its code cannot end this process."""
    if folder is None and FORKED and fork_available():
        return ForkedRunner(notebooks)
    return NotebookRunner(notebooks, in_process=folder is None)  # a kernel boots from here on


def _build_report(options: ReportOptions, contract: Contract, runner: Runner) -> Path:
    """:func:`build_report` with its notebook runner; with forked notebooks, the page is
    rendered by a process forked now, before pandas is imported (:mod:`.pageproc`)."""
    with runner, PageWorker() as pages:
        if isinstance(runner, ForkedRunner):
            pages.start()
        return _build_report_with(options, contract, runner, pages)


def _build_report_with(
    options: ReportOptions, contract: Contract, runner: Runner, pages: PageWorker
) -> Path:
    from qyzj_analytics.ingest.pipeline import require_exports  # (pandas: only when running)
    from qyzj_analytics.reporting.archive.summary import write_summary

    forked = isinstance(runner, ForkedRunner)
    require_exports(options.raw_dir)  # no export at all: exit 3 before anything is written
    runner.start()  # a forked worker inherits pandas and warms up on the other core
    out_dir = options.out_dir
    ensure_writable(out_dir)
    target = out_dir / options.quarter
    failed = out_dir / f"{options.quarter}.failed"
    with lock_quarter(out_dir, options.quarter):
        remove_stale(out_dir, options.quarter)
        staging = Path(tempfile.mkdtemp(prefix=f".{options.quarter}.tmp-", dir=out_dir))
        staging.chmod(0o755)  # mkdtemp makes it private; the published folder is read by others
        cache = Path(tempfile.mkdtemp(prefix=f".{options.quarter}.cache-", dir=out_dir))
        try:
            started = time.perf_counter()
            charts = staging / "charts"
            charts.mkdir()
            log(f"[report] {options.quarter}（截至 {options.as_of.isoformat()}）：预计算指标…")
            base = precompute_base(options, contract, cache)
            timings, executed = load_timings(out_dir), staging / "notebooks"
            early = [nb for nb in runner.notebooks if not needs_forecast(nb)]
            params = notebook_parameters(options, cache / BASE_CACHE, charts)
            runner.submit(early, params, timings, executed)  # they run while the forecast does
            metrics = precompute_forecast(options, contract, base, cache)
            params = notebook_parameters(options, cache / FULL_CACHE, charts)
            runner.submit(
                [nb for nb in runner.notebooks if nb not in early], params, timings, executed
            )

            front = []  # the cover and 摘要 cells, before the notebooks' own

            def meanwhile() -> None:  # needs no notebook output
                write_kpi_xlsx(staging / f"kpi_{options.quarter}.xlsx", options, contract, metrics)
                write_summary(staging, metrics, contract)  # reports/<quarter>/summary.json
                front.extend([cover_cell(options, contract, metrics), summary_cell(metrics)])
                if not forked:  # else the page worker warmed up at start-up
                    warm_renderer()

            runs = runner.finish([(lambda: True, meanwhile)])
            errors = [r for r in runs if r.error]
            if errors:
                shutil.rmtree(failed, ignore_errors=True)
                os.replace(staging, failed)
                first = errors[0]
                kept = f"上一份成功的报告 {target} 保持不变" if target.exists() else "未发布报告"
                raise NotebookFailed(
                    f"notebook {first.name} 运行失败: {first.error}\n"
                    f"已执行的 notebook 保存在 {failed / 'notebooks'}；{kept}"
                    + "".join(f"\n另: notebook {r.name}: {r.error}" for r in errors[1:])
                )
            log("[report] 合并 notebook 并渲染 HTML…")
            title = f"{contract.name} {options.quarter} 季度运营分析报告"
            executed_paths = [r.output for r in runs]
            if forked:  # the page worker renders while this process writes the other files
                pages.submit(front, executed_paths, title, staging, options.is_sample)
                write_word(staging, options, contract, metrics)
                problems = page_result(
                    pages, front, executed_paths, title, staging, options.is_sample
                )
            else:
                problems = write_page(front, executed_paths, title, staging, options.is_sample)
            if problems:
                shutil.rmtree(failed, ignore_errors=True)
                os.replace(staging, failed)
                raise NotebookFailed(
                    "报告 HTML 含有脚本或外部资源，未发布: " + "; ".join(problems[:5])
                )
            if options.browser is not None:
                write_pdf(options.browser, staging)
            if not forked:
                write_word(staging, options, contract, metrics)
            check_charts(charts)
            publish(staging, target)
            save_timings(out_dir, runs)
            shutil.rmtree(failed, ignore_errors=True)
            log(f"[report] 完成，用时 {time.perf_counter() - started:.1f} s")
        finally:
            shutil.rmtree(cache, ignore_errors=True)
            shutil.rmtree(staging, ignore_errors=True)
    return target


def write_word(staging: Path, options: ReportOptions, contract: Contract, metrics: Metrics) -> Path:
    """Write the bureau's Word report into ``staging`` (published with the rest); returns it."""
    from qyzj_analytics.reporting.word.document import word_report_name, write_word_report
    from qyzj_analytics.reporting.word.steps import plan_steps_of

    started = time.perf_counter()
    path = write_word_report(
        staging / word_report_name(options.quarter),
        metrics,
        plan_steps=plan_steps_of(metrics),
        buyer=contract.buyer,
        charts_dir=staging / "charts",
    )
    log(f"[report] Word 报告 {path.name}，用时 {time.perf_counter() - started:.2f} s")
    return path


def write_pdf(browser: Path, staging: Path) -> Path:
    """Print ``staging/report.html`` to ``staging/report.pdf`` (A4, published with the rest)."""
    from qyzj_analytics.reporting.report.pdf import print_pdf

    started = time.perf_counter()
    pdf = print_pdf(browser, staging / "report.html", staging / "report.pdf")
    log(f"[report] PDF {pdf.name}（{browser.name}），用时 {time.perf_counter() - started:.1f} s")
    return pdf


def page_result(
    pages: PageWorker,
    front: Sequence[NotebookNode],
    executed: Sequence[Path],
    title: str,
    staging: Path,
    sample: bool,
) -> list[str]:
    """The page worker's answer; should the worker fail or die, the page is rendered here, as
    a run without fork renders it (so a lost helper process never loses the report)."""
    try:
        return pages.result()
    except PageFailed as exc:
        log(f"[report] 注意：{exc}；改在本进程渲染 HTML")
        return write_page(front, executed, title, staging, sample)


def check_charts(charts: Path) -> None:
    """Warn (stderr) when the notebooks wrote no chart, or a chart lacks its PNG or SVG."""
    pngs = {p.stem for p in charts.rglob("*.png")}
    svgs = {p.stem for p in charts.rglob("*.svg")}
    if not pngs and not svgs:
        log("[report] 注意：notebook 没有向 charts/ 写出任何图表")
    for stem in sorted(pngs ^ svgs):
        log(f"[report] 注意：图表 {stem} 缺少 PNG 或 SVG 版本")


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m qyzj_analytics.reporting.report.build …``: the same as ``qyzj report …``."""
    parser = argparse.ArgumentParser(prog="python -m qyzj_analytics.reporting.report.build")
    add_report_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["report", *(sys.argv[1:] if argv is None else argv)])
    try:
        return run_report(args)
    except QyzjError as exc:
        print(f"错误: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
