"""Executing the report's notebooks in processes forked from one warm worker (Linux).

A kernel costs a process start and a second import of pandas, matplotlib and the library
(≈ 1.2–2 s of CPU) before its first cell, and comes up only when the metrics are done. Here the
report forks one worker as soon as pandas is imported (:meth:`ForkedRunner.start`); it imports
what the notebooks use (:data:`WARM_MODULES`), registers the CJK font, makes the IPython shell of
:mod:`.inprocess` and freezes its heap while the report computes the metrics on the other core.
Each notebook then runs in a process forked from that worker — everything already imported,
nothing to undo afterwards — with the in-process papermill engine, whose outputs equal a
kernel's (``tests/test_report_inprocess.py``). Notebooks can be submitted in stages
(:meth:`ForkedRunner.submit`): those that need no forecast start while the forecast runs.

Results come back as files in a private folder, announced by one short line on a pipe (a write
of fewer than ``PIPE_BUF`` bytes is atomic, so lines of several processes never mix). A notebook
process that dies without a result is reported by the worker as a failed notebook. The worker
runs in its own process group: on an error or Ctrl-C in the report, :meth:`ForkedRunner.__exit__`
ends the worker and every notebook process with it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from qyzj_analytics.reporting.report.kernels import (
    WARM_MODULES,
    NotebookRun,
    Task,
    execute_notebook,
    order_longest_first,
)
from qyzj_analytics.reporting.report.options import log

FORK_MODULES = (
    *WARM_MODULES,
    "nbformat",
    "papermill",
    "pyarrow.parquet",
    "qyzj_analytics.reporting.report.inprocess",
    "qyzj_analytics.reporting.quality",
    "qyzj_analytics.reporting.summary",
)
CRASHED = "notebook 进程意外退出（{status}）"


def fork_available() -> bool:
    """Whether notebooks can run in forked processes here: Linux with its POSIX modules (the
    simulated Windows of ``tests/test_portability.py`` hides them, and so takes the kernels, as
    Windows does)."""
    if not (sys.platform.startswith("linux") and hasattr(os, "fork")):
        return False
    try:
        import fcntl  # noqa: F401
    except ImportError:
        return False
    return True


def fork() -> int:
    """``os.fork`` (call it only when :func:`fork_available`)."""
    if hasattr(os, "fork"):
        return os.fork()
    raise OSError("此平台不支持 fork")


class ForkedRunner:
    """Runs notebooks in processes forked from a warm worker; the same use as
    :class:`.kernels.NotebookRunner`: :meth:`start`, :meth:`submit` in stages, :meth:`finish`."""

    def __init__(self, notebooks: Sequence[Path]) -> None:
        self.notebooks = list(notebooks)
        self._pid: int | None = None
        self._jobs = -1
        self._results_fd = -1
        self._buffer = b""
        self._folder = Path()  # the results' folder, made by start()
        self._submitted: dict[int, Path] = {}
        self._results: dict[int, NotebookRun] = {}

    def __enter__(self) -> ForkedRunner:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if self._pid is not None:
            self._close_jobs()
            # an error or Ctrl-C: stop every notebook process
            if exc_type is not None and hasattr(os, "killpg"):
                with contextlib.suppress(OSError):
                    os.killpg(self._pid, signal.SIGTERM)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self._pid, 0)
            with contextlib.suppress(OSError):
                os.close(self._results_fd)
            shutil.rmtree(self._folder, ignore_errors=True)

    def start(self) -> None:
        """Fork the worker (once); call it when pandas is imported, which the worker inherits."""
        if self._pid is not None:
            return
        self._folder = Path(tempfile.mkdtemp(prefix="qyzj-report-runs-"))
        jobs_r, jobs_w = os.pipe()
        results_r, results_w = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = fork()
        if pid == 0:  # the worker: never returns
            code = 1
            try:
                os.setpgid(0, 0)
                os.close(jobs_w)
                os.close(results_r)
                serve(jobs_r, results_w, self._folder)
                code = 0
            finally:
                os._exit(code)
        with contextlib.suppress(OSError):  # here too: the group exists before either goes on
            os.setpgid(pid, pid)
        os.close(jobs_r)
        os.close(results_w)
        self._pid, self._jobs, self._results_fd = pid, jobs_w, results_r

    def submit(
        self,
        notebooks: Sequence[Path],
        parameters: dict[str, Any],
        timings: dict[str, float],
        out_dir: Path,
    ) -> None:
        """Start ``notebooks`` (each its own process, the longest first) with ``parameters``."""
        self.start()
        if not self._submitted:
            log(f"[report] 执行 {len(self.notebooks)} 个 notebook（各在一个进程中）…")
        out_dir.mkdir(parents=True, exist_ok=True)
        for path in order_longest_first(notebooks, timings):
            index = self.notebooks.index(path)
            job = {
                "index": index,
                "path": str(path),
                "output": str(out_dir / path.name),
                "parameters": parameters,
            }
            self._submitted[index] = out_dir / path.name
            # a worker already gone: finish() reports the notebook as crashed
            with contextlib.suppress(OSError):
                os.write(self._jobs, (json.dumps(job, ensure_ascii=False) + "\n").encode("utf-8"))

    def finish(self, tasks: Sequence[Task] = ()) -> list[NotebookRun]:
        """Wait for every submitted notebook; results in notebook order.

        ``tasks`` are ``(ready, work)`` pairs done in order on this process while the notebooks
        run: each as soon as ``ready()`` holds (checked again after every notebook), the rest
        once all are done.
        """
        self._close_jobs()
        pending = list(tasks)
        while True:
            while pending and pending[0][0]():
                pending.pop(0)[1]()
            if len(self._results) == len(self._submitted) or not self._read_results():
                break
        for _, work in pending:
            work()
        for index, output in self._submitted.items():
            if index not in self._results:  # the worker died before announcing it
                self._record(
                    index, NotebookRun(output.name, output, 0.0, CRASHED.format(status="?"))
                )
        return [self._results[i] for i in sorted(self._results)]

    def _close_jobs(self) -> None:
        if self._jobs >= 0:
            os.close(self._jobs)
            self._jobs = -1

    def _read_results(self) -> bool:
        """Block for the next announcements; False when the worker is gone (end of the pipe)."""
        data = os.read(self._results_fd, 4096)
        if not data:
            return False
        self._buffer += data
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            index_text, _, crash = line.decode("utf-8").partition(" ")
            index = int(index_text)
            if index in self._results:
                continue
            output = self._submitted[index]
            if crash:
                run = NotebookRun(output.name, output, 0.0, CRASHED.format(status=crash))
            else:
                found = json.loads((self._folder / f"{index}.json").read_text(encoding="utf-8"))
                run = NotebookRun(output.name, output, found["seconds"], found["error"])
            self._record(index, run)
        return True

    def _record(self, index: int, run: NotebookRun) -> None:
        self._results[index] = run
        state = "完成" if run.error is None else "失败"
        log(
            f"[report] [{len(self._results)}/{len(self._submitted)}] {run.name} "
            f"{state}（{run.seconds:.1f} s）"
        )


def serve(jobs_fd: int, results_fd: int, folder: Path) -> None:
    """The worker: warm up, then fork a process per job read; report the ones that crash."""
    warm_up()
    children: dict[int, int] = {}
    with os.fdopen(jobs_fd, "rb") as jobs:
        for line in jobs:
            job = json.loads(line)
            pid = fork()
            if pid == 0:
                run_job(job, results_fd, folder)  # never returns
            children[pid] = job["index"]
    while children:
        pid, status = os.wait()
        index = children.pop(pid)
        if status != 0:
            announce(results_fd, f"{index} {describe_status(status)}")


def warm_up() -> None:
    """What every notebook process would otherwise do first: the imports, the CJK font, the
    shell, the notebook schema's validator (compiled on first use, ≈ 0.08 s) and pandas'
    Styler templates (≈ 0.07 s)."""
    import gc
    import importlib

    for name in FORK_MODULES:
        with contextlib.suppress(Exception):
            importlib.import_module(name)
    with contextlib.suppress(Exception):
        from qyzj_analytics.reporting.charts.fonts import setup_fonts
        from qyzj_analytics.reporting.report.inprocess import get_shell, register_engine

        setup_fonts()
        register_engine()
        get_shell()
    with contextlib.suppress(Exception):
        warm_validator()
    with contextlib.suppress(Exception):
        import pandas as pd

        pd.DataFrame({"预热": [1]}).style.to_html()
    gc.freeze()  # the notebook processes' collections skip it; their pages stay shared


def warm_validator() -> None:
    """Compile nbformat's validator of the current notebook format once (it is cached)."""
    import nbformat

    nbformat.validate(nbformat.v4.new_notebook())


def run_job(job: dict[str, Any], results_fd: int, folder: Path) -> None:
    """A notebook process: execute one notebook, write its result, announce it, exit."""
    code = 1
    try:
        from qyzj_analytics.reporting.report.inprocess import ENGINE

        started = time.perf_counter()
        try:
            run = execute_notebook(
                Path(job["path"]), Path(job["output"]), job["parameters"], engine=ENGINE
            )
            result = {"seconds": run.seconds, "error": run.error}
        except BaseException as exc:  # never expected: execute_notebook returns failures
            result = {
                "seconds": time.perf_counter() - started,
                "error": f"{type(exc).__name__}: {exc}",
            }
        index = job["index"]
        tmp = folder / f"{index}.json.tmp"
        tmp.write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, folder / f"{index}.json")
        announce(results_fd, str(index))
        code = 0
    finally:
        os._exit(code)


def announce(fd: int, line: str) -> None:
    """One short line on the results pipe (atomic: far below ``PIPE_BUF``)."""
    os.write(fd, (line + "\n").encode("utf-8"))


def describe_status(status: int) -> str:
    """A wait status in words: the signal or the exit code."""
    if os.WIFSIGNALED(status):
        return f"信号 {os.WTERMSIG(status)}"
    return f"退出码 {os.waitstatus_to_exitcode(status)}"
