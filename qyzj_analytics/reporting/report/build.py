"""``qyzj report``: the quarterly report, rendered unattended and published atomically.

One run pre-computes the metrics once (clean + assess + forecast) into a cache folder, executes
the numbered notebooks of ``notebooks/`` with papermill (two at a time), merges them behind a
cover into one notebook and renders ``reports/<quarter>/report.html`` with nbconvert (no code, no
parameter cells, every image embedded, no script and no external resource), beside ``charts/``
(PNG + SVG written by the notebooks), ``kpi_<quarter>.xlsx`` (aggregates only) and
``notebooks/`` (the executed notebooks).

Everything is rendered into a temporary folder inside the output folder and swapped in only when
every step succeeded, under a per-quarter lock, so a failed or concurrent run never damages the
last good report. Exit codes: 0 ok, 2 bad arguments, 3 bad input data, 4 a notebook failed (the
failed run is kept in ``reports/<quarter>.failed/``), 5 another run holds the quarter's lock.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import datetime as dt
import errno
import fcntl
import html
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qyzj_analytics.dates.periods import latest_ended_quarter, parse_quarter, quarter_end
from qyzj_analytics.errors import QyzjError, UsageError
from qyzj_analytics.forecast.settings import DEFAULT_DRAWS, DEFAULT_SEED
from qyzj_analytics.formats import format_share
from qyzj_analytics.ingest.discover import is_sample_folder

if TYPE_CHECKING:
    from nbformat import NotebookNode

    from qyzj_analytics.contract.model import Contract
    from qyzj_analytics.reporting.metrics import Metrics

EXIT_NOTEBOOK = 4
EXIT_LOCKED = 5
NOTEBOOK_PATTERN = "[0-9]*.ipynb"
DEFAULT_NOTEBOOKS = Path(__file__).resolve().parents[3] / "notebooks"
WORKERS = 2  # the machines have 2 cores; kernel start-up dominates a notebook's run
KERNEL = "python3"
CELL_TIMEOUT = 900  # seconds per cell: a scheduled run must not hang forever
REMOVED_TAGS = ("parameters", "injected-parameters", "remove-cell")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
FORECAST_COLUMNS = {  # metrics.ForecastMetrics.kpis column → workbook header
    "P10": "年终预测 P10",
    "P50": "年终预测 P50",
    "P90": "年终预测 P90",
    "达标概率": "年终达标概率",
    "每周还需": "达标每周还需",
    "还需单位": "还需单位",
}
STATUS_FILL = {"on_track": "C6EFCE", "at_risk": "FFEB9C", "behind": "FFC7CE"}


class NotebookFailed(QyzjError):
    """A notebook raised, or the report would embed unsafe content (exit code 4)."""

    exit_code = EXIT_NOTEBOOK


class ReportLocked(QyzjError):
    """Another run is writing the same quarter's report (exit code 5)."""

    exit_code = EXIT_LOCKED


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
    notebooks_dir: Path = DEFAULT_NOTEBOOKS

    @property
    def is_sample(self) -> bool:
        """True when the raw folder is the generated sample (it holds the marker file)."""
        return is_sample_folder(self.raw_dir)


@dataclass(frozen=True)
class NotebookRun:
    """The outcome of executing one notebook."""

    name: str
    output: Path
    seconds: float
    error: str | None = None


# ------------------------------------------------------------------------------------------------
# Command line
# ------------------------------------------------------------------------------------------------


def add_report_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``qyzj report`` to the ``qyzj`` sub-command parsers; returns its parser."""
    p = subparsers.add_parser(
        "report",
        help="生成季度报告（HTML + 图表 + KPI 表格）",
        description=(
            "执行 notebooks/ 中的分析 notebook，生成 reports/<季度>/report.html、charts/、"
            "kpi_<季度>.xlsx 与 notebooks/。退出码：0 成功，2 参数错误，3 输入数据有问题，"
            "4 某个 notebook 运行失败，5 同一季度的报告正在由另一次运行生成。"
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
        "--draws", type=int, default=DEFAULT_DRAWS, help=f"预测模拟次数（默认 {DEFAULT_DRAWS}）"
    )
    p.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help=f"随机种子（默认 {DEFAULT_SEED}）"
    )
    p.add_argument(
        "--notebooks",
        type=Path,
        default=DEFAULT_NOTEBOOKS,
        help="notebook 文件夹（默认项目的 notebooks/，执行其中以数字开头的 .ipynb）",
    )
    return p


def run_report(args: argparse.Namespace) -> int:
    """``qyzj report``: render and publish one quarter's report; returns the exit code.

    Raises:
        UsageError: bad quarter, draws or folders (exit 2).
        DataError: the exports cannot be used (exit 3).
        NotebookFailed: a notebook failed (exit 4).
        ReportLocked: another run holds the quarter's lock (exit 5).
    """
    from qyzj_analytics.contract.model import load_contract

    if args.draws <= 0:
        raise UsageError(f"--draws 应为正整数，收到 {args.draws}")
    if not args.raw.is_dir():
        raise UsageError(f"原始数据文件夹不存在: {args.raw}")
    contract = load_contract(args.config)
    quarter, as_of = resolve_quarter(args.quarter, contract, dt.date.today())
    options = ReportOptions(
        quarter=quarter,
        as_of=as_of,
        raw_dir=args.raw.resolve(),
        out_dir=args.out.resolve(),
        config=args.config.resolve() if args.config else None,
        draws=args.draws,
        seed=args.seed,
        notebooks_dir=args.notebooks.resolve(),
    )
    target = build_report(options, contract)
    print(f"报告已生成: {_display_path(target / 'report.html')}")
    return 0


def _display_path(path: Path) -> str:
    with contextlib.suppress(ValueError):
        return str(path.relative_to(Path.cwd()))
    return str(path)


def _log(message: str) -> None:
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


# ------------------------------------------------------------------------------------------------
# Orchestration: lock, stage, execute, render, publish
# ------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def lock_quarter(out_dir: Path, quarter: str) -> Iterator[Path]:
    """Hold ``out_dir/.<quarter>.lock`` exclusively for the block (non-blocking).

    Raises:
        ReportLocked: another process holds it.
    """
    path = out_dir / f".{quarter}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = path.read_text(encoding="utf-8", errors="replace").strip()
            by = f"，进程 {holder}" if holder.isdigit() else ""
            raise ReportLocked(
                f"{quarter} 的报告正在由另一次运行生成（锁文件 {path} 被占用{by}），本次不运行；"
                "等那次运行结束后再试"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield path
    finally:
        os.close(fd)  # closing releases the lock; the file stays (unlinking would race)


def find_notebooks(folder: Path) -> list[Path]:
    """The report's notebooks: ``[0-9]*.ipynb`` in ``folder``, in name order.

    Raises:
        UsageError: the folder is missing or holds no such notebook.
    """
    found = sorted(folder.glob(NOTEBOOK_PATTERN)) if folder.is_dir() else []
    if not found:
        raise UsageError(f"在 {folder} 中没有找到以数字开头的 notebook（如 01_data_quality.ipynb）")
    return found


def build_report(options: ReportOptions, contract: Contract) -> Path:
    """Render the report of ``options.quarter`` and publish it to ``out_dir/<quarter>``.

    Returns:
        The published folder.

    Raises:
        DataError: the exports cannot be used (nothing is published).
        NotebookFailed: a notebook failed; the run is kept in ``out_dir/<quarter>.failed``.
        ReportLocked: another run holds the quarter's lock.
    """
    notebooks = find_notebooks(options.notebooks_dir)
    out_dir = options.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / options.quarter
    failed = out_dir / f"{options.quarter}.failed"
    with lock_quarter(out_dir, options.quarter):
        _remove_stale(out_dir, options.quarter)
        staging = Path(tempfile.mkdtemp(prefix=f".{options.quarter}.tmp-", dir=out_dir))
        staging.chmod(0o755)  # mkdtemp makes it private; the published folder is read by others
        cache = Path(tempfile.mkdtemp(prefix=f".{options.quarter}.cache-", dir=out_dir))
        try:
            started = time.perf_counter()
            charts = staging / "charts"
            charts.mkdir()
            with NotebookRunner(notebooks, staging / "notebooks") as runner:  # kernels boot now
                _log(f"[report] {options.quarter}（截至 {options.as_of.isoformat()}）：预计算指标…")
                metrics = precompute(options, contract, cache)
                params = notebook_parameters(options, cache, charts)
                runs = runner.run(params, load_timings(out_dir))
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
            _log("[report] 合并 notebook 并渲染 HTML…")
            merged = merge_notebooks(
                cover_cell(options, contract, metrics), [r.output for r in runs]
            )
            merged.metadata["title"] = f"{contract.name} {options.quarter} 季度运营分析报告"
            page = render_html(merged, staging, sample=options.is_sample)
            problems = find_unsafe_content(page)
            if problems:
                shutil.rmtree(failed, ignore_errors=True)
                os.replace(staging, failed)
                raise NotebookFailed(
                    "报告 HTML 含有脚本或外部资源，未发布: " + "; ".join(problems[:5])
                )
            (staging / "report.html").write_text(page, encoding="utf-8")
            write_kpi_xlsx(staging / f"kpi_{options.quarter}.xlsx", options, contract, metrics)
            _check_charts(charts)
            publish(staging, target)
            save_timings(out_dir, runs)
            shutil.rmtree(failed, ignore_errors=True)
            _log(f"[report] 完成，用时 {time.perf_counter() - started:.1f} s")
        finally:
            shutil.rmtree(cache, ignore_errors=True)
            shutil.rmtree(staging, ignore_errors=True)
    return target


def _remove_stale(out_dir: Path, quarter: str) -> None:
    """Remove temporary folders a killed run of ``quarter`` left (we hold its lock)."""
    for pattern in (f".{quarter}.tmp-*", f".{quarter}.cache-*", f".{quarter}.old-*"):
        for path in out_dir.glob(pattern):
            shutil.rmtree(path, ignore_errors=True)


def _check_charts(charts: Path) -> None:
    pngs = {p.stem for p in charts.rglob("*.png")}
    svgs = {p.stem for p in charts.rglob("*.svg")}
    if not pngs and not svgs:
        _log("[report] 注意：notebook 没有向 charts/ 写出任何图表")
    for stem in sorted(pngs ^ svgs):
        _log(f"[report] 注意：图表 {stem} 缺少 PNG 或 SVG 版本")


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux ``renameat2(RENAME_EXCHANGE)``); False if unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EXDEV):
        return False
    raise OSError(code, os.strerror(code), str(b))


def publish(staging: Path, target: Path) -> None:
    """Make ``staging`` the new ``target`` folder; the old one is removed afterwards.

    On Linux the two folders are exchanged in one atomic step, so ``target`` always exists and is
    always complete; elsewhere the old folder is renamed aside first (a moment without it).
    """
    if not target.exists():
        os.replace(staging, target)
        return
    if _exchange(staging, target):
        shutil.rmtree(staging)  # now holds the previous report
        return
    aside = target.with_name(f".{target.name}.old-{os.getpid()}")
    os.replace(target, aside)
    os.replace(staging, target)
    shutil.rmtree(aside, ignore_errors=True)


# ------------------------------------------------------------------------------------------------
# Metrics, once per run
# ------------------------------------------------------------------------------------------------


def precompute(options: ReportOptions, contract: Contract, cache: Path) -> Metrics:
    """Clean, assess and forecast once (``metrics.build_metrics``) and cache it for the notebooks.

    Raises:
        DataError: the exports cannot be used.
    """
    from qyzj_analytics.reporting.metrics import build_metrics, save_metrics

    metrics = build_metrics(
        options.raw_dir,
        options.as_of,
        contract,
        quarter=options.quarter,
        forecast=True,
        draws=options.draws,
        seed=options.seed,
    )
    save_metrics(metrics, cache)
    return metrics


def notebook_parameters(options: ReportOptions, cache: Path, charts: Path) -> dict[str, Any]:
    """The papermill parameters every notebook receives."""
    return {
        "quarter": options.quarter,
        "raw_dir": str(options.raw_dir),
        "as_of": options.as_of.isoformat(),
        "config": str(options.config) if options.config else "",
        "seed": options.seed,
        "draws": options.draws,
        "cache_dir": str(cache),
        "charts_dir": str(charts),
    }


# ------------------------------------------------------------------------------------------------
# Notebook execution
# ------------------------------------------------------------------------------------------------


WARM_MODULES = (
    "IPython.display",
    "pandas",
    "matplotlib.pyplot",
    "qyzj_analytics.reporting.metrics",
    "qyzj_analytics.reporting.charts.charts",
)
KERNEL_ARGS = ["--IPKernelApp.log_level=CRITICAL", "--HistoryManager.hist_file=:memory:"]
TIMINGS_FILE = ".report-timings.json"


class NotebookRunner:
    """Executes notebooks with papermill in ``workers`` warm kernels, fed from one queue.

    Kernels are started (and the usual imports loaded into them) as soon as the runner is entered,
    so their start-up overlaps the metrics pre-computation; :meth:`run` then executes every
    notebook, longest first (by the previous run's timings). A kernel runs several notebooks in
    turn and is reset (``get_ipython().reset(new_session=True)``: empty namespace, execution
    count 1) between them, so each notebook still starts from a clean namespace; a kernel that
    died is replaced. Every notebook's working directory is its own folder (the process's working
    directory is never changed, so the threads do not race). A failing notebook does not stop the
    others; its executed copy keeps the traceback.
    """

    def __init__(self, notebooks: Sequence[Path], out_dir: Path, workers: int = WORKERS) -> None:
        import queue

        self.notebooks = list(notebooks)
        self.out_dir = out_dir
        self.cwd = self.notebooks[0].parent
        self.workers = max(1, min(workers, len(self.notebooks)))
        self._queue: queue.Queue[tuple[int, Path]] = queue.Queue()
        self._go = threading.Event()
        self._abort = False
        self._parameters: dict[str, Any] = {}
        self._results: dict[int, NotebookRun] = {}
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._work, name=f"qyzj-report-{i}", daemon=True)
            for i in range(self.workers)
        ]

    def __enter__(self) -> NotebookRunner:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._abort = not self._go.is_set()
        self._go.set()
        for thread in self._threads:
            thread.join()

    def run(self, parameters: dict[str, Any], timings: dict[str, float]) -> list[NotebookRun]:
        """Execute every notebook with ``parameters``; results in notebook order."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        order = sorted(
            enumerate(self.notebooks),
            key=lambda item: -timings.get(item[1].name, estimate_seconds(item[1])),
        )
        for item in order:
            self._queue.put(item)
        self._parameters = parameters
        _log(f"[report] 执行 {len(self.notebooks)} 个 notebook（{self.workers} 个并行）…")
        self._go.set()
        for thread in self._threads:
            thread.join()
        return [self._results[i] for i in range(len(self.notebooks))]

    def _work(self) -> None:
        import asyncio
        import queue

        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)  # nbclient's run_sync uses this thread's loop
        km = None
        try:
            km = _start_kernel(loop, self.cwd)
            self._go.wait()
            fresh = True
            while not self._abort:
                try:
                    index, path = self._queue.get_nowait()
                except queue.Empty:
                    break
                started = time.perf_counter()
                output = self.out_dir / path.name
                try:
                    if km is not None and not fresh:
                        km = _reset_kernel(loop, km, self.cwd)
                    result = execute_notebook(path, output, self._parameters, km=km)
                except Exception as exc:  # never lose a notebook's result
                    elapsed = time.perf_counter() - started
                    result = NotebookRun(path.name, output, elapsed, f"{type(exc).__name__}: {exc}")
                fresh = False
                with self._lock:
                    self._results[index] = result
                    state = "完成" if result.error is None else "失败"
                    _log(
                        f"[report] [{len(self._results)}/{len(self.notebooks)}] {path.name} "
                        f"{state}（{result.seconds:.1f} s）"
                    )
        finally:
            if km is not None:
                with contextlib.suppress(Exception):
                    loop.run_until_complete(asyncio.wait_for(km.shutdown_kernel(now=True), 15))
            loop.close()


def _start_kernel(loop: Any, cwd: Path) -> Any | None:
    """A started, warmed ``AsyncKernelManager`` in ``cwd``; None if it cannot start (papermill
    then starts its own kernel and reports the problem as the notebook's failure)."""
    from jupyter_client.manager import AsyncKernelManager

    km = AsyncKernelManager(kernel_name=KERNEL)
    try:
        loop.run_until_complete(km.start_kernel(cwd=str(cwd), extra_arguments=KERNEL_ARGS))
        warm = "\n".join(f"try:\n    import {m}\nexcept Exception:\n    pass" for m in WARM_MODULES)
        _run_silently(loop, km, warm)
    except Exception as exc:
        _log(f"[report] 注意：无法预先启动内核（{type(exc).__name__}: {exc}），改由 papermill 启动")
        with contextlib.suppress(Exception):
            loop.run_until_complete(km.shutdown_kernel(now=True))
        return None
    return km


def _run_silently(loop: Any, km: Any, code: str, timeout: float = 120) -> None:
    """Run ``code`` in the kernel without output or history (a short-lived client)."""

    async def run() -> None:
        kc = km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=timeout)
            await kc.execute_interactive(
                code, silent=True, store_history=False, timeout=timeout, output_hook=lambda m: None
            )
        finally:
            kc.stop_channels()

    loop.run_until_complete(run())


def _reset_kernel(loop: Any, km: Any, cwd: Path) -> Any | None:
    """Empty the kernel's namespace for the next notebook; replace the kernel if it died."""
    try:
        alive = loop.run_until_complete(km.is_alive())
        if alive:
            _run_silently(loop, km, "get_ipython().reset(new_session=True)", timeout=60)
            return km
    except Exception:  # an unresponsive kernel is replaced
        pass
    with contextlib.suppress(Exception):
        loop.run_until_complete(km.shutdown_kernel(now=True))
    return _start_kernel(loop, cwd)


def estimate_seconds(notebook: Path) -> float:
    """A rough cost of a notebook never timed here: charts dominate, so count them.

    Used to start the longest notebooks first on a first run (later runs use real timings).
    ``save_burnup_charts`` writes one chart per count KPI, so it weighs like several.
    """
    try:
        source = notebook.read_text(encoding="utf-8")
    except OSError:
        return 0.0
    return 0.1 + 0.3 * source.count("display_chart(") + 1.5 * source.count("save_burnup_charts(")


def load_timings(out_dir: Path) -> dict[str, float]:
    """Seconds each notebook took in the previous successful run (empty when unknown)."""
    try:
        data = json.loads((out_dir / TIMINGS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): float(v) for k, v in data.items()} if isinstance(data, dict) else {}


def save_timings(out_dir: Path, runs: Sequence[NotebookRun]) -> None:
    """Remember each notebook's duration, to start the longest first next time."""
    with contextlib.suppress(OSError):
        data = {**load_timings(out_dir), **{r.name: round(r.seconds, 2) for r in runs}}
        fd, tmp = tempfile.mkstemp(prefix=f"{TIMINGS_FILE}.", dir=out_dir)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1)
        os.replace(tmp, out_dir / TIMINGS_FILE)


def execute_notebooks(
    notebooks: Sequence[Path], out_dir: Path, parameters: dict[str, Any], workers: int = WORKERS
) -> list[NotebookRun]:
    """Execute ``notebooks`` with papermill, ``workers`` at a time (see :class:`NotebookRunner`)."""
    with NotebookRunner(notebooks, out_dir, workers) as runner:
        return runner.run(parameters, {})


def execute_notebook(
    source: Path, output: Path, parameters: dict[str, Any], km: Any | None = None
) -> NotebookRun:
    """Execute one notebook with papermill (in kernel ``km`` if given); failures are returned."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    started = time.perf_counter()
    error = None
    try:
        papermill.execute_notebook(
            str(source),
            str(output),
            parameters=parameters,
            kernel_name=KERNEL,
            progress_bar=False,
            request_save_on_cell_execute=False,
            execution_timeout=CELL_TIMEOUT,
            resources={"metadata": {"path": str(source.parent)}},  # the kernel's cwd
            extra_arguments=KERNEL_ARGS,
            km=km,
        )
    except PapermillExecutionError as exc:
        error = (
            f"单元格 cell index {exc.cell_index}（从 0 起算，含 papermill 注入的参数单元格；"
            f"执行序号 [{exc.exec_count}]）出错 {exc.ename}: {exc.evalue}"
        )
    except Exception as exc:  # a dead kernel, a timeout, an unreadable notebook
        error = f"{type(exc).__name__}: {exc}"
    return NotebookRun(source.name, output, time.perf_counter() - started, error)


# ------------------------------------------------------------------------------------------------
# Merge and render
# ------------------------------------------------------------------------------------------------


def merge_notebooks(cover: NotebookNode, executed: Sequence[Path]) -> NotebookNode:
    """One notebook: the cover, then every executed notebook's cells in order.

    Parameter cells are dropped, and so are stderr stream outputs (warnings belong in the
    executed notebooks, not in the bureau's report). Cell ids are made unique.
    """
    import nbformat

    merged = nbformat.v4.new_notebook()
    merged.cells.append(cover)
    for path in executed:
        nb = nbformat.read(path, as_version=4)
        if "kernelspec" not in merged.metadata and "kernelspec" in nb.metadata:
            merged.metadata["kernelspec"] = nb.metadata["kernelspec"]
            if "language_info" in nb.metadata:
                merged.metadata["language_info"] = nb.metadata["language_info"]
        for cell in nb.cells:
            tags = set(cell.get("metadata", {}).get("tags", []))
            if tags & set(REMOVED_TAGS):
                continue
            if cell.cell_type == "code":
                cell.outputs = [
                    o
                    for o in cell.outputs
                    if not (o.get("output_type") == "stream" and o.get("name") == "stderr")
                ]
            merged.cells.append(cell)
    for i, cell in enumerate(merged.cells):
        cell["id"] = f"c{i:04d}"
    return merged


REPORT_CSS = """
body, .jp-RenderedHTMLCommon, .jp-RenderedText pre {
  font-family: "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei",
    "WenQuanYi Micro Hei", "SimHei", sans-serif;
}
main { max-width: 1100px; margin: 0 auto; }
.jp-RenderedImage img, .jp-OutputArea-output img { max-width: 100%; height: auto; }
.qyzj-cover { padding: 2em 0 1em; border-bottom: 3px solid #1f4e79; margin-bottom: 1.5em; }
.qyzj-cover h1 { color: #1f4e79; font-size: 2em; line-height: 1.35; margin: 0 0 .2em; }
.qyzj-cover .qyzj-subtitle { font-size: 1.25em; color: #333; margin: 0 0 1em; }
.jp-RenderedHTMLCommon .qyzj-cover table { border-collapse: collapse; font-size: 1.05em;
  margin: 0; }
.jp-RenderedHTMLCommon .qyzj-cover th { text-align: left; padding: .35em 1.2em .35em 0; color: #555; font-weight: normal;
  white-space: nowrap; vertical-align: top; border: none; }
.jp-RenderedHTMLCommon .qyzj-cover td { padding: .35em 0; border: none; text-align: left; }
.qyzj-cover .qyzj-grade { font-weight: bold; color: #1f4e79; }
.qyzj-cover .qyzj-note { color: #666; font-size: .9em; margin-top: 1em; }
.qyzj-banner { position: sticky; top: 0; z-index: 1000; background: #b71c1c; color: #fff;
  font-weight: bold; text-align: center; padding: .5em 1em; letter-spacing: .1em; }
.qyzj-watermark { position: fixed; top: 50%; left: 50%; z-index: 999; pointer-events: none;
  transform: translate(-50%, -50%) rotate(-30deg); white-space: nowrap; user-select: none;
  font-size: 16vw; font-weight: bold; color: rgba(183, 28, 28, 0.12); }
@media print { .qyzj-banner { position: static; } }
"""

CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:; "
    "script-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'"
)

TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}
<meta http-equiv="Content-Security-Policy" content="{{ resources.qyzj.csp }}">
<meta name="generator" content="qyzj-analytics">
{%- endblock html_head_js -%}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{% block extra_css %}<style type="text/css">{{ resources.qyzj.css }}</style>{% endblock extra_css %}
{%- block body_header -%}
{{ super() }}
{%- if resources.qyzj.sample %}
<div class="qyzj-banner" role="note">示例数据 · 本报告由自动生成的虚构数据制作，仅用于演示，不反映平台真实运营情况</div>
<div class="qyzj-watermark" aria-hidden="true">示例数据</div>
{%- endif %}
{%- endblock body_header -%}
"""


def render_html(nb: NotebookNode, folder: Path, sample: bool) -> str:
    """The report as one self-contained HTML page (no code, no parameter cells, ``zh-CN``).

    Args:
        nb: the merged notebook.
        folder: where relative image links in markdown are resolved (they are embedded).
        sample: add the "示例数据" banner and diagonal watermark.
    """
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    config = Config()
    config.HTMLExporter.preprocessors = ["nbconvert.preprocessors.TagRemovePreprocessor"]
    config.TagRemovePreprocessor.enabled = True
    config.TagRemovePreprocessor.remove_cell_tags = set(REMOVED_TAGS)
    config.TagRemovePreprocessor.remove_all_outputs_tags = {"remove-output"}
    exporter = HTMLExporter(
        config=config,
        template_name="lab",
        extra_loaders=[DictLoader({"qyzj_report.html.j2": TEMPLATE})],
        template_file="qyzj_report.html.j2",
    )
    exporter.exclude_input = True
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    exporter.embed_images = True
    exporter.language_code = "zh"
    resources = {
        "metadata": {"name": nb.metadata.get("title", "季度报告"), "path": str(folder)},
        "qyzj": {"sample": sample, "css": REPORT_CSS, "csp": CSP},
    }
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    return body.replace('<html lang="zh">', '<html lang="zh-CN">', 1)


class _ResourceScanner(HTMLParser):
    """Collects scripts, event handlers and non-embedded resources of an HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "iframe", "object", "embed", "applet", "base", "frame"}:
            self.problems.append(f"<{tag}>")
        for name, value in attrs:
            value = (value or "").strip()
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=…>")
            elif (
                name in {"src", "srcset", "data", "poster"} or (name == "href" and tag == "link")
            ) and (value and not value.startswith(("data:", "#"))):
                self.problems.append(f"<{tag} {name}={value[:80]!r}>")
        if tag == "meta" and dict(attrs).get("http-equiv", "").lower() == "refresh":
            self.problems.append("<meta refresh>")

    def handle_data(self, data: str) -> None:
        if self.lasttag == "style" and ("@import" in data or "url(http" in data.replace(" ", "")):
            self.problems.append("<style> 引用外部资源")


def find_unsafe_content(page: str) -> list[str]:
    """Scripts, event handlers and resources not embedded in ``page`` (empty when safe)."""
    scanner = _ResourceScanner()
    scanner.feed(page)
    scanner.close()
    return list(dict.fromkeys(scanner.problems))


# ------------------------------------------------------------------------------------------------
# Cover
# ------------------------------------------------------------------------------------------------


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _column(frame: Any, *names: str) -> str | None:
    return next((n for n in names if n in frame.columns), None)


def grade_probabilities(metrics: Metrics) -> list[tuple[str, float]]:
    """``(grade name, probability)`` of the year-end forecast, in contract order; empty without."""
    forecast = metrics.forecast
    if forecast is None or forecast.grades is None or not len(forecast.grades):
        return []
    frame = forecast.grades
    name = _column(frame, "档次", "grade_name", "名称")
    prob = _column(frame, "概率", "probability", "p")
    if prob is None:
        return []
    names = frame[name] if name else frame.index
    return [(str(n), float(p)) for n, p in zip(names, frame[prob], strict=True)]


def forecast_draws(metrics: Metrics) -> int | None:
    """Number of simulated years behind the forecast, if any."""
    if metrics.forecast is None:
        return None
    draws = metrics.forecast.info.get("draws")
    return int(draws) if draws else None


def grade_outlook(metrics: Metrics) -> tuple[str, str]:
    """Current grade and the most likely year-end grade with its probability, as cover text."""
    score = metrics.score
    current = f"{score['grade_name']}（基础分 {score['base']:.2f}，奖励分 {score['bonus']:g}）"
    grades = grade_probabilities(metrics)
    if not grades:
        return current, "预测不可用"
    grade, probability = max(grades, key=lambda kv: kv[1])
    if metrics.as_of >= metrics.period_end:
        return current, f"服务期已结束：年终档次为 {grade}"
    draws = forecast_draws(metrics)
    runs = f"，{draws:,} 次模拟" if draws else ""
    return current, f"最可能为 {grade}，概率 {format_share(probability)}（蒙特卡洛预测{runs}）"


def freshness_text(metrics: Metrics) -> str:
    """How current the exports are: the latest dated row on or before as-of, and rows after it."""
    frame = metrics.freshness
    as_of = metrics.as_of
    dates = [dt.date.fromisoformat(d) for d in frame["最新日期"] if isinstance(d, str) and d]
    later = int(frame["晚于截至日"].sum()) if "晚于截至日" in frame else 0
    tail = f"；另有 {later} 行晚于截至日，不计入本报告" if later else ""
    if not dates:
        return "导出中没有截至日之前的带日期记录" + tail
    latest = max(dates)
    gap = (as_of - latest).days
    lag = f"比截至日早 {gap} 天（之后的记录可能尚未导出）" if gap else "与截至日同一天"
    return f"导出中最新的记录日期为 {latest.isoformat()}，{lag}{tail}"


def cover_cell(options: ReportOptions, contract: Contract, metrics: Metrics) -> NotebookNode:
    """The cover as a markdown cell of escaped HTML (no blank line, so it stays one block)."""
    import nbformat

    year, q = parse_quarter(options.quarter)
    current, future = grade_outlook(metrics)
    rows = [
        ("合同", contract.name),
        ("服务期", f"{contract.period_start.isoformat()} 至 {contract.period_end.isoformat()}"),
        ("报告季度", f"{year} 年第{'一二三四'[q - 1]}季度（{options.quarter}）"),
        ("数据截至", options.as_of.isoformat()),
        ("数据新鲜度", freshness_text(metrics)),
        ("当前档次", current),
        ("年终展望", future),
        ("生成时间", dt.datetime.now().strftime("%Y-%m-%d %H:%M")),
    ]
    emphasis, grade_class = {"当前档次", "年终展望"}, ' class="qyzj-grade"'
    parts = [
        '<section class="qyzj-cover">',
        f"<h1>{_e(contract.name)}</h1>",
        f'<p class="qyzj-subtitle">{_e(options.quarter)} 季度运营分析报告</p>',
        "<table>",
        *(
            f"<tr><th>{_e(k)}</th><td{grade_class if k in emphasis else ''}>{_e(v)}</td></tr>"
            for k, v in rows
        ),
        "</table>",
        '<p class="qyzj-note">本报告只含汇总数字，不含任何个人信息（合同五.3）；'
        "各项数字可由运营方按原始导出逐行追溯。</p>",
        "</section>",
    ]
    return nbformat.v4.new_markdown_cell("\n".join(parts))


# ------------------------------------------------------------------------------------------------
# The KPI workbook
# ------------------------------------------------------------------------------------------------


def neutralize_cell(value: Any) -> Any:
    """A spreadsheet-safe cell value: text starting with ``= + - @`` (or tab/CR) gets a ``'``.

    Spreadsheet programs run such text as a formula (CSV/formula injection); numbers, dates and
    other values are returned unchanged.

    >>> neutralize_cell("=SUM(A1:A9)")
    "'=SUM(A1:A9)"
    >>> neutralize_cell(-3), neutralize_cell("线下活动")
    (-3, '线下活动')
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _number_format(unit: str) -> str:
    return "0.0%" if unit == "比例" else "#,##0.##"


def _float(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if number != number else number  # NaN → empty cell


class _Sheet:
    """A worksheet with the report's styles: title rows, a frozen header, boxed cells."""

    def __init__(self, ws: Any, title: str, subtitle: str) -> None:
        from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

        self.ws = ws
        thin = Side(style="thin", color="BFBFBF")
        self.box = Border(left=thin, right=thin, top=thin, bottom=thin)
        self.head = (
            Font(bold=True, color="FFFFFF"),
            PatternFill("solid", fgColor="1F4E79"),
            Alignment(horizontal="center", vertical="center", wrap_text=True),
        )
        self.put(1, 1, title).font = Font(bold=True, size=14)
        self.put(2, 1, subtitle).font = Font(italic=True, color="7F7F7F")

    def put(self, row: int, col: int, value: Any, fmt: str | None = None, box: bool = False) -> Any:
        """Write one cell (text neutralised against formula injection)."""
        cell = self.ws.cell(row=row, column=col, value=neutralize_cell(value))
        if fmt:
            cell.number_format = fmt
        if box:
            cell.border = self.box
        return cell

    def header(self, row: int, columns: Sequence[tuple[str, int]]) -> None:
        """The header row (white on blue), column widths, title rows merged, panes frozen below."""
        from openpyxl.utils import get_column_letter

        for col, (name, width) in enumerate(columns, start=1):
            cell = self.put(row, col, name, box=True)
            cell.font, cell.fill, cell.alignment = self.head
            self.ws.column_dimensions[get_column_letter(col)].width = width
        self.ws.row_dimensions[row].height = 30
        for title_row in (1, 2):
            self.ws.merge_cells(
                start_row=title_row, start_column=1, end_row=title_row, end_column=len(columns)
            )
        self.ws.freeze_panes = self.ws.cell(row=row + 1, column=1)


def write_kpi_xlsx(
    path: Path, options: ReportOptions, contract: Contract, metrics: Metrics
) -> Path:
    """The KPI workbook the bureau can file (aggregates only; every text cell neutralised).

    Sheets: ``KPI达成`` (one row per KPI: actual, target, pace, status colour, points, year-end
    forecast), ``考核得分`` (score, grade, year-end grade probabilities, payment schedule) and
    ``数据质量`` (row counts per table).
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    from qyzj_analytics.reporting.metrics import STATUS_BY_ZH

    bold = Font(bold=True)
    subtitle = f"数据截至 {options.as_of.isoformat()} · 生成于 {dt.date.today().isoformat()}"
    if options.is_sample:
        subtitle += " · 示例数据（虚构），仅用于演示"
    wb = Workbook()
    wb.properties.creator = "qyzj-analytics"
    wb.properties.title = f"{contract.name} {options.quarter} KPI 达成"

    # KPI sheet
    sheet = _Sheet(wb.active, f"{contract.name} — {options.quarter} KPI 达成情况", subtitle)
    sheet.ws.title = "KPI达成"
    table = metrics.kpi_table
    forecast = metrics.forecast.kpis if metrics.forecast is not None else None
    fcols = []
    if forecast is not None and len(forecast):
        fcols = [c for c in FORECAST_COLUMNS if c in forecast.columns]
        forecast = forecast.set_index("id") if "id" in forecast.columns else forecast
    columns = [("序号", 6), ("指标", 26), ("合同条款", 10), ("单位", 7), ("实际完成", 11)]
    columns += [("年度目标", 11), ("完成率", 9), ("应达进度", 11), ("进度状态", 10)]
    columns += [("权重", 8), ("得分", 8)]
    columns += [(FORECAST_COLUMNS[c], 13) for c in fcols]
    sheet.header(4, columns)
    specs = {s.id: s for s in contract.kpis}
    row = 5
    for i, (kpi_id, k) in enumerate(table.iterrows(), start=1):
        unit = str(k["单位"])
        fmt = _number_format(unit)
        values: list[tuple[Any, str | None]] = [
            (i, "0"),
            (str(k["指标"]), None),
            (specs[kpi_id].source if kpi_id in specs else "", None),
            (unit, None),
            (_float(k["实际"]), fmt),
            (_float(k["目标"]), fmt),
            (_float(k["完成率"]), "0.0%"),
            (_float(k["应达进度"]), fmt),
            (str(k["状态"]), None),
            (_float(k["权重"]), "0.00"),
            (_float(k["得分"]), "0.00"),
        ]
        for c in fcols:
            value = forecast.at[kpi_id, c] if kpi_id in forecast.index else None
            if c == "还需单位":
                values.append((None if value is None else str(value), None))
            else:
                values.append((_float(value), {"达标概率": "0%", "每周还需": "0.0"}.get(c, fmt)))
        for col, (value, number_format) in enumerate(values, start=1):
            sheet.put(row, col, value, number_format, box=True)
        status = sheet.ws.cell(row=row, column=9)
        colour = STATUS_FILL.get(STATUS_BY_ZH.get(str(k["状态"]), ""))
        if colour:
            status.fill = PatternFill("solid", fgColor=colour)
        status.alignment = Alignment(horizontal="center")
        row += 1
    sheet.put(row, 2, "合计", box=True).font = bold
    sheet.put(row, 10, float(table["权重"].sum()), "0.00", box=True).font = bold
    sheet.put(row, 11, float(metrics.score["base"]), "0.00", box=True).font = bold
    sheet.put(
        row + 2, 1, "进度状态：正常 = 实际 ≥ 应达进度；预警 = 不低于应达进度的 80%；落后 = 更低。"
    )
    sheet.put(row + 3, 1, "本表只含汇总数字，不含任何个人信息（合同五.3）。")

    # Score sheet
    sheet = _Sheet(
        wb.create_sheet("考核得分"), f"{contract.name} — {options.quarter} 考核得分", subtitle
    )
    sheet.header(4, [("项目", 24), ("数值", 16), ("低值", 16), ("高值", 16), ("说明", 48)])
    score = metrics.score
    lines: list[tuple[str, Any, str | None, Any, Any, str]] = [
        ("基础分", float(score["base"]), "0.00", None, None, "各项 KPI 得分之和（0–100）"),
        ("奖励分", float(score["bonus"]), "0.00", None, None, "获奖与超额名师优课，不改变档次"),
        ("当前档次", score["grade_name"], None, None, None, str(score["renewal"])),
    ]
    draws = forecast_draws(metrics)
    for name, probability in grade_probabilities(metrics):
        note = f"蒙特卡洛预测，{draws:,} 次模拟" if draws else "蒙特卡洛预测"
        lines.append((f"年终档次概率：{name}", probability, "0.0%", None, None, note))
    for p in metrics.payment_schedule.itertuples(index=False):
        lines.append(
            (f"{p.款项}（{p.应付日期}）", float(p.金额), "#,##0.00", p.低值, p.高值, str(p.说明))
        )
    for r, (label, value, fmt, low, high, note) in enumerate(lines, start=5):
        sheet.put(r, 1, label, box=True)
        sheet.put(r, 2, value, fmt, box=True)
        sheet.put(r, 3, _float(low), fmt, box=True)
        sheet.put(r, 4, _float(high), fmt, box=True)
        sheet.put(r, 5, note, box=True)

    # Quality sheet: per table (file names are left out)
    sheet = _Sheet(wb.create_sheet("数据质量"), f"{contract.name} — 导出数据质量（行数）", subtitle)
    numbers = ["读取", "保留", "拒绝", "重复", "合计行", "空行"]
    sheet.header(4, [("表格", 16), *((n, 10) for n in numbers)])
    quality = metrics.quality
    per_table = (
        quality.loc[quality["表"].astype(str) != ""].groupby("表", sort=False)[numbers].sum()
    )
    for r, (name, counts) in enumerate(per_table.iterrows(), start=5):
        sheet.put(r, 1, str(name), box=True)
        for c, key in enumerate(numbers, start=2):
            sheet.put(r, c, int(counts[key]), "#,##0", box=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


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
