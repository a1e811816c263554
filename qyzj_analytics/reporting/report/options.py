"""What one ``qyzj report`` run renders: its options, command line, quarter and exit codes.

Exit codes: 0 ok, 2 bad arguments, 3 bad input data or an output folder that cannot be written,
4 a notebook failed or the old report could not be replaced (the new run is kept in
``reports/<quarter>.failed/``), 5 another run holds the quarter's lock.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qyzj_analytics.dates.periods import latest_ended_quarter, parse_quarter, quarter_end
from qyzj_analytics.errors import QyzjError, UsageError
from qyzj_analytics.forecast.settings import DEFAULT_DRAWS, DEFAULT_SEED, TARGET_PROBABILITY
from qyzj_analytics.ingest.discover import is_sample_folder
from qyzj_analytics.outputs import check_out_dir, is_within

if TYPE_CHECKING:
    from qyzj_analytics.contract.model import Contract

EXIT_NOTEBOOK = 4
BROWSER_ENV = "QYZJ_BROWSER"  # the browser --pdf prints with
EXIT_LOCKED = 5


class NotebookFailed(QyzjError):
    """A notebook raised, or the report would embed unsafe content (exit code 4)."""

    exit_code = EXIT_NOTEBOOK


class ReportLocked(QyzjError):
    """Another run is writing the same quarter's report (exit code 5)."""

    exit_code = EXIT_LOCKED


def positive_int(text: str) -> int:
    """An argparse type: a whole number above zero (draws, years).

    >>> positive_int("2000")
    2000
    """
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"应为正整数，收到 {text!r}")
    return value


def probability(text: str) -> float:
    """An argparse type: a probability above 0 and at most 1 (``0.9`` or ``90%``).

    >>> probability("0.8"), probability("95%")
    (0.8, 0.95)
    """
    raw = text.strip()
    try:
        value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        value = float("nan")
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"应为 0 到 1 之间的概率（如 0.9 或 90%），收到 {text!r}")
    return value


def add_plan_arguments(p: argparse.ArgumentParser) -> None:
    """``--plan-probability`` and ``--planning``: the action planner's target and planning file
    (shared by ``qyzj forecast`` and ``qyzj report``)."""
    p.add_argument(
        "--plan-probability",
        type=probability,
        default=TARGET_PROBABILITY,
        help=f"行动建议的目标把握：以此概率可达到的最好档次（默认 {TARGET_PROBABILITY:g}）",
    )
    p.add_argument(
        "--planning",
        type=Path,
        help="规划文件 YAML：各项措施的上限与工作量权重（默认内置 forecast/planning.yaml）",
    )


@dataclass(frozen=True)
class ReportOptions:
    """What one ``qyzj report`` run renders, and where."""

    quarter: str
    as_of: dt.date
    raw_dir: Path
    out_dir: Path
    config: Path | None = None
    draws: int = DEFAULT_DRAWS
    seed: int = DEFAULT_SEED
    notebooks_dir: Path | None = None  # None: the checkout's notebooks/, else the packaged copy
    plan_probability: float = TARGET_PROBABILITY
    planning: Path | None = None  # None: the bundled planning.yaml
    browser: Path | None = None  # set: also print report.pdf with this browser

    @property
    def is_sample(self) -> bool:
        """True when the raw folder is the generated sample (it holds the marker file)."""
        return is_sample_folder(self.raw_dir)


def add_report_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``qyzj report`` to the ``qyzj`` sub-command parsers; returns its parser."""
    p = subparsers.add_parser(
        "report",
        help="生成季度报告（HTML + 图表 + KPI 表格）",
        description=(
            "执行 notebooks/ 中的分析 notebook，生成 reports/<季度>/report.html（--pdf 时另有 report.pdf）、charts/、"
            "kpi_<季度>.xlsx 与 notebooks/。退出码：0 成功，2 参数错误，3 输入数据有问题或输出"
            "文件夹无法写入，4 某个 notebook 运行失败或旧报告的文件被占用、无法替换，"
            "5 同一季度的报告正在由另一次运行生成。"
        ),
    )
    p.add_argument(
        "--quarter",
        required=True,
        help="季度，如 2025Q3；auto 表示合同期内最近一个已结束的季度",
    )
    p.add_argument("--raw", type=Path, default=Path("data/raw"), help="原始导出文件夹 (data/raw)")
    p.add_argument("--out", type=Path, default=Path("reports"), help="报告输出文件夹 (reports)")
    p.add_argument("--config", type=Path, help="合同配置 YAML（默认内置 2025 合同）")
    p.add_argument(
        "--draws",
        type=positive_int,
        default=DEFAULT_DRAWS,
        help=f"预测模拟次数（默认 {DEFAULT_DRAWS}）",
    )
    p.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help=f"随机种子（默认 {DEFAULT_SEED}）"
    )
    p.add_argument(
        "--notebooks",
        type=Path,
        default=None,
        help=(
            "notebook 文件夹（默认项目的 notebooks/，安装的包则用包内附带的同一批 notebook；"
            "执行其中以数字开头的 .ipynb）"
        ),
    )
    add_plan_arguments(p)
    p.add_argument(
        "--pdf",
        action="store_true",
        help=(
            "同时用无界面的 Chromium / Chrome / Edge 把报告打印为 A4 的 report.pdf；"
            f"找不到浏览器时不生成任何文件并以退出码 2 结束（可用 --browser 或环境变量 {BROWSER_ENV} 指定）"
        ),
    )
    p.add_argument(
        "--browser",
        type=Path,
        default=None,
        help=f"--pdf 使用的浏览器程序（默认依次找环境变量 {BROWSER_ENV}、常见安装位置）",
    )
    p.add_argument(
        "--notify",
        type=Path,
        default=None,
        help="通知配置 YAML（邮件 smtp 和/或群机器人 webhook）：成功或失败后各发一次通知",
    )
    return p


def check_report_folders(raw: Path, out: Path, quarter: str) -> None:
    """Refuse an ``--out`` that is a file or inside ``--raw``, and a ``--raw`` the report replaces.

    Publishing replaces ``out/<quarter>`` (and ``out/<quarter>.failed``), so ``raw`` must not be
    either of them nor lie inside them.

    Raises:
        UsageError: exit 2.
    """
    check_out_dir(out, raw)
    for replaced in (out / quarter, out / f"{quarter}.failed"):
        if is_within(raw, replaced):
            raise UsageError(
                f"原始数据文件夹 {raw} 位于报告文件夹 {replaced} 之内：发布报告会替换该文件夹，"
                "原始数据会被删除。请把原始数据放在报告文件夹之外（如 data/raw）"
            )


def display_path(path: Path) -> str:
    """``path`` relative to the working directory when it is inside it, else as is."""
    with contextlib.suppress(ValueError):
        return str(path.relative_to(Path.cwd()))
    return str(path)


def log(message: str) -> None:
    """A progress line of the report on stderr (stdout carries only the result)."""
    print(message, file=sys.stderr, flush=True)


def resolve_quarter(text: str, contract: Contract, today: dt.date) -> tuple[str, dt.date]:
    """The quarter label (``2025Q3``) and its as-of date (last day, capped to the period end).

    ``auto`` is the latest quarter of the contract period that has ended by ``today``.

    Raises:
        UsageError: not ``auto`` nor ``YYYYQn``, or a quarter outside the contract period.
    """
    start, end = contract.period_start, contract.period_end
    if text.strip().lower() == "auto":
        year, q = latest_ended_quarter(start, end, today)
    else:
        year, q = parse_quarter(text)
    last = quarter_end(year, q)
    first = dt.date(year, 3 * q - 2, 1)
    if last < start or first > end:
        raise UsageError(
            f"季度 {year}Q{q} 不在合同服务期 {start.isoformat()} 至 {end.isoformat()} 内"
        )
    return f"{year}Q{q}", min(last, end)
