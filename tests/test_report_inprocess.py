"""Notebooks executed in the report's own process (reporting/report/inprocess.py) give what a
kernel gives: the same outputs, a clean namespace per notebook, failures reported by cell."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
import pytest

from qyzj_analytics.reporting.report.inprocess import get_shell, register_engine, run_cell
from qyzj_analytics.reporting.report.kernels import NotebookRunner, execute_notebook
from tests.reporting import write_notebook

v4 = nbformat.v4


def _notebook(folder: Path, name: str, sources: list[str]) -> Path:
    return write_notebook(folder, name, sources, heading="# 标题")


SOURCES = [
    "import sys\nprint('out', x)\nprint('err', file=sys.stderr)\n"
    "from IPython.display import Image, Markdown, display\n"
    "display(Markdown('**粗体**'))\nprint('after')",
    "import pandas as pd\npd.DataFrame({'a': [1, 2]})",
    "import base64\nfrom IPython.display import Image, display\n"
    "png = base64.b64decode('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQ"
    "DwAEhQGAhKmMIQAAAABJRU5ErkJggg==')\n"
    "display(Image(data=png, format='png', width=90))",
    "import os\nos.path.basename(os.getcwd())",
    "get_ipython().execution_count, __name__",
    "1 / 0",
    "print('never')",
]


def _outputs(path: Path) -> list[list[dict]]:
    return [[dict(o) for o in c.get("outputs", [])] for c in nbformat.read(path, 4).cells]


@pytest.mark.slow
def test_in_process_outputs_equal_a_kernels(tmp_path: Path) -> None:
    folder = tmp_path / "nbs"
    folder.mkdir()
    source = _notebook(folder, "1_all.ipynb", SOURCES)
    kernel = execute_notebook(source, tmp_path / "kernel.ipynb", {"x": 5})
    here = execute_notebook(source, tmp_path / "here.ipynb", {"x": 5}, engine=register_engine())
    assert kernel.error is not None and here.error is not None
    assert "ZeroDivisionError" in here.error and "cell index 8" in here.error, here.error
    assert here.error.split("出错")[0] == kernel.error.split("出错")[0]
    a, b = _outputs(tmp_path / "kernel.ipynb"), _outputs(tmp_path / "here.ipynb")
    assert len(a) == len(b)
    for cell_a, cell_b in zip(a, b, strict=True):
        for out in cell_a + cell_b:
            out.pop("traceback", None)  # IPython colours the failing expression differently
        assert cell_a == cell_b
    cells = nbformat.read(tmp_path / "here.ipynb", 4).cells  # papermill's error note comes first
    assert [o.output_type for o in cells[4].outputs] == [
        "stream",
        "stream",
        "display_data",
        "stream",
    ]  # in order, as written
    assert cells[4].outputs[0].text == "out 5\n"  # parameters injected
    assert cells[4].outputs[1].name == "stderr"
    assert cells[6].outputs[0].data["image/png"].startswith("iVBORw0KGgo")  # base64, as a kernel
    assert cells[7].outputs[0].data["text/plain"] == "'nbs'"  # run in the notebook's folder
    assert cells[10].outputs[0].output_type == "error"
    assert cells[10].outputs[0].traceback  # IPython's traceback is kept
    assert not cells[11].outputs  # nothing runs after the failing cell
    meta = nbformat.read(tmp_path / "here.ipynb", 4).metadata
    assert meta.language_info.name == "python" and meta.papermill.exception


@pytest.mark.slow
def test_in_process_notebooks_start_clean_and_leave_the_process_as_it_was(tmp_path: Path) -> None:
    leak = _notebook(tmp_path, "1_leak.ipynb", ["leak = 1", "import os\nos.chdir('/')"])
    check = _notebook(tmp_path, "2_check.ipynb", ["assert 'leak' not in globals(), 'leaked'"])
    before = sys.stdout, sys.stderr, sys.modules["__main__"], os.getcwd()
    engine = register_engine()
    runs = [
        execute_notebook(p, tmp_path / f"out_{p.name}", {}, engine=engine) for p in (leak, check)
    ]
    assert [r.error for r in runs] == [None, None]
    # counted from 1 again: the parameters cell, then the check
    assert nbformat.read(tmp_path / "out_2_check.ipynb", 4).cells[-1].execution_count == 2
    assert (sys.stdout, sys.stderr, sys.modules["__main__"], os.getcwd()) == before


def test_a_cell_past_its_timeout_is_interrupted() -> None:
    shell = get_shell()
    outputs, _, ok = run_cell(shell, "import time\nfor _ in range(100):\n    time.sleep(0.05)", 0.3)
    assert not ok
    assert outputs[-1].ename == "KeyboardInterrupt" and "已中断" in outputs[-1].evalue


def test_one_worker_is_a_kernel() -> None:
    notebooks = [Path("a.ipynb"), Path("b.ipynb")]
    assert NotebookRunner(notebooks, workers=2).in_process
    assert len(NotebookRunner(notebooks, workers=2)._threads) == 1
    assert not NotebookRunner(notebooks, workers=1).in_process  # never the only worker
    assert not NotebookRunner(notebooks, workers=2, in_process=False).in_process


@pytest.mark.slow
def test_runner_shares_notebooks_between_this_process_and_a_kernel(tmp_path: Path) -> None:
    pid = "import os, time\ntime.sleep(2)\nos.getpid()"  # long enough for the kernel to boot
    notebooks = [_notebook(tmp_path, f"{i}_pid.ipynb", [pid]) for i in range(3)]
    calls: list[int] = []
    with NotebookRunner(notebooks, workers=2) as runner:
        runs = runner.run({}, {}, tmp_path / "out", meanwhile=lambda: calls.append(1))
    assert calls == [1]  # the work that needs no notebook output, once
    assert [r.error for r in runs] == [None, None, None]
    pids = {
        nbformat.read(tmp_path / "out" / p.name, 4).cells[-1].outputs[0].data["text/plain"]
        for p in notebooks
    }
    assert str(os.getpid()) in pids and len(pids) == 2  # this process and one kernel


def test_ctrl_c_in_a_cell_stops_the_run() -> None:
    with pytest.raises(KeyboardInterrupt):
        run_cell(get_shell(), "raise KeyboardInterrupt")


def test_notebooks_run_with_the_heap_frozen_and_it_is_given_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """IPython's reset collects fully before every notebook: what the process held before the
    run is frozen meanwhile (kernels.frozen_heap), and thawed afterwards."""
    import gc

    from qyzj_analytics.reporting.report import kernels

    monkeypatch.setattr(kernels, "_start_kernel", lambda loop, cwd: None)  # no kernel needed
    frozen: list[int] = []

    def fake_execute(path: Path, output: Path, parameters: dict, **kwargs: object):
        frozen.append(gc.get_freeze_count())
        return kernels.NotebookRun(path.name, output, 0.0)

    monkeypatch.setattr(kernels, "execute_notebook", fake_execute)
    notebooks = [tmp_path / f"{i}.ipynb" for i in range(3)]
    before = gc.get_freeze_count()
    with NotebookRunner(notebooks, workers=2) as runner:
        runs = runner.run({}, {}, tmp_path / "out")
    assert [r.error for r in runs] == [None] * 3
    assert len(frozen) == 3 and min(frozen) > before + 1000  # pandas, IPython… all frozen
    assert gc.get_freeze_count() == before


def test_a_kernel_freezes_after_its_imports() -> None:
    from qyzj_analytics.reporting.report import kernels

    assert kernels.WARM_CALLS[-1] == "__import__('gc').freeze()"
