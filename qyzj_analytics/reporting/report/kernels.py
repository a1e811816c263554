"""Executing the report's notebooks with papermill in a small pool of warm kernels."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import queue
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qyzj_analytics.reporting.report.options import log

WORKERS = 2  # the machines have 2 cores; kernel start-up dominates a notebook's run
IN_PROCESS = True  # one worker is this process (no second kernel start-up); see .inprocess
KERNEL = "python3"
CELL_TIMEOUT = 900  # seconds per cell: a scheduled run must not hang forever
WARM_MODULES = (
    "IPython.display",
    "pandas",
    "matplotlib.figure",
    "matplotlib.backends.backend_agg",
    "matplotlib.backends.backend_svg",
    "qyzj_analytics.reporting.bundle",
    "qyzj_analytics.reporting.narrative",
    "qyzj_analytics.reporting.styles",
    "qyzj_analytics.reporting.charts",
    "qyzj_analytics.reporting.charts.fonts",
)
# run after the imports, while the metrics are pre-computed: register the CJK font once per kernel,
# then freeze what the kernel holds so far (see frozen_heap)
WARM_CALLS = ("qyzj_analytics.reporting.charts.fonts.setup_fonts()", "__import__('gc').freeze()")
KERNEL_ARGS = ["--IPKernelApp.log_level=CRITICAL", "--HistoryManager.hist_file=:memory:"]
TIMINGS_FILE = ".report-timings.json"
Task = tuple[Callable[[], bool], Callable[[], None]]  # (ready, work): see NotebookRunner.finish


@dataclass(frozen=True)
class NotebookRun:
    """The outcome of executing one notebook."""

    name: str
    output: Path
    seconds: float
    error: str | None = None


class NotebookRunner:
    """Executes notebooks with papermill in ``workers`` workers fed from one queue: warm kernels
    and, with ``in_process``, this process itself (:mod:`.inprocess`) as one of them.

    Kernels are started (and the usual imports loaded into them) as soon as the runner is entered,
    so their start-up overlaps the metrics pre-computation; :meth:`run` then executes every
    notebook, longest first (by the previous run's timings), the calling thread taking its share
    in-process. A kernel (and the in-process shell) runs several notebooks in turn and is reset
    (``get_ipython().reset(new_session=True)``: empty namespace, execution count 1) between
    them, so each notebook still starts from a clean namespace; a kernel that died is replaced.
    Every notebook's working directory is its own folder (a kernel is started there; only the
    in-process worker, on the calling thread, changes this process's working directory while it
    runs a notebook, and the kernel threads use absolute paths only). A failing notebook does not
    stop the others; its executed copy keeps the traceback.
    """

    def __init__(
        self,
        notebooks: Sequence[Path],
        out_dir: Path | None = None,
        workers: int = WORKERS,
        in_process: bool = IN_PROCESS,
    ) -> None:

        self.notebooks = list(notebooks)
        self.out_dir = out_dir or Path(tempfile.gettempdir())
        self.cwd = self.notebooks[0].parent
        self.workers = max(1, min(workers, len(self.notebooks)))
        self.in_process = in_process and self.workers > 1  # one worker at least is a kernel
        kernels = self.workers - 1 if self.in_process else self.workers
        self._queue: queue.Queue[tuple[int, Path, dict[str, Any]]] = queue.Queue()
        self._go = threading.Event()
        self._abort = False
        self._closed = False  # no more submissions: a worker ends when the queue is empty
        self._results: dict[int, NotebookRun] = {}
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._work, name=f"qyzj-report-{i}", daemon=True)
            for i in range(kernels)
        ]

    def __enter__(self) -> NotebookRunner:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._abort = not self._closed
        self._closed = True
        self._go.set()
        for thread in self._threads:
            thread.join()

    def run(
        self,
        parameters: dict[str, Any],
        timings: dict[str, float],
        out_dir: Path | None = None,
        meanwhile: Callable[[], None] | None = None,
    ) -> list[NotebookRun]:
        """Execute every notebook with ``parameters`` into ``out_dir``; results in notebook order.

        ``meanwhile`` is work that needs no notebook output, done on the calling thread while a
        kernel is busy: in-process, after this process's first notebook (the kernel can take the
        short notebooks left meanwhile), else at once.
        """
        self.submit(self.notebooks, parameters, timings, out_dir)
        return self.finish([] if meanwhile is None else [(lambda: True, meanwhile)])

    def start(self) -> None:
        """Nothing to do: the kernels are started when the runner is entered."""

    def submit(
        self,
        notebooks: Sequence[Path],
        parameters: dict[str, Any],
        timings: dict[str, float],
        out_dir: Path | None = None,
    ) -> None:
        """Queue ``notebooks`` (the longest first, by ``timings``) with ``parameters``; a kernel
        takes them as soon as it is up. Call :meth:`finish` after the last submission."""
        self.out_dir = out_dir or self.out_dir
        self.out_dir.mkdir(parents=True, exist_ok=True)
        for path in order_longest_first(notebooks, timings):
            self._queue.put((self.notebooks.index(path), path, parameters))
        if not self._go.is_set():
            log(f"[report] 执行 {len(self.notebooks)} 个 notebook（{self.workers} 个并行）…")
        self._go.set()

    def finish(self, tasks: Sequence[Task] = ()) -> list[NotebookRun]:
        """Execute what is queued (this process takes its share in-process), then wait for the
        kernels; results in notebook order.

        ``tasks`` are ``(ready, work)`` pairs done on the calling thread: in-process, those ready
        after this process's first notebook, the rest at the end; without an in-process worker,
        those ready at once, the rest at the end.
        """
        self._closed = True
        pending = list(tasks)

        def do_ready() -> None:
            while pending and pending[0][0]():
                pending.pop(0)[1]()

        with frozen_heap():
            if self.in_process:
                self._work_here(do_ready)
            else:
                do_ready()
            for thread in self._threads:
                thread.join()
        for _, work in pending:
            work()
        return [self._results[i] for i in sorted(self._results)]

    def _record(self, index: int, result: NotebookRun) -> None:
        with self._lock:
            self._results[index] = result
            state = "完成" if result.error is None else "失败"
            log(
                f"[report] [{len(self._results)}/{len(self.notebooks)}] {result.name} "
                f"{state}（{result.seconds:.1f} s）"
            )

    def _work_here(self, meanwhile: Callable[[], None] | None = None) -> None:
        """The in-process worker, on the calling thread, until the queue is empty; ``meanwhile``
        after its first notebook (or at the end when it got none)."""
        from qyzj_analytics.reporting.report.inprocess import register_engine

        engine = register_engine()
        while not self._abort:
            try:
                index, path, parameters = self._queue.get_nowait()
            except queue.Empty:
                break
            output = self.out_dir / path.name
            self._record(index, execute_notebook(path, output, parameters, engine=engine))
            if meanwhile is not None:
                meanwhile()
                meanwhile = None
        if meanwhile is not None:
            meanwhile()

    def _work(self) -> None:
        import asyncio

        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)  # nbclient's run_sync uses this thread's loop
        km = None
        try:
            km = _start_kernel(loop, self.cwd)
            self._go.wait()
            fresh = True
            while not self._abort:
                try:
                    index, path, parameters = self._queue.get(timeout=0.02)
                except queue.Empty:
                    if self._closed:
                        break
                    continue
                started = time.perf_counter()
                output = self.out_dir / path.name
                try:
                    if km is not None and not fresh:
                        km = _reset_kernel(loop, km, self.cwd)
                    result = execute_notebook(path, output, parameters, km=km)
                except Exception as exc:  # never lose a notebook's result
                    elapsed = time.perf_counter() - started
                    result = NotebookRun(path.name, output, elapsed, f"{type(exc).__name__}: {exc}")
                fresh = False
                self._record(index, result)
        finally:
            if km is not None:
                with contextlib.suppress(Exception):
                    loop.run_until_complete(asyncio.wait_for(km.shutdown_kernel(now=True), 15))
            loop.close()


@contextlib.contextmanager
def frozen_heap() -> Iterator[None]:
    """Keep the garbage collector's full passes off what this process already holds while
    notebooks run (``gc.freeze``), giving it back on exit (``gc.unfreeze``).

    IPython's ``reset`` — before every notebook, in this process and in a kernel — ends with a
    full ``gc.collect()``, which walks every object alive: pandas, matplotlib, IPython and the
    metrics, ≈ 0.1 s each time, ≈ 0.4 s a report with the passes Python starts by itself.
    Frozen, they are skipped; what the notebooks make is still collected. Reference cycles
    among frozen objects (garbage made before the freeze, or frozen objects dropped meanwhile)
    wait for the first pass after ``unfreeze``; plain reference counting frees everything else
    as before. A kernel freezes once its imports are done (:data:`WARM_CALLS`) and is shut
    down after the report.
    """
    import gc

    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _start_kernel(loop: Any, cwd: Path) -> Any | None:
    """A started, warmed ``AsyncKernelManager`` in ``cwd``; None if it cannot start (papermill
    then starts its own kernel and reports the problem as the notebook's failure)."""
    from jupyter_client.manager import AsyncKernelManager

    km = AsyncKernelManager(kernel_name=KERNEL, client_factory=quick_ready_client())
    try:
        loop.run_until_complete(km.start_kernel(cwd=str(cwd), extra_arguments=KERNEL_ARGS))
        warm = "\n".join(
            [f"try:\n    import {m}\nexcept Exception:\n    pass" for m in WARM_MODULES]
            + [f"try:\n    {call}\nexcept Exception:\n    pass" for call in WARM_CALLS]
        )
        _run_silently(loop, km, warm)
    except Exception as exc:
        log(f"[report] 注意：无法预先启动内核（{type(exc).__name__}: {exc}），改由 papermill 启动")
        with contextlib.suppress(Exception):
            loop.run_until_complete(km.shutdown_kernel(now=True))
        return None
    return km


@functools.cache
def quick_ready_client() -> type:
    """``AsyncKernelClient`` whose ``wait_for_ready`` ends as soon as the kernel answered and its
    IOPub is connected.

    jupyter_client's waits 0.2 s for a status message on IOPub after each kernel-info reply (a
    new subscriber usually misses the first one, so it waits the whole 0.2 s and asks again),
    then drains IOPub until 0.2 s pass without a message. papermill makes a client per notebook
    and the reset makes one too, so on a kernel running two notebooks that is about a second of
    waiting. Here each wait is 0.02 s (asking again is cheap); the left-over status messages are
    ignored by the execution that follows (it reads only its own).
    """
    from jupyter_client.asynchronous import AsyncKernelClient

    class QuickReadyClient(AsyncKernelClient):  # type: ignore[misc]
        async def wait_for_ready(self, timeout: float | None = None) -> None:
            deadline = time.monotonic() + (timeout if timeout is not None else float("inf"))
            while True:
                self.kernel_info()
                try:
                    reply = await self.shell_channel.get_msg(timeout=1)
                except queue.Empty:
                    reply = None
                if reply is not None and reply["msg_type"] == "kernel_info_reply":
                    try:  # IOPub is connected once the request's status message arrives
                        await self.iopub_channel.get_msg(timeout=0.02)
                    except queue.Empty:
                        pass
                    else:
                        self._handle_kernel_info_reply(reply)
                        break
                if not await self._async_is_alive():
                    raise RuntimeError("Kernel died before replying to kernel_info")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Kernel didn't respond in {timeout} seconds")
            while True:  # what is left of the request's messages, without waiting for more
                try:
                    await self.iopub_channel.get_msg(timeout=0.02)
                except queue.Empty:
                    break

    return QuickReadyClient


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


def order_longest_first(notebooks: Sequence[Path], timings: dict[str, float]) -> list[Path]:
    """``notebooks`` by the previous run's ``timings`` (else :func:`estimate_seconds`), longest
    first."""
    return sorted(notebooks, key=lambda path: -timings.get(path.name, estimate_seconds(path)))


def estimate_seconds(notebook: Path) -> float:
    """A rough cost of a notebook never timed here: charts dominate, so count them.

    Used to start the longest notebooks first on a first run (later runs use real timings).
    ``display_burnup_grid`` draws the nine-panel grid and cuts a file per panel from it, so it
    weighs like several charts.
    """
    try:
        source = notebook.read_text(encoding="utf-8")
    except OSError:
        return 0.0
    charts = source.count("display_chart(") + 3 * source.count("display_burnup_grid(")
    return 0.1 + 0.3 * charts


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
    source: Path,
    output: Path,
    parameters: dict[str, Any],
    km: Any | None = None,
    engine: str | None = None,
) -> NotebookRun:
    """Execute one notebook with papermill (in kernel ``km`` if given, or with the papermill
    ``engine`` named, e.g. :data:`.inprocess.ENGINE`); failures are returned."""
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
            engine_name=engine,
        )
    except PapermillExecutionError as exc:
        error = (
            f"单元格 cell index {exc.cell_index}（从 0 起算，含 papermill 注入的参数单元格；"
            f"执行序号 [{exc.exec_count}]）出错 {exc.ename}: {exc.evalue}"
        )
    except Exception as exc:  # a dead kernel, a timeout, an unreadable notebook
        error = f"{type(exc).__name__}: {exc}"
    return NotebookRun(source.name, output, time.perf_counter() - started, error)
