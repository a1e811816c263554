"""The ``qyzj`` command line (DESIGN "CLI"). Exit codes: 0 ok, 2 bad arguments, 3 bad input
data, 4 a notebook failed. Data problems are printed as one clear message, never a traceback.

Heavy modules are imported inside the commands, so ``qyzj clean`` and ``qyzj kpi`` never import
matplotlib or jupyter.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gc
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from qyzj_analytics.console import json_text, protect_streams
from qyzj_analytics.errors import QyzjError, UsageError
from qyzj_analytics.forecast.settings import (
    BACKTEST_DRAWS,
    BACKTEST_SEED,
    BACKTEST_YEARS,
    DEFAULT_DRAWS,
    DEFAULT_SEED,
)
from qyzj_analytics.ingest.discover import SAMPLE_MARKER

if TYPE_CHECKING:
    from qyzj_analytics.ingest.early import EarlyRead

EXIT_OK, EXIT_USAGE, EXIT_DATA, EXIT_NOTEBOOK = 0, 2, 3, 4
EXIT_BACKTEST_MISSED = 6  # `qyzj backtest --strict`: a band of the backtest was missed
AS_OF_HELP = "截至日期，如 2025-09-30、2025/9/30 或 2025年9月30日；晚于合同服务期结束按结束日计"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse exits 2 too; keep the message Chinese-first
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"参数错误 (bad arguments): {message}\n")


def _date(text: str) -> dt.date:
    from qyzj_analytics.ingest.parse import parse_whole_date

    try:
        return parse_whole_date(text)
    except ValueError as exc:  # ParseError
        raise argparse.ArgumentTypeError(str(exc)) from None


def _dir(text: str) -> Path:
    path = Path(text)
    if not path.is_dir():
        what = "不是文件夹" if path.exists() else "文件夹不存在"
        raise argparse.ArgumentTypeError(f"{what}: {text}")
    return path


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``qyzj``."""
    from qyzj_analytics.reporting.report.options import (
        add_plan_arguments,
        add_report_parser,
        positive_int,
    )

    parser = _Parser(
        prog="qyzj",
        description="乐清市企业之家平台运营分析：清洗导出数据、计算 KPI 达成与考核得分、预测年终档次、生成季度报告。",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("clean", help="清洗原始导出，写出 processed 数据与被拒行")
    p.add_argument("--raw", type=_dir, required=True, help="原始导出文件夹 (data/raw)")
    p.add_argument("--out", type=Path, required=True, help="输出文件夹 (data/processed)")
    p.add_argument("--config", type=Path, help="合同配置 YAML（默认内置 2025 合同）")

    p = sub.add_parser("kpi", help="KPI 达成、得分、档次与付款测算")
    p.add_argument("--raw", type=_dir, required=True, help="原始导出文件夹")
    p.add_argument("--as-of", type=_date, required=True, help=AS_OF_HELP)
    p.add_argument("--config", type=Path, help="合同配置 YAML（默认内置 2025 合同）")
    p.add_argument("--json", action="store_true", help="输出 JSON")
    p.add_argument("--explain", metavar="KPI_ID", help="列出某项 KPI 背后的数据行")

    p = sub.add_parser("forecast", help="年终预测：KPI 区间、档次概率、付款与行动建议")
    p.add_argument("--raw", type=_dir, required=True, help="原始导出文件夹")
    p.add_argument("--as-of", type=_date, required=True, help=AS_OF_HELP)
    p.add_argument("--config", type=Path, help="合同配置 YAML（默认内置 2025 合同）")
    p.add_argument("--json", action="store_true", help="输出 JSON")
    p.add_argument(
        "--draws",
        type=positive_int,
        default=DEFAULT_DRAWS,
        help=f"模拟次数（默认 {DEFAULT_DRAWS}）",
    )
    p.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help=f"随机种子（默认 {DEFAULT_SEED}）"
    )
    add_plan_arguments(p)

    p = sub.add_parser("backtest", help="回测年终预测：模拟完整年度，检验区间覆盖率与技巧分")
    p.add_argument(
        "--years",
        type=positive_int,
        default=BACKTEST_YEARS,
        help=f"模拟年数（默认 {BACKTEST_YEARS}）",
    )
    p.add_argument(
        "--draws",
        type=positive_int,
        default=BACKTEST_DRAWS,
        help=f"每次预测的模拟次数（默认 {BACKTEST_DRAWS}）",
    )
    p.add_argument(
        "--seed", type=int, default=BACKTEST_SEED, help=f"随机种子（默认 {BACKTEST_SEED}）"
    )
    p.add_argument("--config", type=Path, help="合同配置 YAML（默认内置 2025 合同）")
    p.add_argument("--json", action="store_true", help="输出 JSON")
    p.add_argument(
        "--strict",
        action="store_true",
        help=f"有未达标项时以退出码 {EXIT_BACKTEST_MISSED} 结束（供计划任务报警）",
    )
    p.add_argument(
        "--oracle",
        action="store_true",
        help="另算“上限”：知道每年真实过程的预测（诊断用，模型结果不变）",
    )

    add_report_parser(sub)

    p = sub.add_parser("sample", help="生成一年的示例导出（含各种脏数据与虚构个人信息）")
    p.add_argument("--out", type=Path, required=True, help="输出文件夹")
    p.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help=f"随机种子（默认 {DEFAULT_SEED}）"
    )
    p = sub.add_parser("template", help="生成各台账的填报模板（下拉列表、日期校验、填表说明）")
    p.add_argument("--out", type=Path, required=True, help="模板输出文件夹（不要用原始数据文件夹）")
    p.add_argument("--config", type=Path, help="合同配置 YAML（默认内置 2025 合同）")
    p.add_argument("--force", action="store_true", help="覆盖已有的模板")

    p = sub.add_parser("check", help="交表前检查台账文件：列出被拒绝的行和警告")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE", help="要检查的 xlsx/xls/csv 文件")
    p.add_argument("--config", type=Path, help="合同配置 YAML（默认内置 2025 合同）")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``qyzj``; returns the exit code."""
    protect_streams()  # a GBK console (Windows scheduled task) prints "?" instead of crashing
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except QyzjError as exc:
        print(f"错误: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `qyzj kpi --json | head`: the reader left; no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing left to flush
        return 1


def _contract(args: argparse.Namespace):
    """The contract of ``--config`` (bundled by default), checked before any work; exit 2 for an
    ``--as-of`` before its period."""
    from qyzj_analytics.contract.model import load_contract
    from qyzj_analytics.dates.periods import clamp_as_of
    from qyzj_analytics.scoring.kpi import check_kpi_functions

    contract = load_contract(args.config)
    check_kpi_functions(contract)
    if getattr(args, "as_of", None) is not None:
        clamp_as_of(args.as_of, contract.period_start, contract.period_end)
    return contract


def run_clean(args: argparse.Namespace) -> int:
    """``qyzj clean``: processed parquet, rejected rows, duplicates, quality and manifest.

    The cyclic garbage collector is paused while it runs: cleaning makes no reference cycles
    worth collecting, and each of the collector's passes walks every object pandas made on
    import (≈ 5–7 % of the command's CPU time on a million-row export). The console command
    then ends without the interpreter's teardown (:func:`run`, ``QUICK_EXIT``), so no pass
    walks them at exit either; a caller of :func:`main` gets its collector back as it was.

    Before pandas is imported, the first large CSV export starts being read on arrow's threads
    (:mod:`~qyzj_analytics.ingest.early`); the thread has ended when this returns.
    """
    from qyzj_analytics.ingest.early import start_early_read

    paused = gc.isenabled()
    gc.disable()
    early = None
    try:
        early = start_early_read(args.raw)
        return _run_clean(args, early)
    finally:
        if early is not None:
            early.finish()
        if paused:
            gc.enable()


def _run_clean(args: argparse.Namespace, early: EarlyRead | None = None) -> int:
    from qyzj_analytics.ingest.pipeline import prepare
    from qyzj_analytics.ingest.store import write_processed
    from qyzj_analytics.outputs import check_out_dir, writing_to

    check_out_dir(args.out, args.raw)
    prepared = prepare(args.raw, _contract(args), early)
    with writing_to(args.out, every_error=True):
        written = write_processed(prepared.clean, args.out)
    files = prepared.clean.files
    print(f"已清洗 {len(files)} 个表格来源，输出到 {args.out}（{len(written)} 个文件）")
    header = ["文件", "表", "读取", "保留", "拒绝", "重复", "合计行"]
    print("\t".join(header))
    for r in files.itertuples():
        print(
            f"{r.file}\t{r.table}\t{r.rows_read}\t{r.rows_kept}\t{r.rows_rejected}\t"
            f"{r.duplicates}\t{r.summary_rows}"
        )
    if prepared.missing_tables:
        from qyzj_analytics.ingest.schemas import name_tables

        print(f"缺少导出：{name_tables(prepared.missing_tables)}（相关指标将记为缺失）")
    for note in prepared.clean.notes:
        print(f"提示: {note}")
    return EXIT_OK


def run_kpi(args: argparse.Namespace) -> int:
    """``qyzj kpi``: the assessment at --as-of, as a table, JSON, or the rows behind one KPI."""
    from qyzj_analytics.ingest.pipeline import prepare
    from qyzj_analytics.scoring.assessment import (
        STATUS_ZH,
        assess,
        assessment_to_dict,
        format_assessment,
    )
    from qyzj_analytics.scoring.kpi import KpiContext

    contract = _contract(args)
    if args.explain and args.explain not in {k.id for k in contract.kpis}:
        raise UsageError(
            f"未知的 KPI: {args.explain}；可选: {', '.join(k.id for k in contract.kpis)}"
        )
    prepared = prepare(args.raw, contract)
    result = assess(KpiContext.of(prepared, contract, args.as_of), prepared.quality)
    if args.explain:
        from qyzj_analytics.scoring.explain import format_explain

        print(format_explain(result, args.explain, contract, STATUS_ZH["missing"]))
        return EXIT_OK
    if args.json:
        print(json_text(assessment_to_dict(result)))
    else:
        print(format_assessment(result))
    return EXIT_OK


def run_forecast(args: argparse.Namespace) -> int:
    """``qyzj forecast``: the year-end forecast and action plan at --as-of, as a summary or JSON."""
    from qyzj_analytics.forecast.allocator import keep_freed_memory
    from qyzj_analytics.forecast.outlook import forecast_outlook, format_outlook, outlook_to_dict
    from qyzj_analytics.forecast.planning import load_planning
    from qyzj_analytics.ingest.pipeline import prepare
    from qyzj_analytics.scoring.kpi import KpiContext

    contract = _contract(args)
    planning = load_planning(args.planning)  # a bad planning file stops before reading exports
    prepared = prepare(args.raw, contract, issues=False)  # the outlook shows no issue rows
    keep_freed_memory()  # the draws' arrays reuse freed pages (glibc; the process ends soon)
    result = forecast_outlook(
        KpiContext.of(prepared, contract, args.as_of),
        draws=args.draws,
        seed=args.seed,
        plan_probability=args.plan_probability,
        planning=planning,
    )
    if args.json:
        print(json_text(outlook_to_dict(result)))
    else:
        print(format_outlook(result))
    return EXIT_OK


def run_backtest(args: argparse.Namespace) -> int:
    """``qyzj backtest``: coverage and skill of the forecast over simulated full years.

    Progress goes to stderr (stdout stays the table or the JSON). A missed band is flagged in
    the output; with ``--strict`` it also ends with ``EXIT_BACKTEST_MISSED``, so a scheduled run
    notices a forecast that lost its calibration (the result is deterministic for a seed, so a
    red run is a change in the code or the contract, not luck).
    """
    import time

    from qyzj_analytics.forecast.backtest import run_backtest as backtest
    from qyzj_analytics.forecast.backtest_text import backtest_to_dict, format_backtest

    contract = _contract(args)
    started = time.monotonic()
    step = max(1, args.years // 10)

    def progress(done: int, years: int) -> None:
        if done % step and done != years:
            return
        spent = time.monotonic() - started
        left = spent / done * (years - done)
        print(
            f"回测 {done}/{years} 年 …（已用 {spent:.0f} 秒，预计还需 {left:.0f} 秒）",
            file=sys.stderr,
        )

    result = backtest(
        years=args.years,
        draws=args.draws,
        seed=args.seed,
        contract=contract,
        progress=progress,
        oracle=args.oracle,
    )
    if args.json:
        print(json_text(backtest_to_dict(result)))
    else:
        print(format_backtest(result, contract))
    if args.strict and not result.bands_met:
        return EXIT_BACKTEST_MISSED
    return EXIT_OK


def run_sample(args: argparse.Namespace) -> int:
    """``qyzj sample``: a realistic, messy year of exports (never into a folder of other files)."""
    from qyzj_analytics.outputs import check_sample_dir, writing_to
    from qyzj_analytics.sample.generate import write_sample

    check_sample_dir(args.out, SAMPLE_MARKER)
    with writing_to(args.out, every_error=True):  # the marker first: a half-written sample is one
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / SAMPLE_MARKER).write_text(
            "由 qyzj sample 生成的示例数据（虚构），报告会加“示例数据”水印。\n", encoding="utf-8"
        )
        write_sample(args.out, seed=args.seed)
    files = sorted(p for p in args.out.rglob("*") if p.is_file())
    print(f"已生成示例导出 {len(files)} 个文件到 {args.out}（种子 {args.seed}）")
    return EXIT_OK


def run_report(args: argparse.Namespace) -> int:
    """``qyzj report``: papermill + nbconvert render the quarterly report (see report.py)."""
    from qyzj_analytics.reporting.report.build import run_report as report

    return report(args)


def run_template(args: argparse.Namespace) -> int:
    """``qyzj template``: one data-entry workbook per table (refuses to overwrite without --force)."""
    from qyzj_analytics.entry.template import write_templates
    from qyzj_analytics.outputs import writing_to

    contract = _contract(args)
    with writing_to(args.out, every_error=True):
        written = write_templates(args.out, contract, force=args.force)
    print(f"已生成 {len(written)} 个填报模板到 {args.out}：")
    print("\n".join(f"  {p.name}" for p in written))
    return EXIT_OK


def run_check(args: argparse.Namespace) -> int:
    """``qyzj check``: exit 0 when every row of every file is usable, 3 otherwise."""
    from qyzj_analytics.entry.check import check_files, format_checks

    checks = check_files(args.files, _contract(args))
    print(format_checks(checks))
    return EXIT_OK if all(c.usable for c in checks) else EXIT_DATA


COMMANDS = {
    "report": run_report,
    "clean": run_clean,
    "kpi": run_kpi,
    "forecast": run_forecast,
    "backtest": run_backtest,
    "sample": run_sample,
    "template": run_template,
    "check": run_check,
}


# Commands whose process ends at once when they are done (see run()).
QUICK_EXIT = frozenset({"report", "clean", "kpi", "forecast"})


def run() -> None:
    """The ``qyzj`` console command: :func:`main`, then the process ends.

    A report run leaves an in-process IPython shell, kernel-client sockets and chart caches
    behind; tearing the interpreter down after every file is written, renamed and closed took
    ≈ 0.6 s of a ≈ 7.5 s run (issue 16: drop work nobody reads); a clean run leaves a million
    rows' worth of frames for the collector's final pass; ``kpi`` and ``forecast`` only print,
    and unloading pandas and pyarrow cost them ≈ 0.1 s of CPU. For those commands the streams
    are flushed and the process exits with ``os._exit``; the others exit normally. A stdout
    that cannot take the rest of the output ends the run with 120, as the interpreter's own
    final flush would. ``main`` itself never exits, so tests and notebooks can call it.
    """
    argv = sys.argv[1:]
    code = main(argv)
    if argv[:1] and argv[0] in QUICK_EXIT:
        try:
            sys.stdout.flush()
        except Exception:  # any failure: the output did not all get out
            code = code or 120
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    run()
