"""Executing a report notebook inside this process: a papermill engine without a kernel.

The report's own process already holds pandas and the library when its metrics are computed, so
one of the two notebook workers executes here (:class:`InProcessEngine`, engine name
:data:`ENGINE`) while the other drives a warm kernel: one kernel start-up, about 1.2 s of CPU
importing pandas and matplotlib a second time, is saved on a 2-core machine that is busy anyway.

What a notebook sees is what a kernel gives it: an IPython shell (``get_ipython()``, magics,
``display``), a clean namespace for every notebook (``reset(new_session=True)``, execution count
1) and the notebooks' folder as working directory. The outputs are what a kernel sends: display
data (images base64-encoded), execute results, stdout and stderr streams (in order, consecutive
text joined) and errors with IPython's traceback, so papermill records, reports
(``PapermillExecutionError``) and saves a failure exactly as for a kernel. Output written by
other threads of this process meanwhile (the other worker's progress lines) is not captured.
A cell running longer than the timeout is interrupted (only when executing on the main thread)
and fails the notebook; Ctrl-C stops the whole run, as it does while a kernel works.
"""

from __future__ import annotations

import _thread
import base64
import contextlib
import os
import platform
import sys
import threading
from collections.abc import Iterator
from typing import Any

from papermill.engines import Engine, papermill_engines

ENGINE = "qyzj-inprocess"
TIMEOUT_MESSAGE = "单元格运行超过 {seconds} 秒，已中断"
LANGUAGE_INFO = {  # what ipykernel reports for Python 3
    "name": "python",
    "version": platform.python_version(),
    "mimetype": "text/x-python",
    "codemirror_mode": {"name": "ipython", "version": 3},
    "pygments_lexer": "ipython3",
    "nbconvert_exporter": "python",
    "file_extension": ".py",
}


class _Capture:
    """The outputs of the cell being executed, in kernel (nbformat) form."""

    def __init__(self) -> None:
        self.outputs: list[Any] = []
        self.thread = threading.get_ident()

    def stream(self, name: str, text: str) -> None:
        from nbformat.v4 import new_output

        if not text:
            return
        last = self.outputs[-1] if self.outputs else None
        if last is not None and last.output_type == "stream" and last.name == name:
            last.text += text
        else:
            self.outputs.append(new_output("stream", name=name, text=text))

    def data(self, kind: str, data: dict[str, Any], metadata: Any, **extra: Any) -> None:
        from nbformat.v4 import new_output

        encoded = {
            mime: base64.b64encode(value).decode("ascii") if isinstance(value, bytes) else value
            for mime, value in data.items()
        }
        self.outputs.append(new_output(kind, data=encoded, metadata=metadata or {}, **extra))

    def error(self, ename: str, evalue: str, traceback: list[str]) -> None:
        from nbformat.v4 import new_output

        self.outputs.append(new_output("error", ename=ename, evalue=evalue, traceback=traceback))


class _ThreadStream:
    """``sys.stdout``/``sys.stderr`` while a notebook runs here: text written by the executing
    thread goes to the cell's outputs, text of any other thread to the real stream."""

    def __init__(self, name: str, real: Any, shell: Any) -> None:
        self._name, self._real, self._shell = name, real, shell

    def write(self, text: str) -> int:
        capture = self._shell.capture
        if capture is not None and threading.get_ident() == capture.thread:
            capture.stream(self._name, text)
            return len(text)
        return self._real.write(text)

    def flush(self) -> None:
        self._real.flush()

    def isatty(self) -> bool:
        return False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def _shell_classes() -> tuple[type, type, type]:
    """The shell, display publisher and display hook classes (IPython imported when needed)."""
    from IPython.core.displayhook import DisplayHook
    from IPython.core.displaypub import DisplayPublisher
    from IPython.core.interactiveshell import InteractiveShell

    class Publisher(DisplayPublisher):
        def publish(self, data, metadata=None, source=None, *, transient=None, update=False, **kw):  # type: ignore[no-untyped-def]
            capture = self.shell.capture
            if capture is not None:
                capture.data("display_data", data, metadata)

        def clear_output(self, wait: bool = False) -> None:
            capture = self.shell.capture
            if capture is not None:
                capture.outputs.clear()

    class Hook(DisplayHook):
        def start_displayhook(self) -> None:
            pass

        def write_output_prompt(self) -> None:
            pass

        def write_format_data(self, format_dict, md_dict=None) -> None:  # type: ignore[no-untyped-def]
            capture = self.shell.capture
            if capture is not None:
                capture.data(
                    "execute_result", format_dict, md_dict, execution_count=self.prompt_count
                )

        def finish_displayhook(self) -> None:
            pass

    class Shell(InteractiveShell):
        display_pub_class = Publisher
        displayhook_class = Hook
        capture: _Capture | None = None

        def _showtraceback(self, etype, evalue, stb) -> None:  # type: ignore[no-untyped-def]
            if self.capture is not None:
                self.capture.error(etype.__name__, str(evalue), list(stb))

    return Shell, Publisher, Hook


_SHELL: Any = None
_SHELL_LOCK = threading.Lock()


def get_shell() -> Any:
    """This process's notebook shell (created once; history kept in memory, never on disk)."""
    global _SHELL
    with _SHELL_LOCK:
        if _SHELL is None:
            from traitlets.config import Config

            shell_class, _, _ = _shell_classes()
            config = Config()
            config.HistoryManager.hist_file = ":memory:"
            main = sys.modules.get("__main__")
            _SHELL = shell_class.instance(config=config)
            if main is not None:
                sys.modules["__main__"] = main  # the shell installs its own; the CLI keeps its own
        return _SHELL


@contextlib.contextmanager
def _running(shell: Any, cwd: str | None) -> Iterator[None]:
    """Streams routed to the cell, ``__main__`` the notebook's, in ``cwd``; all undone after."""
    saved = sys.stdout, sys.stderr, sys.modules.get("__main__"), os.getcwd()
    sys.stdout = _ThreadStream("stdout", saved[0], shell)  # type: ignore[assignment]
    sys.stderr = _ThreadStream("stderr", saved[1], shell)  # type: ignore[assignment]
    sys.modules["__main__"] = shell.user_module
    try:
        if cwd:
            os.chdir(cwd)
        yield
    finally:
        shell.capture = None
        sys.stdout, sys.stderr = saved[0], saved[1]
        if saved[2] is not None:
            sys.modules["__main__"] = saved[2]
        os.chdir(saved[3])


def run_cell(shell: Any, source: str, timeout: float | None = None) -> tuple[list[Any], int, bool]:
    """Execute one cell; returns its outputs, its execution count and whether it succeeded."""
    capture = _Capture()
    shell.capture = capture
    timer = None
    expired = threading.Event()
    if timeout and threading.current_thread() is threading.main_thread():

        def interrupt() -> None:
            expired.set()
            _thread.interrupt_main()

        timer = threading.Timer(timeout, interrupt)
        timer.daemon = True
        timer.start()
    try:
        result = shell.run_cell(source, store_history=True)
    finally:
        if timer is not None:
            timer.cancel()
        shell.capture = None
    interrupted = [
        o for o in capture.outputs if o.output_type == "error" and o.ename == "KeyboardInterrupt"
    ]
    if interrupted and not expired.is_set():
        raise KeyboardInterrupt  # Ctrl-C stops the run, as it does while a kernel works
    for output in interrupted:
        output.evalue = TIMEOUT_MESSAGE.format(seconds=int(timeout or 0))
    count = result.execution_count if result.execution_count is not None else shell.execution_count
    return capture.outputs, count, bool(result.success)


class InProcessEngine(Engine):
    """papermill engine: every code cell runs in this process's IPython shell (see module)."""

    @classmethod
    def execute_managed_notebook(  # type: ignore[override]
        cls,
        nb_man: Any,
        kernel_name: str,
        execution_timeout: float | None = None,
        resources: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        shell = get_shell()
        shell.reset(new_session=True)
        cwd = ((resources or {}).get("metadata") or {}).get("path")
        with _running(shell, cwd):
            for index, cell in enumerate(nb_man.nb.cells):
                try:
                    nb_man.cell_start(cell, index)
                    if cell.cell_type != "code" or not cell.source.strip():
                        continue
                    cell.outputs, cell.execution_count, ok = run_cell(
                        shell, cell.source, execution_timeout
                    )
                    if not ok:
                        nb_man.cell_exception(cell, cell_index=index)
                        break
                finally:
                    nb_man.cell_complete(cell, cell_index=index)
        nb_man.nb.metadata["language_info"] = dict(LANGUAGE_INFO)
        return nb_man.nb


def register_engine() -> str:
    """Make :class:`InProcessEngine` known to papermill; returns its engine name."""
    papermill_engines.register(ENGINE, InProcessEngine)
    return ENGINE
