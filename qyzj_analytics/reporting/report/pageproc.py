"""The report page rendered in a process forked when the report starts (Linux).

nbconvert's import and the first compile of the report's templates cost ≈ 1.1 s of CPU
(regular expressions of the Markdown parser, CSS selectors), and the page itself ≈ 0.5 s at
the end, when only this process works. :class:`PageWorker` forks before pandas is imported: the
worker imports nbconvert and renders a one-cell page (:func:`.render.warm_renderer`) on the core
the report leaves idle while it starts up, then waits; given the cover cells and the executed
notebooks (:meth:`PageWorker.submit`) it writes ``report.html`` exactly as
:func:`.render.write_page` does here, while this process writes the workbook and the Word file.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from qyzj_analytics.reporting.report.forked import fork

if TYPE_CHECKING:
    from nbformat import NotebookNode


class PageFailed(RuntimeError):
    """The page worker failed (its error, or it ended without an answer)."""


class PageWorker:
    """A forked process that renders the report page once: :meth:`start`, :meth:`submit`,
    :meth:`result`. Without a :meth:`submit` it just ends when this one does."""

    def __init__(self) -> None:
        self._pid: int | None = None
        self._jobs = -1
        self._answers = -1

    def __enter__(self) -> PageWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self._close(self._jobs)
        if self._pid is not None:  # no page asked for, or an error meanwhile: stop it
            with contextlib.suppress(OSError):
                os.kill(self._pid, signal.SIGTERM)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self._pid, 0)
            self._pid = None
        self._close(self._answers)

    def start(self) -> None:
        """Fork the worker (once); it warms the renderer up, then waits for the page."""
        if self._pid is not None:
            return
        jobs_r, jobs_w = os.pipe()
        answers_r, answers_w = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = fork()
        if pid == 0:  # the worker: never returns
            code = 1
            try:
                os.close(jobs_w)
                os.close(answers_r)
                serve(jobs_r, answers_w)
                code = 0
            finally:
                os._exit(code)
        os.close(jobs_r)
        os.close(answers_w)
        self._pid, self._jobs, self._answers = pid, jobs_w, answers_r

    def submit(
        self,
        front: Sequence[NotebookNode],
        executed: Sequence[Path],
        title: str,
        folder: Path,
        sample: bool,
    ) -> None:
        """Have the worker write ``folder/report.html`` (see :func:`.render.write_page`)."""
        job = {
            "front": [dict(cell) for cell in front],
            "executed": [str(path) for path in executed],
            "title": title,
            "folder": str(folder),
            "sample": sample,
        }
        data = json.dumps(job, ensure_ascii=False).encode("utf-8")
        # a worker already gone (its pipe broken) answers nothing: result() then says so
        with contextlib.suppress(OSError), os.fdopen(os.dup(self._jobs), "wb") as pipe:
            # length first: processes forked later (the notebook worker) hold this pipe too, so
            # its end cannot mark the end of the job
            pipe.write(len(data).to_bytes(8, "big") + data)
        self._close(self._jobs)
        self._jobs = -1

    def result(self) -> list[str]:
        """What makes the page unsafe (empty when it was written).

        Raises:
            PageFailed: the worker failed or ended without an answer.
        """
        with os.fdopen(os.dup(self._answers), "rb") as pipe:
            data = pipe.read()
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self._pid or -1, 0)
        self._pid = None
        if not data:
            raise PageFailed("渲染 HTML 的进程意外退出")  # (it writes its answer in one piece)
        answer = json.loads(data)
        if answer.get("error"):
            raise PageFailed(f"渲染 HTML 失败: {answer['error']}")
        return list(answer["problems"])

    @staticmethod
    def _close(fd: int) -> None:
        if fd >= 0:
            with contextlib.suppress(OSError):
                os.close(fd)


def serve(jobs_fd: int, answers_fd: int) -> None:
    """The worker: warm the renderer up, read the one job (its length, then itself), answer."""
    from qyzj_analytics.reporting.report.forked import warm_validator
    from qyzj_analytics.reporting.report.render import warm_renderer

    with contextlib.suppress(Exception):
        warm_renderer()
        warm_validator()  # the executed notebooks are validated as they are read
    with os.fdopen(jobs_fd, "rb") as pipe:
        size = int.from_bytes(pipe.read(8) or b"\0", "big")
        data = pipe.read(size) if size else b""
    if len(data) != size or not data:
        return  # no page wanted (the report ended before it asked for one)
    try:
        import nbformat

        from qyzj_analytics.reporting.report.render import write_page

        job = json.loads(data)
        problems = write_page(
            [nbformat.from_dict(cell) for cell in job["front"]],
            [Path(p) for p in job["executed"]],
            job["title"],
            Path(job["folder"]),
            sample=job["sample"],
        )
        answer: dict[str, object] = {"problems": problems}
    except Exception as exc:
        answer = {"error": f"{type(exc).__name__}: {exc}"}
    with os.fdopen(answers_fd, "wb") as pipe:
        pipe.write(json.dumps(answer, ensure_ascii=False).encode("utf-8"))
